"""A unit across periods: how complete its reporting was and what its figures were.

A steward asks "is Ba Đình getting better at reporting on time, and are its
models growing?": one row per period from the stored completeness and roll-up
tables (each period as the hierarchy of its own time rolled it up), as a
typed model the CLI prints, dumps as JSON and draws as a PNG, and the console
draws as SVG from :func:`trend_chart`'s geometry (no matplotlib per request).
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Literal

import polars as pl

from dvkn_pipeline.reference.catalogue import Catalogue
from dvkn_pipeline.reference.errors import DvknError
from dvkn_pipeline.reference.messages import number
from dvkn_pipeline.reference.periods import Period
from dvkn_pipeline.views.chart import state_colours
from dvkn_pipeline.views.overview import tint
from schemas.console_text import Language
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
    """Completeness (% accepted, % on time) per period, with the indicator on a second axis.

    Only ``dvkn trend --out`` makes a picture file; the console draws
    :func:`trend_chart` instead (matplotlib costs a second to import and
    ~130 ms a chart, the page's whole budget).
    """
    import matplotlib
    from matplotlib.figure import Figure

    matplotlib.use("Agg")
    words = load_steward_text().trend
    colours = words.colours
    xs = [p.period for p in trend.points]
    # A bare Figure, not pyplot: no global figure manager to create and close.
    fig = Figure(figsize=(8, 4), dpi=110)
    ax = fig.subplots()
    ax.plot(
        xs,
        [float("nan") if p.pct_accepted is None else p.pct_accepted for p in trend.points],
        "o-",
        color=colours.pct_accepted,
        label=words.pct_accepted,
    )
    ax.plot(
        xs,
        [float("nan") if p.pct_on_time is None else p.pct_on_time for p in trend.points],
        "s--",
        color=colours.pct_on_time,
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
            color=colours.indicator,
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
    fig.savefig(buf, format="png")
    return buf.getvalue()


# The console's chart: geometry computed here, written as <svg> by a Jinja2 macro
# (console/templates/_trend_chart.html). Units are the viewBox's; the page scales it.
CHART_WIDTH = 600.0
#: Left/right margins leave room for the tick labels of the two axes.
PLOT_LEFT = 44.0
PLOT_RIGHT = CHART_WIDTH - 64.0
PLOT_TOP = 46.0
PLOT_BOTTOM = 256.0
#: Below the plot: the period labels, then one legend row per entry.
LEGEND_TOP = PLOT_BOTTOM + 42.0
LEGEND_ROW = 20.0
#: The narrowest slot a period label is written in; narrower slots label every k-th period.
LABEL_SLOT = 72.0


@dataclass(frozen=True)
class ChartPoint:
    x: float
    y: float
    #: What a hover (the SVG <title>) says: period, series and value.
    label: str


@dataclass(frozen=True)
class ChartLine:
    name: str
    colour: str
    dashed: bool
    marker: Literal["circle", "square"]
    #: Runs of consecutive periods with a value: a period without one breaks the line.
    segments: tuple[tuple[ChartPoint, ...], ...]

    @property
    def points(self) -> tuple[ChartPoint, ...]:
        return tuple(p for seg in self.segments for p in seg)


@dataclass(frozen=True)
class ChartBar:
    x: float
    y: float
    width: float
    height: float
    label: str


@dataclass(frozen=True)
class Tick:
    #: The tick's place along its axis (x for periods, y for values).
    at: float
    #: Empty when the slot is too narrow for every period's label.
    label: str


@dataclass(frozen=True)
class LegendEntry:
    label: str
    colour: str
    kind: Literal["line", "dashed", "bar"]
    y: float


@dataclass(frozen=True)
class TrendChart:
    """Everything the SVG macro writes, already scaled: no arithmetic in the template."""

    width: float
    height: float
    title: str
    left: float
    right: float
    top: float
    bottom: float
    x_ticks: tuple[Tick, ...]
    #: % axis, always 0–100: completeness compared across units and periods on one scale.
    y_ticks: tuple[Tick, ...]
    #: The indicator's axis (right); empty without an indicator.
    y2_ticks: tuple[Tick, ...]
    y2_label: str
    lines: tuple[ChartLine, ...]
    bars: tuple[ChartBar, ...]
    bar_colour: str
    legend: tuple[LegendEntry, ...]


def nice_ticks(top: float, count: int = 5) -> list[float]:
    """0 to at least ``top`` in about ``count`` round steps (1, 2, 2.5 or 5 × 10ⁿ)."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / (count - 1)
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1.0, 2.0, 2.5, 5.0, 10.0) if m * power >= raw)
    n = math.ceil(top / step - 1e-9)
    return [round(i * step, 10) for i in range(n + 1)]


