"""How the tables read back repeated facts and write frames, on local Delta tables."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandera.errors as pa_errors
import pandera.polars as pa
import polars as pl
import pytest
from deltalake import DeltaTable
from hypothesis import given, settings
from hypothesis import strategies as st

from dvkn_pipeline.storage.tables import WRITE_BATCH_ROWS, _write, without_copies
from schemas.tables import rollup_schema, unique_keys


def facts(rows: Sequence[tuple[str, str, float | None]]) -> pl.LazyFrame:
    return pl.LazyFrame(
        rows,
        schema={"submission_id": pl.Utf8, "indicator": pl.Utf8, "value": pl.Float64},
        orient="row",
    )


def as_set(frame: pl.LazyFrame) -> list[tuple[object, ...]]:
    return sorted(frame.collect().rows(), key=repr)


ROWS = st.lists(
    st.tuples(
        st.sampled_from(["s1", "s2", "s3"]),
        st.sampled_from(["a", "b"]),
        st.one_of(st.none(), st.sampled_from([0.0, 1.5, 2.0])),
    ),
    max_size=30,
)


@settings(max_examples=60, deadline=None)
@given(ROWS)
def test_without_copies_keeps_what_unique_keeps(rows: list[tuple[str, str, float | None]]) -> None:
    assert as_set(without_copies(facts(rows))) == as_set(facts(rows).unique())


@settings(max_examples=60, deadline=None)
@given(ROWS)
def test_rows_whose_hashes_collide_are_still_told_apart(
    rows: list[tuple[str, str, float | None]],
) -> None:
    """Rows given a hash of two values only: the exact pass must decide what is a copy."""
    collide = pl.col("value").is_null().cast(pl.UInt64)
    assert as_set(without_copies(facts(rows), row_hash=collide)) == as_set(facts(rows).unique())


def test_a_replayed_batch_counts_once() -> None:
    batch = [("s1", "a", 1.0), ("s1", "b", 2.0), ("s2", "a", 4.0)]
    once = facts(batch).select(pl.col("value").sum()).collect().item()
    twice = without_copies(facts(batch + batch)).select(pl.col("value").sum()).collect().item()
    assert twice == once == 7.0


@pytest.mark.parametrize("height", [0, 5, WRITE_BATCH_ROWS, 3 * WRITE_BATCH_ROWS + 17])
def test_a_frame_written_in_batches_reads_back_whole_in_one_file(
    tmp_path: Path, height: int
) -> None:
    frame = pl.DataFrame(
        {
            "period": ["2025-Q1"] * height,
            "unit_code": [f"{i:05d}" for i in range(height)],
            "value": [float(i) for i in range(height)],
        },
        schema={"period": pl.Utf8, "unit_code": pl.Utf8, "value": pl.Float64},
    )
    uri = str(tmp_path / "t")
    seed = pl.DataFrame(
        {"period": ["2025-Q1", "2025-Q2"], "unit_code": ["x", "y"], "value": [1.0, 2.0]}
    )
    _write(uri, seed, mode="append", storage_options={}, partition_by=["period"])
    _write(
        uri,
        frame,
        mode="overwrite",
        storage_options={},
        partition_by=["period"],
        predicate="period = '2025-Q1'",
    )
    back = pl.read_delta(uri).sort("period", "unit_code")
    expected = pl.concat([frame, seed.filter(pl.col("period") == "2025-Q2")]).sort(
        "period", "unit_code"
    )
    assert back.equals(expected)
    q1_files = [f for f in DeltaTable(uri).file_uris() if "period=2025-Q1" in f]
    assert len(q1_files) == (1 if height else 0)


def rollup_rows(keys: list[tuple[str, str, str | None]]) -> pl.DataFrame:
    """Roll-up rows of one period with the given (unit, indicator, field) keys."""
    n = len(keys)
    return pl.DataFrame(
        {
            "period": ["2025-Q1"] * n,
            "unit_code": [k[0] for k in keys],
            "unit_level": ["commune"] * n,
            "indicator": [k[1] for k in keys],
            "field": [k[2] for k in keys],
            "value": [1.0] * n,
            "numerator": [None] * n,
            "denominator": [None] * n,
            "hierarchy_version": ["v1"] * n,
        },
        schema={
            **dict.fromkeys(["period", "unit_code", "unit_level", "indicator", "field"], pl.Utf8),
            **dict.fromkeys(["value", "numerator", "denominator"], pl.Float64),
            "hierarchy_version": pl.Utf8,
        },
    )


KEYS = st.lists(
    st.tuples(
        st.sampled_from(["01", "02"]),
        st.sampled_from(["a", "b"]),
        st.one_of(st.none(), st.just("x")),
    ),
    max_size=12,
)


def refuses_exactly_the_repeats(
    schema: pa.DataFrameSchema, keys: list[tuple[str, str, str | None]]
) -> None:
    frame = rollup_rows(keys)
    if len(set(keys)) == len(keys):
        assert schema.validate(frame).equals(frame)
    else:
        with pytest.raises(pa_errors.SchemaError, match="unique_keys"):
            schema.validate(frame)


@settings(max_examples=60, deadline=None)
@given(KEYS)
def test_the_roll_up_contract_refuses_exactly_the_repeated_keys(
    keys: list[tuple[str, str, str | None]],
) -> None:
    schema = rollup_schema(("field",))
    refuses_exactly_the_repeats(schema, keys)


@settings(max_examples=40, deadline=None)
@given(KEYS)
def test_keys_whose_hashes_collide_are_compared_exactly(
    keys: list[tuple[str, str, str | None]],
) -> None:
    """Keys given a hash of two values only: the exact comparison must find duplicates."""
    collide = pl.col("field").is_null().cast(pl.UInt64)
    schema = pa.DataFrameSchema(
        checks=[unique_keys(["unit_code", "indicator", "field"], key_hash=collide)]
    )
    refuses_exactly_the_repeats(schema, keys)
