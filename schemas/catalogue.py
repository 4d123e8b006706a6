"""The shape of the indicator catalogue (``catalogue.yaml``).

Validated with pydantic when loaded so that a typo in the catalogue fails at
start-up with the field named, not in the middle of a deadline burst.
"""

from __future__ import annotations

from enum import StrEnum
from functools import cached_property
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

#: The breakdown that is the reporting unit's own level, never typed in a file.
REPORTER_DIMENSION = "level"


class Aggregation(StrEnum):
    SUM = "sum"
    COUNT_BY_CATEGORY = "count_by_category"
    RATIO = "ratio"


class Temporal(StrEnum):
    """How a figure rolls up in time (months to a quarter, quarters to a year).

    ``sum`` for flows (models registered, money mobilized in the period);
    ``last`` for stocks and statuses (households, a commune's new-rural
    standard), which describe the state at the end of the period: summing
    three months of them would count each household three times.
    """

    SUM = "sum"
    LAST = "last"


class BlankPolicy(StrEnum):
    """What an empty input cell of an indicator means.

    ``reject``: the clerk forgot it; the file is rejected with one grouped
    problem per sheet listing the cells ("ghi 0 nếu không có"). ``not_reported``:
    the figure may honestly be unknown; the file is accepted, the cell is left
    out of the data (never read as 0) and the receipt lists it as a warning.
    """

    REJECT = "reject"
    NOT_REPORTED = "not_reported"


class ValueType(StrEnum):
    INTEGER = "integer"
    DECIMAL = "decimal"
    CATEGORY = "category"


class Label(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    vi: str
    en: str


class Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    vi: str
    en: str
    sheet: str = Field(max_length=31, pattern=r"^[^\[\]:*?/\\]+$")


class Dimension(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    vi: str
    en: str
    values: dict[str, Label]


class Indicator(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    code: str = Field(pattern=r"^[A-Z][A-Z0-9_]*$")
    section: str
    vi: str
    en: str
    unit: Label
    value_type: ValueType
    aggregation: Aggregation
    dimensions: tuple[str, ...] = ()
    reported_by: tuple[str, ...] = ()
    category_dimension: str | None = None
    numerator: str | None = None
    denominator: str | None = None
    scale: float = 1.0
    #: Unset: ``last`` for count_by_category, ``sum`` for sums; a ratio takes none
    #: (it is re-divided from its numerator and denominator, each with its own rule).
    temporal: Temporal | None = None
    #: Set: a headline figure, shown as a column when a roll-up is printed one line
    #: per unit (and checked first in rehearsals); the label is its short heading.
    headline: Label | None = None
    #: An empty input cell: reject the file (default) or accept it as not reported.
    blank: BlankPolicy = BlankPolicy.REJECT

    @model_validator(mode="after")
    def _kind_fields_agree(self) -> Self:
        if self.aggregation is Aggregation.RATIO:
            if not (self.numerator and self.denominator):
                raise ValueError(f"{self.code}: a ratio needs numerator and denominator")
            if self.reported_by:
                raise ValueError(f"{self.code}: a ratio is derived, nobody reports it")
        if (self.aggregation is Aggregation.COUNT_BY_CATEGORY) != (
            self.value_type is ValueType.CATEGORY
        ):
            raise ValueError(f"{self.code}: count_by_category goes with value_type category")
        if self.aggregation is Aggregation.COUNT_BY_CATEGORY and not self.category_dimension:
            raise ValueError(f"{self.code}: count_by_category needs category_dimension")
        if self.aggregation is Aggregation.RATIO and self.temporal is not None:
            raise ValueError(f"{self.code}: a ratio takes the temporal rule of its parts")
        if self.aggregation is Aggregation.COUNT_BY_CATEGORY and self.temporal is Temporal.SUM:
            raise ValueError(f"{self.code}: a status cannot be summed over time")
        if self.headline is not None and self.aggregation is Aggregation.COUNT_BY_CATEGORY:
            raise ValueError(f"{self.code}: a status has no single value to head a column")
        return self

    @property
    def temporal_rule(self) -> Temporal | None:
        """The rule in force (the default of the aggregation when unset); None for a ratio."""
        if self.aggregation is Aggregation.RATIO:
            return None
        if self.temporal is not None:
            return self.temporal
        return Temporal.LAST if self.aggregation is Aggregation.COUNT_BY_CATEGORY else Temporal.SUM

    @cached_property
    def reported_dimensions(self) -> tuple[str, ...]:
        """Dimensions a file gives; ``level`` comes from the reporting unit instead.

        Cached (the model is frozen): judging asks it for every row of every file.
        """
        return tuple(d for d in self.dimensions if d != REPORTER_DIMENSION)


class CatalogueModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    version: str
    dimensions: dict[str, Dimension]
    reporter_dimension: str = "level"
    model_level_of_reporter: dict[str, str]
    indicators: tuple[Indicator, ...]
    sections: dict[str, Section]

    @model_validator(mode="after")
    def _references_resolve(self) -> Self:
        if self.reporter_dimension != REPORTER_DIMENSION:
            raise ValueError(f"reporter_dimension must be {REPORTER_DIMENSION!r}")
        codes = {i.code for i in self.indicators}
        if len(codes) != len(self.indicators):
            raise ValueError("indicator codes must be unique")
        for ind in self.indicators:
            if ind.section not in self.sections:
                raise ValueError(f"{ind.code}: unknown section {ind.section!r}")
            for dim in (*ind.dimensions, *filter(None, [ind.category_dimension])):
                if dim not in self.dimensions:
                    raise ValueError(f"{ind.code}: unknown dimension {dim!r}")
            for ref in filter(None, [ind.numerator, ind.denominator]):
                if ref not in codes:
                    raise ValueError(f"{ind.code}: unknown indicator {ref!r}")
        by_code = {i.code: i for i in self.indicators}
        for ind in self.indicators:
            if ind.numerator and ind.denominator:
                rules = {
                    by_code[ind.numerator].temporal_rule,
                    by_code[ind.denominator].temporal_rule,
                }
                if len(rules) > 1:
                    raise ValueError(
                        f"{ind.code}: numerator and denominator roll up differently in time"
                    )
        return self
