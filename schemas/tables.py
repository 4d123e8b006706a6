"""pandera contracts for every frame the pipeline reads or writes.

The report schema is built from the catalogue (known indicators, allowed
category codes), so it takes plain sets rather than importing the loader: the
contract does not know how it is executed or where the catalogue comes from.
Check names are stable rule ids; ``dvkn_pipeline.judging.validation`` turns failure
cases into bilingual problems.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData

PERIOD_PATTERN = r"^\d{4}-(M(0[1-9]|1[0-2])|Q[1-4]|H[12]|9M|Y)$"
UNIT_CODE_PATTERN = r"^\d{2}(\d{1})?(\d{2})?$"


def _value_parses(data: PolarsData) -> pl.LazyFrame:
    """A number was given where a number is expected (categories are checked apart)."""
    return data.lazyframe.select(
        pl.col("value_text").is_null()
        | (pl.col("value_type") == "category")
        | pl.col("value_type").is_null()
        | pl.col("value").is_not_null()
    )


def _value_present(data: PolarsData) -> pl.LazyFrame:
    """Breakdown cells need a value; a blank declared-total row is fine (templates compute it)."""
    return data.lazyframe.select(pl.col("value_text").is_not_null() | pl.col("is_total"))


def _integer_when_integer(data: PolarsData) -> pl.LazyFrame:
    return data.lazyframe.select(
        (pl.col("value_type") != "integer")
        | pl.col("value").is_null()
        | (pl.col("value") == pl.col("value").floor())
    )


def report_rows_schema(
    indicator_codes: set[str],
    dimension_values: Mapping[str, set[str]],
) -> pa.DataFrameSchema:
    """Rows of one uploaded report after cell parsing, before normalization."""
    dims = {
        name: pa.Column(
            pl.Utf8,
            checks=[pa.Check.isin(sorted(values), name=f"known_{name}")],
            nullable=True,
        )
        for name, values in dimension_values.items()
    }
    return pa.DataFrameSchema(
        {
            "sheet": pa.Column(pl.Utf8),
            "row": pa.Column(pl.Int64, checks=[pa.Check.ge(1)]),
            "indicator": pa.Column(
                pl.Utf8,
                checks=[pa.Check.isin(sorted(indicator_codes), name="known_indicator")],
                nullable=False,
            ),
            **dims,
            "value_text": pa.Column(pl.Utf8, nullable=True),
            "value": pa.Column(
                pl.Float64, checks=[pa.Check.ge(0, name="non_negative")], nullable=True
            ),
            "value_type": pa.Column(pl.Utf8, nullable=True),
            "is_total": pa.Column(pl.Boolean),
        },
        checks=[
            pa.Check(_value_present, name="value_present"),
            pa.Check(_value_parses, name="value_is_number"),
            pa.Check(_integer_when_integer, name="integer_value"),
        ],
        strict=False,
        name="report_rows",
    )


def facts_schema(dimension_columns: tuple[str, ...]) -> pa.DataFrameSchema:
    """The normalized long fact table: one row per unit, period, indicator and breakdown."""
    return pa.DataFrameSchema(
        {
            "submission_id": pa.Column(pl.Utf8, checks=[pa.Check.str_length(64, 64)]),
            "unit_code": pa.Column(pl.Utf8, checks=[pa.Check.str_matches(UNIT_CODE_PATTERN)]),
            "period": pa.Column(pl.Utf8, checks=[pa.Check.str_matches(PERIOD_PATTERN)]),
            "indicator": pa.Column(pl.Utf8),
            **{d: pa.Column(pl.Utf8, nullable=True) for d in dimension_columns},
            "value": pa.Column(pl.Float64, checks=[pa.Check.ge(0)]),
        },
        strict=True,
        unique=["submission_id", "indicator", *dimension_columns],
        name="facts",
    )


LEDGER_SCHEMA = pa.DataFrameSchema(
    {
        "upload_id": pa.Column(pl.Utf8, unique=True),
        "key": pa.Column(pl.Utf8),
        "etag": pa.Column(pl.Utf8),
        # Empty for a file refused unread (listed size over the limit).
        "sha256": pa.Column(pl.Utf8, checks=[pa.Check.str_matches(r"^([0-9a-f]{64})?$")]),
        "size": pa.Column(pl.Int64, checks=[pa.Check.ge(0)]),
        "uploader": pa.Column(pl.Utf8, nullable=True),
        "received_at": pa.Column(pl.Datetime("us", "UTC")),
        "processed_at": pa.Column(pl.Datetime("us", "UTC")),
        "status": pa.Column(pl.Utf8, checks=[pa.Check.isin(["accepted", "rejected", "duplicate"])]),
        "unit_code": pa.Column(pl.Utf8, nullable=True),
        "period": pa.Column(pl.Utf8, nullable=True),
        "report_version": pa.Column(pl.Int64, nullable=True),
        "submission_id": pa.Column(pl.Utf8, nullable=True),
        "n_errors": pa.Column(pl.Int64),
        "n_warnings": pa.Column(pl.Int64),
        "receipt_key": pa.Column(pl.Utf8),
        "archive_key": pa.Column(pl.Utf8, nullable=True),
        "flow_run_id": pa.Column(pl.Utf8, nullable=True),
        # 0 for the first judgement of an upload; a reprocess or a steward's
        # override appends the upload's next attempt, and readers take the newest.
        "attempt": pa.Column(pl.Int64, checks=[pa.Check.ge(0)]),
        "reprocess_reason": pa.Column(pl.Utf8, nullable=True),
        "override": pa.Column(
            pl.Utf8, checks=[pa.Check.isin(["reject", "accept_with_warnings"])], nullable=True
        ),
        "override_by": pa.Column(pl.Utf8, nullable=True),
        "override_reason": pa.Column(pl.Utf8, nullable=True),
        "override_at": pa.Column(pl.Datetime("us", "UTC"), nullable=True),
    },
    strict=True,
    name="ledger",
)


def repeated_hashes(frame: pl.LazyFrame, hashed: pl.Expr) -> pl.Series:
    """The values of ``hashed`` that more than one row of ``frame`` has (streamed).

    The first pass of an exact uniqueness test that holds 8 bytes per row, not the
    row: rows whose hash is their own are certainly unique, and only rows whose
    hash is in this (normally empty) series need comparing in full.
    """
    return (
        frame.select(hashed.alias("row_hash"))
        .group_by("row_hash")
        .len()
        .filter(pl.col("len") > 1)
        .collect(engine="streaming")["row_hash"]
    )


def unique_keys(columns: list[str], key_hash: pl.Expr | None = None) -> pa.Check:
    """No two rows share ``columns``: ``unique=`` without a hash table of every key.

    pandera's ``unique=`` hashes the whole key of each row; over a full roll-up
    (281,000 rows, eight key columns) that took ~45 MiB at the refresh's peak. An
    8-byte hash per key finds the candidates; only rows whose hash repeats (a real
    duplicate, or keys that merely collide) are compared exactly. ``key_hash``: the
    hash to use (a test forces collisions with it).
    """
    key = pl.struct(columns)
    hashed = key.hash() if key_hash is None else key_hash

    def check(data: PolarsData) -> pl.LazyFrame:
        repeated = repeated_hashes(data.lazyframe, hashed)
        if repeated.is_empty():
            return data.lazyframe.select(pl.repeat(True, pl.len()).alias("unique"))
        return data.lazyframe.select(~(hashed.is_in(repeated.implode()) & key.is_duplicated()))

    return pa.Check(check, name="unique_keys", error=f"duplicate rows for {columns}")


def rollup_schema(dimension_columns: tuple[str, ...]) -> pa.DataFrameSchema:
    """Figures per aggregating unit and period; ratios carry numerator and denominator."""
    return pa.DataFrameSchema(
        {
            "period": pa.Column(pl.Utf8, checks=[pa.Check.str_matches(PERIOD_PATTERN)]),
            "unit_code": pa.Column(pl.Utf8),
            "unit_level": pa.Column(pl.Utf8),
            "indicator": pa.Column(pl.Utf8),
            **{d: pa.Column(pl.Utf8, nullable=True) for d in dimension_columns},
            "value": pa.Column(pl.Float64, nullable=True),
            "numerator": pa.Column(pl.Float64, nullable=True),
            "denominator": pa.Column(pl.Float64, nullable=True),
            "hierarchy_version": pa.Column(pl.Utf8),
        },
        checks=[unique_keys(["period", "unit_code", "indicator", *dimension_columns])],
        strict=True,
        name="rollup",
    )


COMPLETENESS_SCHEMA = pa.DataFrameSchema(
    {
        "period": pa.Column(pl.Utf8, checks=[pa.Check.str_matches(PERIOD_PATTERN)]),
        "unit_code": pa.Column(pl.Utf8),
        "unit_level": pa.Column(pl.Utf8),
        "reporter_level": pa.Column(pl.Utf8),
        "expected": pa.Column(pl.Int64, checks=[pa.Check.ge(0)]),
        "received": pa.Column(pl.Int64, checks=[pa.Check.ge(0)]),
        "accepted": pa.Column(pl.Int64, checks=[pa.Check.ge(0)]),
        "rejected": pa.Column(pl.Int64, checks=[pa.Check.ge(0)]),
        "missing": pa.Column(pl.Int64, checks=[pa.Check.ge(0)]),
        "on_time": pa.Column(pl.Int64, checks=[pa.Check.ge(0)]),
        "late": pa.Column(pl.Int64, checks=[pa.Check.ge(0)]),
        "hierarchy_version": pa.Column(pl.Utf8),
    },
    checks=[
        pa.Check(
            lambda d: d.lazyframe.select(
                (pl.col("accepted") <= pl.col("expected"))
                & (pl.col("received") <= pl.col("expected"))
                & (pl.col("accepted") + pl.col("rejected") == pl.col("received"))
                & (pl.col("on_time") + pl.col("late") == pl.col("accepted"))
                & (pl.col("missing") == pl.col("expected") - pl.col("received"))
            ),
            name="completeness_adds_up",
        )
    ],
    strict=True,
    unique=["period", "unit_code", "reporter_level"],
    name="completeness",
)


def fact_columns(dimension_columns: tuple[str, ...]) -> list[str]:
    """The long fact table's columns, in order: one row per figure of a submission."""
    return ["submission_id", "unit_code", "period", "indicator", *dimension_columns, "value"]


