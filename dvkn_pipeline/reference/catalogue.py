"""Load the indicator catalogue and answer the questions the pipeline asks of it."""

from __future__ import annotations

from functools import cached_property, lru_cache
from pathlib import Path

import schemas
from schemas.catalogue import Aggregation, CatalogueModel, Indicator
from schemas.strict_yaml import load_strict_file

DEFAULT_PATH = Path(schemas.__file__).parent / "catalogue.yaml"

#: The fact table's column for the category of a count_by_category indicator.
CATEGORY_COLUMN = "category"


class Catalogue:
    """Read-only view over :class:`CatalogueModel` with the lookups code needs."""

    def __init__(self, model: CatalogueModel) -> None:
        self.model = model
        self.by_code: dict[str, Indicator] = {i.code: i for i in model.indicators}

    @property
    def version(self) -> str:
        return self.model.version

    @property
    def indicators(self) -> tuple[Indicator, ...]:
        return self.model.indicators

    def indicator(self, code: str) -> Indicator:
        return self.by_code[code]

    @cached_property
    def reported(self) -> tuple[Indicator, ...]:
        """Indicators that appear in files (ratios are derived, never reported)."""
        return tuple(i for i in self.indicators if i.aggregation is not Aggregation.RATIO)

    @cached_property
    def headline(self) -> tuple[Indicator, ...]:
        """The few figures a one-line-per-unit view shows, in catalogue order.

        Data, not a list in each view, so a new headline figure is a catalogue
        change and every table, rehearsal and default agrees on it.
        """
        return tuple(i for i in self.indicators if i.headline is not None)

    @cached_property
    def ratios(self) -> tuple[Indicator, ...]:
        return tuple(i for i in self.indicators if i.aggregation is Aggregation.RATIO)

    @cached_property
    def dimension_columns(self) -> tuple[str, ...]:
        """Breakdown columns of the fact table, in catalogue order, then ``category``.

        Dimensions used only to hold a categorical value go into the single
        ``category`` column so the fact table's shape does not change when a
        categorical indicator is added.
        """
        category_dims = {i.category_dimension for i in self.indicators if i.category_dimension}
        dims = [d for d in self.model.dimensions if d not in category_dims]
        return (*dims, CATEGORY_COLUMN)

    @cached_property
    def file_dimension_columns(self) -> tuple[str, ...]:
        """Breakdown columns a report file has (the reporter's level is not one)."""
        return tuple(d for d in self.dimension_columns if d != self.model.reporter_dimension)

    def reported_by(self, level: str) -> tuple[Indicator, ...]:
        return tuple(i for i in self.reported if level in i.reported_by)

    def model_level_for(self, reporter_level: str) -> str | None:
        return self.model.model_level_of_reporter.get(reporter_level)

    def allowed_values(self, dimension: str) -> frozenset[str]:
        return frozenset(self.model.dimensions[dimension].values)

    def label(self, code: str) -> str:
        """Bilingual label for printing: ``Vietnamese / English``."""
        ind = self.by_code[code]
        return f"{ind.vi} / {ind.en}"


def load_catalogue(path: Path | None = None) -> Catalogue:
    return _load(path or DEFAULT_PATH)


@lru_cache(maxsize=8)
def _load(path: Path) -> Catalogue:
    # Strict: a label cut at a comma (or turned into a key) fails here, by line.
    raw = load_strict_file(path)
    return Catalogue(CatalogueModel.model_validate(raw))
