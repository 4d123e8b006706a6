"""The tables open in other tools with the documented options: the README's snippets, run.

A real SeaweedFS (S3 only), a few reports processed and rolled up, then the
README's "Reading the tables with other tools" code blocks executed as written,
with the ``DVKN_*`` environment pointing at this store.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from deltalake import DeltaTable

from dvkn_pipeline.ops import local_env, local_stack
from dvkn_pipeline.ops.demo import Upload, upload_all
from dvkn_pipeline.ops.generator import generate_report
from dvkn_pipeline.reference.catalogue import load_catalogue
from dvkn_pipeline.reference.hierarchy import load_hierarchies
from dvkn_pipeline.reference.keys import incoming_key
from dvkn_pipeline.reference.periods import Period
from dvkn_pipeline.services.wiring import build_intake
from schemas.settings import Settings

pytestmark = pytest.mark.integration

CAT = load_catalogue()
Q1 = Period.parse("2025-Q1")
HANOI = load_hierarchies().for_date(Q1.reference_date).scope("01")
README = Path(__file__).parents[2] / "README.md"


def readme_snippets() -> list[str]:
    """The python blocks of the README's section on reading the tables, in order."""
    text = README.read_text(encoding="utf-8")
    section = text.split("### Reading the tables with other tools", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


@pytest.fixture
def store(object_store: Settings) -> Settings:
    settings = object_store.model_copy(update={"bucket": f"t-{uuid.uuid4().hex[:12]}"})
    local_stack.ensure_bucket(settings)
    units = [*HANOI.children("001")[:3], HANOI.unit("001"), HANOI.unit("01")]
    intake = build_intake(settings)
    upload_all(
        intake.bucket,
        [
            Upload(incoming_key(u.code, Q1.code, "bao-cao.csv"), r, r.to_csv(CAT))
            for u in units
            for r in [generate_report(u, Q1, CAT, seed=3)]
        ],
    )
    result = intake.process(intake.pending())
    intake.refresh(result.periods)
    return settings


def test_readme_reads_the_roll_up_with_polars_and_duckdb(
    store: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in local_env.dvkn_env(store).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DVKN_BUCKET", store.bucket)
    snippets = readme_snippets()
    assert len(snippets) == 2
    ns: dict[str, Any] = {}
    for code in snippets:
        exec(compile(code, str(README), "exec"), ns)

    districts: pl.DataFrame = ns["districts"]
    assert districts.row(0, named=True)["name"] == "Quận Ba Đình"
    assert districts.height == 1  # only Ba Đình has reports
    by_field: pl.DataFrame = ns["by_field"]
    assert set(by_field["name"]) == {"Thành phố Hà Nội"}
    city = ns["rollup"].filter(
        (pl.col("unit_code") == "01") & (pl.col("indicator") == "MH_DANG_KY")
    )
    assert by_field["models"].sum() == pytest.approx(city["value"].sum())


def test_storage_options_open_every_table_with_deltalake_and_polars(store: Settings) -> None:
    opts = store.storage_options()
    assert all(isinstance(v, str) for v in opts.values())
    for name in ("ledger", "facts", "rollup", "completeness", "units"):
        uri = store.table_uri(name)
        table = DeltaTable(uri, storage_options=opts)
        assert table.version() >= 0
        assert pl.read_delta(uri, storage_options=opts).height > 0, name
    units = pl.read_delta(store.table_uri("units"), storage_options=opts)
    assert units.filter(pl.col("unit_code") == "01")["name"].to_list() == ["Thành phố Hà Nội"]
    assert set(units["unit_level"]) == {"province", "district", "commune"}
    assert units["hierarchy_version"].unique().to_list() == [HANOI.version_id]


def test_why_the_retry_count_is_not_in_the_documented_options(store: Settings) -> None:
    """polars takes ``max_retries`` as its own key and refuses the string delta-rs needs."""
    with pytest.raises(Exception, match="max_retries"):
        pl.read_delta(store.table_uri("rollup"), storage_options=store.delta_options())
    assert DeltaTable(store.table_uri("rollup"), storage_options=store.delta_options())


def test_export_writes_beside_you_and_to_the_store_each_run_a_version(
    store: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    import openpyxl
    from typer.testing import CliRunner

    from dvkn_pipeline.cli.app import app
    from dvkn_pipeline.storage.s3_client import make_s3_client
    from tests.unit.test_export_totals import check_totals

    monkeypatch.chdir(tmp_path)
    env = local_env.dvkn_env(store) | {"DVKN_BUCKET": store.bucket}
    args = ["export", "--period", "2025-Q1", "--level", "district", "--number", "7-BC/BDVTU"]
    for _ in range(2):
        result = CliRunner().invoke(app, [*args, "--date", "20/04/2025"], env=env)
        assert result.exit_code == 0, result.output
    key = "exports/2025-Q1/district/dvkn-2025-Q1-district.xlsx"
    assert f"s3://{store.bucket}/{key}" in result.output.replace("\n", "")
    assert (tmp_path / "dvkn-2025-Q1-district.csv").exists()
    client = make_s3_client(store)
    versions = client.list_object_versions(Bucket=store.bucket, Prefix=key)["Versions"]
    assert len(versions) == 2
    body = client.get_object(Bucket=store.bucket, Key=key)["Body"].read()
    wb = openpyxl.load_workbook(io.BytesIO(body))
    assert wb["Mô hình 1"]["A4"].value == "Số: 7-BC/BDVTU"
    assert sum(check_totals(wb[n]) for n in wb.sheetnames[1:]) == len(wb.sheetnames) - 1