def empty_facts(dimension_columns: tuple[str, ...]) -> pl.DataFrame:
    schema = {c: pl.Utf8 for c in fact_columns(dimension_columns)} | {"value": pl.Float64}
    return pl.DataFrame(schema=schema)


#: What each unit's roll-up rows were last computed from (see ``rollup/freshness.py``).
MARKS_SCHEMA: dict[str, pl.DataType] = {
    "period": pl.Utf8(),
    "unit_code": pl.Utf8(),
    "uploads": pl.Int64(),
    "refreshed_at": pl.Datetime("us", "UTC"),
}


def empty_marks() -> pl.DataFrame:
    return pl.DataFrame(schema=MARKS_SCHEMA)


#: The units dimension: one row per unit of each hierarchy version, so that the codes of
#: the facts, roll-up and completeness tables join to names (on ``unit_code`` and
#: ``hierarchy_version``). ``unit_level`` is the hierarchy level (province/district/
#: commune), as in the roll-up's ``unit_level`` and the completeness' ``reporter_level``;
#: a column named ``level`` only ever holds a model's level (CS/HUYEN/TINH, the
#: catalogue dimension). ``valid_to`` is null for the version in force.
UNITS_SCHEMA = pa.DataFrameSchema(
    {
        "hierarchy_version": pa.Column(pl.Utf8),
        "unit_code": pa.Column(pl.Utf8),
        "name": pa.Column(pl.Utf8),
        "unit_level": pa.Column(pl.Utf8),
        "division_type": pa.Column(pl.Utf8),
        "parent_code": pa.Column(pl.Utf8, nullable=True),
        "valid_from": pa.Column(pl.Date),
        "valid_to": pa.Column(pl.Date, nullable=True),
    },
    strict=True,
    unique=["hierarchy_version", "unit_code"],
    name="units",
)


