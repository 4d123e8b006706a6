"""The completeness heat map: units (districts) × report state, as PNG and a self-contained HTML page.

Rendered from :func:`dvkn_pipeline.views.status.state_grid`, so the picture, its
table and ``dvkn status`` count the same units. matplotlib runs headless
(Agg) and is imported here only, so the rest of the library does not pay for it.
"""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass
from typing import Any

import polars as pl

from dvkn_pipeline.reference.catalogue import Catalogue
from dvkn_pipeline.reference.hierarchy import Hierarchy
from dvkn_pipeline.reference.periods import Period
from dvkn_pipeline.views.status import (
    STATE_TEXT,
    STATES,
    default_group_level,
    level_counts,
    level_name,
    state_grid,
    unit_states,
)

#: Colours a steward reads at a glance: green done, amber late, red rejected, grey missing.
STATE_COLOURS = {
    "on_time": "Greens",
    "late": "Oranges",
    "corrected": "Blues",
    "rejected": "Reds",
    "missing": "Greys",
}


def grid_png(grid: pl.DataFrame, title: str) -> bytes:
    """A heat map, one row per unit, one column per state; each cell the share of the row's units."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    labels = [f"{c} {n}" for c, n in zip(grid["unit_code"], grid["name"], strict=True)]
    counts = grid.select(STATES).to_numpy().astype(float)
    expected = np.maximum(grid["expected"].to_numpy().astype(float), 1.0)
    shares = counts / expected[:, None]
    height = max(2.5, 0.32 * len(labels) + 1.6)
    fig, ax = plt.subplots(figsize=(8.5, height), dpi=110)
    try:
        for j, state in enumerate(STATES):
            column = np.ma.masked_invalid(shares[:, j : j + 1])
            ax.imshow(
                column,
                cmap=STATE_COLOURS[state],
                vmin=0.0,
                vmax=1.4,  # a full column is a strong tone, not black
                aspect="auto",
                extent=(j - 0.5, j + 0.5, len(labels) - 0.5, -0.5),
            )
            for i in range(len(labels)):
                ax.text(
                    j,
                    i,
                    f"{int(counts[i, j])}",
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if shares[i, j] > 0.85 else "black",
                )
        ax.set_xlim(-0.5, len(STATES) - 0.5)
        ax.set_ylim(len(labels) - 0.5, -0.5)
        ax.set_xticks(range(len(STATES)), [s.replace("_", " ") for s in STATES])
        ax.set_yticks(range(len(labels)), labels, fontsize=8)
        ax.xaxis.tick_top()
        ax.set_title(title, fontsize=10, pad=24)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        return buf.getvalue()
    finally:
        plt.close(fig)


def grid_markdown(grid: pl.DataFrame) -> str:
    """The same grid as a markdown table (the Prefect artifact, the HTML's fallback)."""
    head = "| unit | name | " + " | ".join(STATE_TEXT[s] for s in STATES) + " | expected |"
    lines = [head, "|" + "---|" * (len(STATES) + 3)]
    for r in grid.iter_rows(named=True):
        name = str(r["name"]).replace("|", "\\|")
        cells = " | ".join(str(r[s]) for s in STATES)
        lines.append(f"| {r['unit_code']} | {name} | {cells} | {r['expected']} |")
    total = " | ".join(str(int(grid[s].sum())) for s in STATES)
    lines.append(f"| **total** | | {total} | {int(grid['expected'].sum())} |")
    return "\n".join(lines)


def grid_html(grid: pl.DataFrame, png: bytes, title: str, summary: dict[str, Any]) -> str:
    """A page with the picture inlined, so it can be mailed or opened without the object store."""
    esc = html.escape
    head = "".join(f"<th>{esc(STATE_TEXT[s])}</th>" for s in STATES)
    rows = "".join(
        "<tr><td>{}</td><td>{}</td>{}<td>{}</td></tr>".format(
            esc(str(r["unit_code"])),
            esc(str(r["name"])),
            "".join(f"<td>{int(r[s])}</td>" for s in STATES),
            int(r["expected"]),
        )
        for r in grid.iter_rows(named=True)
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
        f"<table><thead><tr><th>unit</th><th>name</th>{head}<th>expected</th></tr></thead>"
        f"<tbody>{rows}</tbody></table></body></html>"
    )


@dataclass(frozen=True)
class CompletenessChart:
    """One period's heat map in every form it is published in."""

    period: str
    group_level: str
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
    title = f"Completeness {period.code}: {level} × report state"
    png = grid_png(grid, title)
    markdown = (
        f"# {title}\n\n"
        + "\n".join(f"- **{k}**: {v}" for k, v in summary.items())
        + "\n\n"
        + grid_markdown(grid)
        + "\n"
    )
    return CompletenessChart(
        period.code, level, grid, summary, png, grid_html(grid, png, title, summary), markdown
    )