def _num(value: float, lang: Language) -> str:
    both = number(round(value, 1))
    return str(both.vi if lang == "vi" else both.en)


def trend_chart(trend: Trend, title: str, lang: Language = "vi") -> TrendChart:
    """The trend's chart geometry: one x slot per period, % lines on a 0–100 axis, the
    indicator's bars on a second axis, figures written the visitor's way (vi ``76,9``)."""
    words = load_steward_text().trend
    colours = words.colours
    n = max(len(trend.points), 1)
    slot = (PLOT_RIGHT - PLOT_LEFT) / n
    # Rounded to a tenth of a unit: the page stays short and no eye sees the difference.
    xs = [round(PLOT_LEFT + (i + 0.5) * slot, 1) for i in range(len(trend.points))]
    every = max(1, math.ceil(LABEL_SLOT / slot))
    x_ticks = tuple(
        Tick(x, p.period if i % every == 0 else "")
        for i, (x, p) in enumerate(zip(xs, trend.points, strict=True))
    )

    def y_at(value: float, top: float) -> float:
        return round(PLOT_BOTTOM - (PLOT_BOTTOM - PLOT_TOP) * value / top, 1)

    def line(name: str, colour: str, dashed: bool, values: list[float | None]) -> ChartLine:
        segments: list[tuple[ChartPoint, ...]] = []
        run: list[ChartPoint] = []
        for x, p, v in zip(xs, trend.points, values, strict=True):
            if v is None:
                if run:
                    segments.append(tuple(run))
                run = []
                continue
            run.append(ChartPoint(x, y_at(v, 100.0), f"{p.period} · {name}: {_num(v, lang)} %"))
        if run:
            segments.append(tuple(run))
        return ChartLine(name, colour, dashed, "square" if dashed else "circle", tuple(segments))

    lines = (
        line(
            words.pct_accepted,
            colours.pct_accepted,
            False,
            [p.pct_accepted for p in trend.points],
        ),
        line(words.pct_on_time, colours.pct_on_time, True, [p.pct_on_time for p in trend.points]),
    )
    y_ticks = tuple(Tick(y_at(v, 100.0), _num(v, lang)) for v in range(0, 101, 20))
    legend = [
        LegendEntry(words.pct_accepted, colours.pct_accepted, "line", LEGEND_TOP),
        LegendEntry(words.pct_on_time, colours.pct_on_time, "dashed", LEGEND_TOP + LEGEND_ROW),
    ]
    bars: tuple[ChartBar, ...] = ()
    y2_ticks: tuple[Tick, ...] = ()
    y2_label = ""
    if trend.indicator is not None:
        name = f"{trend.indicator_vi} / {trend.indicator_en}"
        values = [p.value for p in trend.points]
        ticks = nice_ticks(max((v for v in values if v is not None), default=0.0))
        top = ticks[-1]
        y2_ticks = tuple(Tick(y_at(v, top), _num(v, lang)) for v in ticks)
        y2_label = trend.indicator
        width = slot * 0.6
        # No bar where nothing was reported: an empty slot, not a bar of height 0.
        bars = tuple(
            ChartBar(
                round(x - width / 2, 1),
                y_at(v, top),
                round(width, 1),
                round(PLOT_BOTTOM - y_at(v, top), 1),
                f"{p.period} · {name}: {_num(v, lang)}",
            )
            for x, p, v in zip(xs, trend.points, values, strict=True)
            if v is not None
        )
        legend.append(LegendEntry(name, colours.indicator, "bar", LEGEND_TOP + 2 * LEGEND_ROW))
    return TrendChart(
        width=CHART_WIDTH,
        height=legend[-1].y + LEGEND_ROW,
        title=title,
        left=PLOT_LEFT,
        right=PLOT_RIGHT,
        top=PLOT_TOP,
        bottom=PLOT_BOTTOM,
        x_ticks=x_ticks,
        y_ticks=y_ticks,
        y2_ticks=y2_ticks,
        y2_label=y2_label,
        lines=lines,
        bars=bars,
        bar_colour=colours.indicator,
        legend=tuple(legend),
    )
