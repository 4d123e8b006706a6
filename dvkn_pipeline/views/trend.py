"""A unit across periods: how complete its reporting was and what its figures were.

A steward asks "is Ba Đình getting better at reporting on time, and are its
models growing?": one row per period from the stored completeness and roll-up
tables (each period as the hierarchy of its own time rolled it up), as a
typed model the CLI prints, dumps as JSON and draws as a PNG.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import asdict, dataclass

import polars as pl

from dvkn_pipeline.reference.catalogue import Catalogue
from dvkn_pipeline.reference.errors import DvknError
from dvkn_pipeline.reference.periods import Period
from dvkn_pipeline.views.chart import state_colours
from dvkn_pipeline.views.overview import tint
from schemas.steward import load_steward_text


class TrendError(DvknError, ValueError):
    """A trend that cannot be drawn (periods of different kinds, reversed range, unknown indicator)."""


def period_range(start: Period, end: Period) -> list[Period]:
    """``start`` to ``end`` inclusive, of one period type (quarters with quarters)."""
    if start.type_id != end.type_id:
        raise TrendError(f"{start} and {end} are periods of different kinds")
    if (end.year, end.index) < (start.year, start.index):
        raise TrendError(f"{end} is before {start}")
    back = (end.year - start.year) * end.ptype.count + end.index - start.index
    return [*reversed(end.previous(back)), end]


@dataclass(frozen=True)
class TrendPoint:
    period: str
    period_vi: str
    expected: int
    accepted: int
    on_time: int
    late: int
    missing: int
    pct_accepted: float | None
    pct_on_time: float | None
    #: The indicator's total for the unit in that period (None: nothing reported).
    value: float | None


@dataclass(frozen=True)
class Trend:
    unit_code: str
    reporter_level: str | None
    indicator: str | None
    indicator_vi: str | None
    indicator_en: str | None
    points: tuple[TrendPoint, ...]

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def unit_trend(
    unit: str,
    periods: list[Period],
    completeness: Mapping[str, pl.DataFrame],
    rollups: Mapping[str, pl.DataFrame],
    catalogue: Catalogue,
    indicator: str | None = None,
    reporter_level: str | None = None,
) -> Trend:
    """Completeness of the reports below (or of) ``unit`` and one indicator's total, per period.

    ``reporter_level`` picks whose reports count (default: the lowest level
    reporting to the unit, e.g. its communes); a category indicator's value is
    the sum over categories.
    """
    if indicator is not None and indicator not in catalogue.by_code:
        raise TrendError(f"unknown indicator {indicator!r}")
    ind = catalogue.indicator(indicator) if indicator else None
    points = []
    level = reporter_level
    for p in periods:
        comp = completeness.get(p.code, pl.DataFrame())
        rows = comp.filter(pl.col("unit_code") == unit) if comp.height else comp
        if level is None and rows.height:
            # The most numerous reporters: the level below, where completeness is a story.
            level = rows.sort("expected", descending=True)["reporter_level"][0]
        row = (
            rows.filter(pl.col("reporter_level") == level).row(0, named=True)
            if rows.height and level is not None and level in rows["reporter_level"].to_list()
            else None
        )
        value = None
        table = rollups.get(p.code, pl.DataFrame())
        if ind is not None and table.height:
            mine = table.filter((pl.col("unit_code") == unit) & (pl.col("indicator") == ind.code))
            if mine.height:
                value = float(mine["value"].sum())
        expected = int(row["expected"]) if row else 0
        accepted = int(row["accepted"]) if row else 0
        on_time = int(row["on_time"]) if row else 0
        points.append(
            TrendPoint(
                period=p.code,
                period_vi=p.label_vi,
                expected=expected,
                accepted=accepted,
                on_time=on_time,
                late=int(row["late"]) if row else 0,
                missing=int(row["missing"]) if row else 0,
                pct_accepted=round(100.0 * accepted / expected, 1) if expected else None,
                pct_on_time=round(100.0 * on_time / expected, 1) if expected else None,
                value=value,
            )
        )
    return Trend(
        unit,
        level,
        ind.code if ind else None,
        ind.vi if ind else None,
        ind.en if ind else None,
        tuple(points),
    )


@dataclass(frozen=True)
class LevelTrendRow:
    unit_code: str
    name: str
    #: % accepted per period of :attr:`LevelTrend.periods` (None: no unit expected, or the
    #: period was rolled up with another hierarchy, where this code named another unit).
    pct_accepted: tuple[float | None, ...]
    #: Each cell's tint: the more units without an accepted report, the redder.
    backgrounds: tuple[str, ...]


@dataclass(frozen=True)
class LevelTrend:
    """The units below one unit side by side across periods: which of them fall behind."""

    periods: tuple[str, ...]
    reporter_level: str | None
    hierarchy_version: str
    rows: tuple[LevelTrendRow, ...]


def level_trend(
    units: list[tuple[str, str]],
    periods: list[Period],
    completeness: Mapping[str, pl.DataFrame],
    hierarchy_version: str,
    reporter_level: str | None,
) -> LevelTrend:
    """% accepted of ``units`` (code, name) per period, from the stored completeness rows.

    Only periods rolled up with ``hierarchy_version`` count: across the 2025 reform a
    code names a different unit, so those cells stay empty rather than compare strangers.
    """
    codes = [c for c, _ in units]
    pct: dict[tuple[str, str], float] = {}
    for p in periods:
        comp = completeness.get(p.code, pl.DataFrame())
        if comp.is_empty() or reporter_level is None:
            continue
        rows = comp.filter(
            pl.col("unit_code").is_in(codes)
            & (pl.col("reporter_level") == reporter_level)
            & (pl.col("hierarchy_version") == hierarchy_version)
            & (pl.col("expected") > 0)
        )
        for r in rows.iter_rows(named=True):
            pct[(r["unit_code"], p.code)] = round(100.0 * r["accepted"] / r["expected"], 1)
    missing = state_colours()["missing"]

    def row(code: str, name: str) -> LevelTrendRow:
        values = tuple(pct.get((code, p.code)) for p in periods)
        return LevelTrendRow(
            code,
            name,
            values,
            tuple("#ffffff" if v is None else tint(missing, (100 - v) / 100) for v in values),
        )

    return LevelTrend(
        tuple(p.code for p in periods),
        reporter_level,
        hierarchy_version,
        tuple(row(c, n) for c, n in units),
    )


def trend_png(trend: Trend, title: str) -> bytes:
    """Completeness (% accepted, % on time) per period, with the indicator on a second axis."""
    return trend_image(trend, title, "png")


def trend_svg(trend: Trend, title: str) -> str:
    """The same chart as SVG text, for a page to inline (sharp on a phone, no second request)."""
    return trend_image(trend, title, "svg").decode("utf-8")


def trend_image(trend: Trend, title: str, fmt: str) -> bytes:
    """The trend chart in matplotlib's ``fmt`` ("png", "svg")."""
    import matplotlib
    from matplotlib.figure import Figure

    words = load_steward_text().trend
    xs = [p.period for p in trend.points]
    # SVG text stays text (the page's own font, selectable, and several times faster
    # than matplotlib's default of drawing every glyph as a path).
    matplotlib.rcParams["svg.fonttype"] = "none"
    # A bare Figure, not pyplot: no global figure manager to create and close per request.
    fig = Figure(figsize=(8, 4), dpi=110)
    ax = fig.subplots()
    ax.plot(
        xs,
        [float("nan") if p.pct_accepted is None else p.pct_accepted for p in trend.points],
        "o-",
        color="#2e7d32",
        label=words.pct_accepted,
    )
    ax.plot(
        xs,
        [float("nan") if p.pct_on_time is None else p.pct_on_time for p in trend.points],
        "s--",
        color="#f9a825",
        label=words.pct_on_time,
    )
    ax.set_ylim(0, 105)
    ax.set_ylabel("%")
    if trend.indicator is not None:
        ax2 = ax.twinx()
        ax2.bar(
            xs,
            [p.value or 0 for p in trend.points],
            alpha=0.25,
            color="#1565c0",
            label=f"{trend.indicator_vi} / {trend.indicator_en}",
        )
        ax2.set_ylabel(trend.indicator or "")
        ax2.legend(loc="lower right", fontsize=7)
        ax.set_zorder(ax2.get_zorder() + 1)  # the completeness lines above the bars
        ax.patch.set_visible(False)
    ax.legend(loc="lower left", fontsize=7)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt)
    return buf.getvalue()
