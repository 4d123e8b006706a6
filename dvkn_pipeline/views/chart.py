"""The completeness heat map: units (districts) × report state, as PNG and a self-contained HTML page.

Labels are Vietnamese with English beside, each row says how many of its units
are expected and what share has an accepted report, and "missing" has the most
alarming colour (it was pale grey while "late" shouted).

Rendered from :func:`dvkn_pipeline.views.status.state_grid`, so the picture, its
table and ``dvkn status`` count the same units. matplotlib runs headless
(Agg) and is imported here only, so the rest of the library does not pay for it.
"""

from __future__ import annotations

import base64
import html
import io
import textwrap
from dataclasses import dataclass
from typing import Any

import polars as pl

from dvkn_pipeline.reference.catalogue import Catalogue
from dvkn_pipeline.reference.hierarchy import Hierarchy
from dvkn_pipeline.reference.levels import LevelError, level_labels
from dvkn_pipeline.reference.periods import Period
from dvkn_pipeline.views.status import (
    STATES,
    default_group_level,
    level_counts,
    level_name,
    state_grid,
    unit_states,
)
from schemas.steward import load_steward_text

#: States that leave the unit with an accepted report (the "% accepted" of a row).
ACCEPTED_STATES = ("on_time", "late", "corrected", "correction_rejected")


def state_colours() -> dict[str, str]:
    """Each state's colour at full strength (``schemas/steward.yaml``): missing is the darkest red."""
    return {s: t.colour for s, t in load_steward_text().states.items()}


def with_percent(grid: pl.DataFrame) -> pl.DataFrame:
    """The grid with ``accepted`` and ``pct_accepted`` per row: what a steward compares first."""
    return grid.with_columns(
        pl.sum_horizontal(*ACCEPTED_STATES).alias("accepted"),
    ).with_columns((100.0 * pl.col("accepted") / pl.col("expected")).round(1).alias("pct_accepted"))


