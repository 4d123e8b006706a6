"""What a steward reads about a run and a period: run name, final state, file table, heat map."""

from matplotlib.colors import to_rgb

from dvkn_pipeline.views.chart import grid_markdown, state_colours
from dvkn_pipeline.views.status import STATES
from dvkn_pipeline.views.summaries import outcome_rows, outcomes_markdown, run_summary
from schemas.records import FileOutcome, Status


def outcome(key: str, status: Status, unit: str | None = None, **kw: object) -> FileOutcome:
    return FileOutcome(
        key=key,
        status=status,
        unit_code=unit,
        period="2025-Q1" if unit else None,
        receipt_key=key.replace("incoming/", "receipts/") + ".receipt.json",
        **kw,  # type: ignore[arg-type]
    )


OUTCOMES = [
    outcome("incoming/00001/2025-Q1/a.csv", Status.ACCEPTED, "00001"),
    outcome("incoming/00004/2025-Q1/a.csv", Status.ACCEPTED, "00004"),
    outcome(
        "incoming/00008/2025-Q1/b.csv",
        Status.REJECTED,
        "00004",
        n_errors=1,
        first_problem="The file names unit 00004",
        first_problem_vi="Tệp ghi đơn vị 00004",
    ),
    outcome("incoming/00019/2025-Q1/bao-cao.pdf", Status.REJECTED, None, n_errors=1),
    outcome("incoming/00001/2025-Q1/again.csv", Status.DUPLICATE, "00001"),
]


def test_a_run_is_named_by_what_it_did_and_ends_in_a_named_state() -> None:
    run = run_summary(OUTCOMES)
    assert run.name == "2025-Q1 · 2 nhận · 2 từ chối"
    assert run.state_name == "Completed (2 rejected)"
    assert "2 rejected" in run.message and "2 từ chối" in run.message
    clean = run_summary(OUTCOMES[:2])
    assert clean.state_name == "Completed"
    assert run_summary([]).name == "không có tệp mới / nothing new"


def test_the_file_table_puts_rejections_first_with_bilingual_columns() -> None:
    rows = outcome_rows(OUTCOMES)
    assert [r["tệp / file"] for r in rows[:2]] == [
        "incoming/00008/2025-Q1/b.csv",
        "incoming/00019/2025-Q1/bao-cao.pdf",
    ]
    first = rows[0]
    assert first["thư mục đơn vị / uploader folder"] == "00008"
    assert first["đơn vị ghi trong tệp / unit claimed"] == "00004"
    assert first["lỗi đầu tiên / first problem"] == (
        "Tệp ghi đơn vị 00004 / The file names unit 00004"
    )
    assert rows[1]["thư mục đơn vị / uploader folder"] == "00019"  # the PDF, not "?"
    assert "n_errors" not in first and first["số lỗi / errors"] == 1


def test_the_summary_artifact_starts_with_the_run() -> None:
    md = outcomes_markdown(OUTCOMES, {})
    assert md.splitlines()[0].endswith("2025-Q1 · 2 nhận · 2 từ chối")
    assert "**Completed (2 rejected)**" in md
    assert "Tệp ghi đơn vị 00004 / The file names unit 00004" in md


def test_missing_is_the_most_alarming_colour() -> None:
    colours = {s: to_rgb(c) for s, c in state_colours().items()}
    assert set(colours) == set(STATES)

    def lightness(rgb: tuple[float, float, float]) -> float:
        return sum(rgb) / 3

    darkest = min(colours, key=lambda s: lightness(colours[s]))
    assert darkest == "missing"
    assert colours["missing"][0] > colours["missing"][1]  # red
    assert lightness(colours["late"]) > lightness(colours["missing"])


def test_the_grid_table_has_expected_and_percent_columns() -> None:
    import polars as pl

    grid = pl.DataFrame(
        {"unit_code": ["001"], "name": ["Quận Ba Đình"]}
        | {s: [0] for s in STATES}
        | {"on_time": [3], "missing": [1], "expected": [4]}
    )
    md = grid_markdown(grid)
    assert "phải nộp / expected" in md and "% đã nhận / % accepted" in md
    assert "chưa nộp / missing" in md
    assert "| 4 | 75.0 |" in md
