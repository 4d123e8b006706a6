"""The data files under schemas/ read as a person reads them (issue 11, point 1).

YAML cuts an unquoted text at a comma inside ``{...}``; the strict loader every
data file goes through refuses that, and the catalogue's models refuse a key
they do not know, so a label can never be silently cut or turned into a key.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

import schemas
from schemas.catalogue import CatalogueModel
from schemas.strict_yaml import StrictYamlError, load_strict, load_strict_file

SCHEMA_DIR = Path(schemas.__file__).parent
YAML_FILES = sorted(SCHEMA_DIR.rglob("*.yaml"))


@pytest.mark.parametrize("path", YAML_FILES, ids=[p.name for p in YAML_FILES])
def test_every_schema_yaml_reads_strictly(path: Path) -> None:
    load_strict_file(path)


def test_a_label_cut_at_a_comma_is_refused_naming_the_line() -> None:
    text = "values:\n  X: {vi: Không áp dụng (phường, thị trấn), en: N/A}\n"
    with pytest.raises(StrictYamlError, match="line 2"):
        load_strict(text)


def test_a_repeated_key_is_refused() -> None:
    with pytest.raises(StrictYamlError, match="repeated"):
        load_strict("a: 1\na: 2\n")


def test_the_catalogue_refuses_a_key_it_does_not_know() -> None:
    raw = load_strict_file(SCHEMA_DIR / "catalogue.yaml")
    raw["dimensions"]["level"]["values"]["TINH"]["thành phố"] = None
    with pytest.raises(ValidationError):
        CatalogueModel.model_validate(raw)


def test_every_label_with_a_comma_is_whole() -> None:
    from dvkn_pipeline.reference.catalogue import load_catalogue

    dims = load_catalogue().model.dimensions
    assert dims["ntm_standard"].values["KHONG_AP_DUNG"].vi == "Không áp dụng (phường, thị trấn)"
    assert dims["level"].values["TINH"].vi == "Cấp tỉnh, thành phố"