def grid_png(grid: pl.DataFrame, title: str) -> bytes:
    """A heat map, one row per unit, one column per state; each cell the share of the row's units.

    A cell's colour runs from white (no unit) to its state's colour (every unit
    of the row), so a column of missing communes is the loudest thing on the page.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.colors import to_rgb

    text = load_steward_text()
    grid = with_percent(grid)
    labels = [
        f"{c} {n}  ({a}/{e}, {pct:.0f}%)"
        for c, n, a, e, pct in zip(
            grid["unit_code"],
            grid["name"],
            grid["accepted"],
            grid["expected"],
            grid["pct_accepted"],
            strict=True,
        )
    ]
    counts = grid.select(STATES).to_numpy().astype(float)
    expected = np.maximum(grid["expected"].to_numpy().astype(float), 1.0)
    shares = counts / expected[:, None]
    colours = state_colours()
    rgb = np.ones((len(labels), len(STATES), 3))
    for j, state in enumerate(STATES):
        full = np.array(to_rgb(colours[state]))
        share = np.where(counts[:, j] > 0, 0.25 + 0.75 * shares[:, j], 0.0)[:, None]
        rgb[:, j, :] = 1.0 - share * (1.0 - full)
    height = max(2.8, 0.34 * len(labels) + 2.0)
    fig, ax = plt.subplots(figsize=(10, height), dpi=110)
    try:
        ax.imshow(rgb, aspect="auto")
        for i in range(len(labels)):
            for j in range(len(STATES)):
                ax.text(
                    j,
                    i,
                    f"{int(counts[i, j])}",
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if shares[i, j] > 0.5 else "black",
                )
        ax.set_xticks(
            range(len(STATES)),
            [
                "\n".join(
                    [*textwrap.wrap(text.states[s].vi, 16), *textwrap.wrap(text.states[s].en, 16)]
                )
                for s in STATES
            ],
            fontsize=7,
        )
        ax.set_yticks(range(len(labels)), labels, fontsize=8)
        ax.set_xticks(np.arange(-0.5, len(STATES)), minor=True)
        ax.set_yticks(np.arange(-0.5, len(labels)), minor=True)
        ax.grid(which="minor", color="#dddddd", linewidth=0.6)
        ax.tick_params(which="minor", length=0)
        ax.xaxis.tick_top()
        ax.set_title(title, fontsize=10, pad=12)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        return buf.getvalue()
    finally:
        plt.close(fig)


def _head(name: str) -> str:
    return load_steward_text().columns[name]


def grid_markdown(grid: pl.DataFrame) -> str:
    """The same grid as a markdown table (the Prefect artifact, the HTML's fallback)."""
    text = load_steward_text()
    grid = with_percent(grid)
    head = (
        f"| {_head('unit')} | {_head('name')} | "
        + " | ".join(text.states[s].both for s in STATES)
        + f" | {_head('expected')} | {_head('pct')} |"
    )
    lines = [head, "|" + "---|" * (len(STATES) + 4)]
    for r in grid.iter_rows(named=True):
        name = str(r["name"]).replace("|", "\\|")
        cells = " | ".join(str(r[s]) for s in STATES)
        lines.append(
            f"| {r['unit_code']} | {name} | {cells} | {r['expected']} | {r['pct_accepted']:.1f} |"
        )
    total = " | ".join(str(int(grid[s].sum())) for s in STATES)
    expected = int(grid["expected"].sum())
    pct = 100.0 * int(grid["accepted"].sum()) / expected if expected else 0.0
    lines.append(f"| **{text.chart.total}** | | {total} | {expected} | {pct:.1f} |")
    return "\n".join(lines)


def grid_html(grid: pl.DataFrame, png: bytes, title: str, summary: dict[str, Any]) -> str:
    """A page with the picture inlined, so it can be mailed or opened without the object store."""
    esc = html.escape
    text = load_steward_text()
    head = "".join(f"<th>{esc(text.states[s].both)}</th>" for s in STATES)
    rows = "".join(
        "<tr><td>{}</td><td>{}</td>{}<td>{}</td><td>{:.1f}</td></tr>".format(
            esc(str(r["unit_code"])),
            esc(str(r["name"])),
            "".join(f"<td>{int(r[s])}</td>" for s in STATES),
            int(r["expected"]),
            r["pct_accepted"],
        )
        for r in with_percent(grid).iter_rows(named=True)
    )
    facts = "".join(f"<li>{esc(str(k))}: {esc(str(v))}</li>" for k, v in summary.items())
    img = base64.b64encode(png).decode("ascii")
    return (
        '<!doctype html><html lang="vi"><head><meta charset="utf-8">'
        f"<title>{esc(title)}</title>"
        "<style>body{font-family:sans-serif}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}"
        "td:nth-child(2){text-align:left}</style></head><body>"
        f"<h1>{esc(title)}</h1><ul>{facts}</ul>"
        f'<img alt="{esc(title)}" src="data:image/png;base64,{img}">'
        f"<table><thead><tr><th>{esc(_head('unit'))}</th><th>{esc(_head('name'))}</th>{head}"
        f"<th>{esc(_head('expected'))}</th><th>{esc(_head('pct'))}</th></tr></thead>"
        f"<tbody>{rows}</tbody></table></body></html>"
    )


@dataclass(frozen=True)
class CompletenessChart:
    """One period's heat map in every form it is published in."""

    period: str
    group_level: str
    title: str
    grid: pl.DataFrame
    summary: dict[str, str]
    png: bytes
    html: str
    markdown: str


def completeness_chart(
    ledger: pl.DataFrame,
    hierarchy: Hierarchy,
    catalogue: Catalogue,
    period: Period,
    group_level: str | None = None,
) -> CompletenessChart:
    """Heat map of ``group_level`` units (default: districts, or the province after 2025) × state."""
    level = level_name(group_level, hierarchy) if group_level else default_group_level(hierarchy)
    grid = state_grid(unit_states(ledger, hierarchy, catalogue, period), hierarchy, level)
    top = level_counts(ledger, hierarchy, catalogue, period, hierarchy.levels[0])
    summary = {
        "period": f"{period.code} ({period.label_vi})",
        "hierarchy": hierarchy.version_id,
        **{
            f"{r['reporter_level']} reports": (
                f"{r['accepted']}/{r['expected']} accepted ({r['pct_accepted']}%), "
                f"{r['on_time']} on time, {r['late']} late, {r['rejected']} rejected only, "
                f"{r['missing']} missing; deadline {period.deadline(r['reporter_level'])}"
            )
            for r in top.iter_rows(named=True)
        },
    }
    try:
        words = level_labels(level)
        level_text = f"{words.vi} / {words.en}"
    except LevelError:
        level_text = level
    title = load_steward_text().chart.title.format(period=period.code, level=level_text)
    png = grid_png(grid, title)
    markdown = (
        f"# {title}\n\n"
        + "\n".join(f"- **{k}**: {v}" for k, v in summary.items())
        + "\n\n"
        + grid_markdown(grid)
        + "\n"
    )
    return CompletenessChart(
        period.code,
        level,
        title,
        grid,
        summary,
        png,
        grid_html(grid, png, title, summary),
        markdown,
    )
