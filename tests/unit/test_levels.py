"""One table of levels: every word it lists means the same level on every path that takes one."""

from datetime import datetime
from pathlib import Path

import polars as pl
import pytest

from dvkn_pipeline.judging.facts import empty_facts
from dvkn_pipeline.reference.catalogue import load_catalogue
from dvkn_pipeline.reference.hierarchy import COUNTRY_LEVEL, load_hierarchies
from dvkn_pipeline.reference.levels import (
    LevelError,
    canonical_level,
    level_word_key,
    load_levels,
)
from dvkn_pipeline.reference.periods import Period
from dvkn_pipeline.rollup.compare import compare_periods
from dvkn_pipeline.rollup.spatial import rollup
from dvkn_pipeline.views.export import ExportError, export_csv
from dvkn_pipeline.views.status import StatusError, level_name
from dvkn_pipeline.views.summaries import figures

CAT = load_catalogue()
LEVELS = load_levels()
CATALOG = load_hierarchies()
Q1 = Period.parse("2025-Q1")
M02 = Period.parse("2025-M02")
HANOI = CATALOG.for_date(Q1.reference_date).scope("01")
EMPTY_ROLLUP = rollup(empty_facts(CAT), HANOI, CAT, Q1)

#: Every (word, level) pair the table accepts, for the hierarchy's own levels.
WORDS = [
    (word, lv.name)
    for lv in LEVELS.levels
    if lv.name in ("province", "district", "commune")
    for word in lv.words
]
#: The words that worked on at least one path before there was one table.
HISTORICAL = {
    "city": "province",
    "tinh": "province",
    "tỉnh": "province",
    "thanh-pho": "province",
    "huyen": "district",
    "huyện": "district",
    "quan": "district",
    "xa": "commune",
    "xã": "commune",
    "phuong": "commune",
}


def test_the_words_that_worked_somewhere_before_work_everywhere_now() -> None:
    for word, name in HISTORICAL.items():
        assert canonical_level(word) == name


def test_the_hierarchys_level_ids_are_in_the_table() -> None:
    for info in CATALOG.infos:
        for lvl in CATALOG.version(info.id).levels:
            assert canonical_level(lvl) == lvl
    assert canonical_level(COUNTRY_LEVEL) == COUNTRY_LEVEL


def test_the_catalogues_model_levels_are_keyed_by_level_ids() -> None:
    assert set(CAT.model.model_level_of_reporter) <= set(LEVELS.names)


@pytest.mark.parametrize(
    "typed", ["HUYEN", " Huyện ", "huye\u0302\u0323n", "Thành phố", "thanh_pho"]
)
def test_case_spaces_and_nfd_do_not_matter(typed: str) -> None:
    assert canonical_level(typed) in {"district", "province"}
    assert level_word_key("Thành  phố") == "thành-phố"


def test_an_unknown_word_is_answered_with_every_accepted_word() -> None:
    with pytest.raises(LevelError) as info:
        canonical_level("thon")
    for lv in LEVELS.levels:
        for w in lv.words:
            assert w in str(info.value)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(("word", "name"), WORDS)
def test_status_accepts_every_word(word: str, name: str) -> None:
    assert level_name(word, HANOI) == name


@pytest.mark.parametrize(("word", "name"), WORDS)
def test_export_accepts_every_word(word: str, name: str) -> None:
    out = export_csv(EMPTY_ROLLUP, HANOI, CAT, Q1, word)
    codes = {u.code for u in HANOI.units_at(name)}
    lines = out.decode("utf-8-sig").splitlines()[1:]
    assert codes <= {line.split(",")[0] for line in lines}  # and the total row


@pytest.mark.parametrize(("word", "name"), WORDS)
def test_summaries_accept_every_word(word: str, name: str) -> None:
    payload = figures(EMPTY_ROLLUP, pl.DataFrame(), HANOI, Q1, word, None, "01")
    assert payload["level"] == name
    assert len(payload["units"]) == len(HANOI.units_at(name))


class _Reader:
    def read_rollup(self, period: str, as_of: datetime | None = None) -> pl.DataFrame:
        return EMPTY_ROLLUP


@pytest.mark.parametrize(("word", "name"), WORDS)
def test_compare_accepts_every_word(word: str, name: str) -> None:
    result = compare_periods(_Reader(), CATALOG, M02, Q1, CAT, level=word, root_unit="01")
    assert result.level == name


def test_every_path_refuses_an_unknown_word_the_same_way() -> None:
    with pytest.raises(StatusError, match="accepted words"):
        level_name("thon", HANOI)
    with pytest.raises(ExportError, match="accepted words"):
        export_csv(EMPTY_ROLLUP, HANOI, CAT, Q1, "thon")
    with pytest.raises(LevelError, match="accepted words"):
        figures(EMPTY_ROLLUP, pl.DataFrame(), HANOI, Q1, "thon", None, "01")
    with pytest.raises(LevelError, match="accepted words"):
        compare_periods(_Reader(), CATALOG, M02, Q1, CAT, level="thon", root_unit="01")


def test_a_word_given_to_two_levels_is_refused_at_load(tmp_path: Path) -> None:
    path = tmp_path / "levels.yaml"
    path.write_text(
        "levels:\n"
        "  - {name: a, vi: A, en: A, vi_counted: a, en_counted: as, words: [a, x]}\n"
        "  - {name: b, vi: B, en: B, vi_counted: b, en_counted: bs, words: [b, X]}\n",
        encoding="utf-8",
    )
    with pytest.raises(LevelError, match="names both"):
        load_levels(path)