#: The approvals table: append-only, one row per steward's action on a unit × period
#: (approve, accept, return, unapprove, not_expected); the current state is derived from
#: the rows (``dvkn_pipeline.rollup.approval``). An approval names the live submission it
#: vouched for (``submission_id`` and the upload's key, etag and report version), so the
#: "approved only" roll-up reads the facts of that submission, not of a later upload.
#: ``batch_id`` groups the rows of one bulk action; ``by_unit`` is the scope of the
#: account that acted (the unit its steward answers for).
APPROVALS_SCHEMA = pa.DataFrameSchema(
    {
        "approval_id": pa.Column(pl.Utf8, unique=True),
        "batch_id": pa.Column(pl.Utf8),
        "period": pa.Column(pl.Utf8, checks=[pa.Check.str_matches(PERIOD_PATTERN)]),
        "unit_code": pa.Column(pl.Utf8),
        "unit_level": pa.Column(pl.Utf8),
        "action": pa.Column(
            pl.Utf8,
            checks=[pa.Check.isin(["approve", "accept", "return", "unapprove", "not_expected"])],
        ),
        "by_name": pa.Column(pl.Utf8),
        "by_role": pa.Column(pl.Utf8),
        "by_unit": pa.Column(pl.Utf8),
        "at": pa.Column(pl.Datetime("us", "UTC")),
        "comment": pa.Column(pl.Utf8, nullable=True),
        "hierarchy_version": pa.Column(pl.Utf8),
        "submission_id": pa.Column(pl.Utf8, nullable=True),
        "upload_key": pa.Column(pl.Utf8, nullable=True),
        "upload_etag": pa.Column(pl.Utf8, nullable=True),
        "report_version": pa.Column(pl.Int64, nullable=True),
    },
    strict=True,
    name="approvals",
)


def empty_approvals() -> pl.DataFrame:
    return pl.DataFrame(schema={n: c.dtype.type for n, c in APPROVALS_SCHEMA.columns.items()})
