"""The shipped administrative hierarchy and the pure module that reads it."""

from __future__ import annotations

import unicodedata
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dvkn_pipeline.reference.hierarchy import (
    COUNTRY,
    Hierarchy,
    HierarchyCatalog,
    HierarchyDataError,
    NoHierarchyError,
    Unit,
    load_hierarchies,
    normalize_name,
)

HANOI = "01"
THREE = "vn-3level-2025-01"
TWO = "vn-2level-2025-07"


@pytest.fixture(scope="module")
def catalog() -> HierarchyCatalog:
    return load_hierarchies()


@pytest.fixture(scope="module")
def three(catalog: HierarchyCatalog) -> Hierarchy:
    return catalog.version(THREE)


@pytest.fixture(scope="module")
def two(catalog: HierarchyCatalog) -> Hierarchy:
    return catalog.version(TWO)


@pytest.fixture(scope="module")
def hanoi(three: Hierarchy) -> Hierarchy:
    return three.subtree(HANOI)


# -- the shipped data -------------------------------------------------------------


def test_three_level_version_has_the_whole_country(three: Hierarchy) -> None:
    assert three.levels == ("province", "district", "commune")
    assert [len(three.units_at(lvl)) for lvl in three.levels] == [63, 696, 10_051]


def test_hanoi_three_level_has_30_districts_and_526_communes(three: Hierarchy) -> None:
    assert three.unit(HANOI).name == "Thành phố Hà Nội"
    assert len(three.children(HANOI)) == 30
    assert len(three.descendants(HANOI, level="commune")) == 526


def test_two_level_version_has_34_provinces_and_hanoi_126_communes(two: Hierarchy) -> None:
    assert two.levels == ("province", "commune")
    assert len(two.units_at("province")) == 34
    assert len(two.units_at("commune")) == 3_321
    assert len(two.children(HANOI)) == 126
    assert all(u.level == "commune" for u in two.children(HANOI))


def test_codes_are_zero_padded_strings_by_level(three: Hierarchy, two: Hierarchy) -> None:
    width = {"province": 2, "district": 3, "commune": 5}
    for h in (three, two):
        for u in h:
            assert len(u.code) == width[u.level], u
            assert u.code.isdigit(), u
    assert three.unit("00001").parent_code == "001"


def test_names_are_nfc_and_division_types_are_the_vietnamese_words(
    three: Hierarchy, two: Hierarchy
) -> None:
    for h in (three, two):
        assert all(unicodedata.is_normalized("NFC", u.name) for u in h)
    assert {u.division_type for u in three.units_at("province")} == {
        "tỉnh",
        "thành phố trung ương",
    }
    assert {u.division_type for u in three.units_at("district")} == {
        "quận",
        "huyện",
        "thị xã",
        "thành phố",
    }
    assert {u.division_type for u in three.units_at("commune")} == {"xã", "phường", "thị trấn"}
    assert {u.division_type for u in two.units_at("commune")} == {"xã", "phường", "đặc khu"}
    assert three.unit(HANOI).division_type == "thành phố trung ương"


def test_only_provinces_lack_a_parent(three: Hierarchy) -> None:
    assert {u.level for u in three if u.parent_code is None} == {"province"}


def test_level_labels_are_bilingual(catalog: HierarchyCatalog) -> None:
    assert catalog.level_labels["province"]["vi"] == "Tỉnh/Thành phố"
    assert catalog.level_labels["district"]["en"] == "District"
    assert catalog.level_labels["commune"]["vi"] == "Xã/Phường/Thị trấn"


# -- versions by date ---------------------------------------------------------------


def test_for_date_picks_three_levels_on_the_last_day_before_the_reform(
    catalog: HierarchyCatalog,
) -> None:
    assert catalog.for_date(date(2025, 6, 30)).version_id == THREE
    assert catalog.for_date(date(2025, 1, 1)).version_id == THREE


def test_for_date_picks_two_levels_from_the_reform_on(catalog: HierarchyCatalog) -> None:
    assert catalog.for_date(date(2025, 7, 1)).version_id == TWO
    assert catalog.for_date(date(2030, 1, 1)).version_id == TWO


def test_for_date_before_the_first_version_raises_no_hierarchy_error(
    catalog: HierarchyCatalog,
) -> None:
    with pytest.raises(NoHierarchyError, match="2024-12-31"):
        catalog.for_date(date(2024, 12, 31))


def test_unknown_version_id_raises_no_hierarchy_error(catalog: HierarchyCatalog) -> None:
    with pytest.raises(NoHierarchyError, match="vn-1999"):
        catalog.version("vn-1999")


def test_catalog_lists_versions_oldest_first_with_their_validity(
    catalog: HierarchyCatalog,
) -> None:
    versions = catalog.versions
    assert [v.version_id for v in versions] == [THREE, TWO]
    assert (versions[0].valid_from, versions[0].valid_to) == (date(2025, 1, 1), date(2025, 6, 30))
    assert (versions[1].valid_from, versions[1].valid_to) == (date(2025, 7, 1), None)


def test_default_catalog_is_cached_and_versions_are_read_once() -> None:
    assert load_hierarchies() is load_hierarchies()
    assert load_hierarchies().version(TWO) is load_hierarchies().version(TWO)


# -- navigation --------------------------------------------------------------------


def test_unknown_code_raises_key_error_naming_the_version(three: Hierarchy) -> None:
    with pytest.raises(KeyError, match=THREE):
        three.unit("99999")
    assert three.get("99999") is None
    assert "99999" not in three
    assert "00001" in three
    assert 1 not in three


def test_ancestors_go_parent_first_up_to_the_province(three: Hierarchy) -> None:
    assert [u.code for u in three.ancestors("00001")] == ["001", HANOI]
    assert three.ancestors(HANOI) == []


def test_every_child_names_its_parent_and_has_it_as_first_ancestor(hanoi: Hierarchy) -> None:
    for unit in hanoi:
        for child in hanoi.children(unit.code):
            assert child.parent_code == unit.code
            assert hanoi.ancestors(child.code)[0] == unit


def test_descendants_are_the_units_that_have_the_root_as_ancestor(three: Hierarchy) -> None:
    below = {u.code for u in three.descendants(HANOI)}
    expected = {u.code for u in three if HANOI in {a.code for a in three.ancestors(u.code)}}
    assert below == expected
    assert len(below) == 30 + 526


def test_subtree_keeps_the_root_and_its_descendants_only(
    three: Hierarchy, hanoi: Hierarchy
) -> None:
    assert len(hanoi) == 1 + 30 + 526
    assert hanoi.unit(HANOI).parent_code is None
    assert {u.code for u in hanoi} == {HANOI} | {u.code for u in three.descendants(HANOI)}
    assert "02" not in hanoi
    assert "00001" not in three.subtree("79")
    assert hanoi.version_id == three.version_id
    assert hanoi.levels == three.levels


def test_subtree_of_a_district_starts_at_the_district_level(three: Hierarchy) -> None:
    ba_dinh = three.subtree("001")
    assert ba_dinh.levels == ("district", "commune")
    assert ba_dinh.ancestors("00001") == [ba_dinh.unit("001")]
    assert len(ba_dinh.units_at("commune")) == len(three.children("001"))


def test_level_below_follows_the_versions_levels(three: Hierarchy, two: Hierarchy) -> None:
    assert three.level_below("province") == "district"
    assert three.level_below("commune") is None
    assert two.level_below("province") == "commune"
    with pytest.raises(ValueError, match="district"):
        two.level_below("district")


# -- frames ------------------------------------------------------------------------


def test_hanoi_closure_has_one_self_row_per_unit(hanoi: Hierarchy) -> None:
    closure = hanoi.closure_frame()
    assert closure.columns == ["unit_code", "ancestor_code", "ancestor_level", "depth"]
    self_rows = closure.filter(pl.col("depth") == 0)
    assert self_rows.height == 1 + 30 + 526
    assert (self_rows["unit_code"] == self_rows["ancestor_code"]).all()


def test_every_hanoi_commune_has_self_district_and_city_closure_rows(
    hanoi: Hierarchy,
) -> None:
    closure = hanoi.closure_frame()
    communes = {u.code for u in hanoi.units_at("commune")}
    rows = closure.filter(pl.col("unit_code").is_in(list(communes)))
    per_commune = rows.group_by("unit_code").agg(
        pl.len().alias("n"), pl.col("ancestor_level").sort().alias("levels")
    )
    assert per_commune.height == 526
    assert set(per_commune["n"]) == {3}
    assert {tuple(x) for x in per_commune["levels"]} == {("commune", "district", "province")}
    assert rows.filter(pl.col("depth") == 2)["ancestor_code"].unique().to_list() == [HANOI]


def test_closure_agrees_with_ancestors(hanoi: Hierarchy) -> None:
    closure = hanoi.closure_frame()
    got = {(r[0], r[1], r[3]) for r in closure.iter_rows()}
    want = {(u.code, u.code, 0) for u in hanoi} | {
        (u.code, a.code, depth)
        for u in hanoi
        for depth, a in enumerate(hanoi.ancestors(u.code), start=1)
    }
    assert got == want


def test_closure_works_for_two_levels(two: Hierarchy) -> None:
    closure = two.subtree(HANOI).closure_frame()
    assert closure.height == 1 + 126 * 2
    assert closure["depth"].max() == 1


def test_closure_works_for_any_number_of_levels() -> None:
    levels = ("nation", "region", "province", "district", "commune")
    units = [Unit("VN", "Việt Nam", "nation", "quốc gia", None)]
    parent = "VN"
    for i, lvl in enumerate(levels[1:], start=1):
        units.append(Unit(f"u{i}", f"Đơn vị {i}", lvl, lvl, parent))
        parent = f"u{i}"
    h = Hierarchy("deep", date(2000, 1, 1), None, levels, units)
    closure = h.closure_frame().filter(pl.col("unit_code") == "u4").sort("depth")
    assert closure["ancestor_code"].to_list() == ["u4", "u3", "u2", "u1", "VN"]
    assert closure["ancestor_level"].to_list() == list(reversed(levels))


def test_units_frame_has_string_codes_and_null_parent_at_the_root(hanoi: Hierarchy) -> None:
    frame = hanoi.units_frame()
    assert frame.columns == ["unit_code", "name", "level", "division_type", "parent_code"]
    assert frame.schema["unit_code"] == pl.String
    assert frame.height == 557
    root = frame.filter(pl.col("unit_code") == HANOI)
    assert root["parent_code"].to_list() == [None]


def test_a_unit_whose_parent_is_missing_is_refused() -> None:
    with pytest.raises(HierarchyDataError, match="missing"):
        Hierarchy(
            "bad",
            date(2025, 1, 1),
            None,
            ("province", "commune"),
            [Unit("00001", "Xã A", "commune", "xã", "01")],
        )


def test_overlapping_versions_are_refused(tmp_path: Path) -> None:
    (tmp_path / "versions.yaml").write_text(
        "versions:\n"
        "  - {id: a, valid_from: 2025-01-01, valid_to: 2025-07-31, levels: [p], file: a.csv}\n"
        "  - {id: b, valid_from: 2025-07-01, valid_to: null, levels: [p], file: b.csv}\n",
        encoding="utf-8",
    )
    with pytest.raises(HierarchyDataError, match="overlap"):
        load_hierarchies(tmp_path)


# -- names --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "official"),
    [
        ("Hoá", "Hóa"),
        ("Thuỷ", "Thủy"),
        ("Hoà", "Hòa"),
        ("Khoẻ", "Khỏe"),
        ("uý", "úy"),
        ("Quỳ", "Qùy"),
        ("Thanh Hoá", "Thanh Hóa"),
        ("Xã Hòa Bình", "Hoà Bình"),
    ],
)
def test_normalize_name_folds_old_and_new_tone_placement(typed: str, official: str) -> None:
    assert normalize_name(typed) == normalize_name(official)


def test_normalize_name_leaves_syllables_with_one_placement_alone() -> None:
    assert normalize_name("Hoàn Kiếm") == "hoàn kiếm"
    assert normalize_name("Huỳnh") == "huỳnh"
    assert normalize_name("Ngoài") == "ngoài"


def test_normalize_name_equates_nfc_and_nfd() -> None:
    name = "Phường Thuỷ Xuân"
    nfd = unicodedata.normalize("NFD", name)
    assert nfd != name
    assert normalize_name(nfd) == normalize_name(name)


@pytest.mark.parametrize(
    "typed",
    [
        "Xã Hà Đông",
        "xã  hà   đông",
        "PHƯỜNG HÀ ĐÔNG",
        "Thị trấn Hà Đông",
        "Quận Hà Đông",
        "Huyện Hà Đông",
        "Thị xã Hà Đông",
        "Thành phố Hà Đông",
        "Tỉnh Hà Đông",
        "TP. Hà Đông",
        " Hà\u00a0Đông\u200b ",
    ],
)
def test_normalize_name_drops_case_spaces_and_the_type_word(typed: str) -> None:
    assert normalize_name(typed) == "hà đông"


def test_normalize_name_keeps_diacritics_that_tell_places_apart() -> None:
    assert normalize_name("Hà") != normalize_name("Hạ")
    assert normalize_name("Hoàn") != normalize_name("Hoán")
    assert normalize_name("Xã Hà Hòa") != normalize_name("Xã Hạ Hòa")
    assert normalize_name("Hà Nội") != normalize_name("Ha Noi")


def test_normalize_name_matches_a_ward_whose_name_repeats_its_type_word() -> None:
    assert normalize_name("Phường Phường Đúc") == normalize_name("Phường Đúc")


def test_find_by_name_matches_the_way_staff_type_it(three: Hierarchy, two: Hierarchy) -> None:
    assert [u.code for u in three.find_by_name("tỉnh thanh hoá", level="province")] == ["38"]
    assert [u.code for u in two.find_by_name("Khánh Hoà", level="province")] == ["56"]
    typed = unicodedata.normalize("NFD", "phường phúc xá")
    assert [u.code for u in three.find_by_name(typed, parent_code="001")] == ["00001"]
    assert [u.code for u in three.subtree(HANOI).find_by_name("PHÚC XÁ")] == ["00001"]


def test_find_by_name_narrows_an_ambiguous_name_by_parent(three: Hierarchy) -> None:
    many = three.find_by_name("Phường 1", level="commune")
    assert len(many) > 10
    parent = many[0].parent_code
    assert parent is not None
    assert three.find_by_name("Phường 1", parent_code=parent) == [many[0]]


_VIETNAMESE = "aăâbcdđeêghiklmnoôơpqrstuưvxy AĂÂĐEÊOÔƠƯY \u0300\u0301\u0303\u0309\u0323"
_names = st.one_of(
    st.text(alphabet=_VIETNAMESE, max_size=30),
    st.text(max_size=30),
    st.sampled_from(["Xã ", "Phường ", "Thị trấn ", "TP. ", "tx "]).flatmap(
        lambda p: st.text(alphabet=_VIETNAMESE, max_size=20).map(lambda s: p + s)
    ),
)


@given(_names)
def test_normalize_name_is_idempotent(text: str) -> None:
    once = normalize_name(text)
    assert normalize_name(once) == once


@given(_names)
def test_normalize_name_gives_nfc_and_nfd_the_same_key(text: str) -> None:
    nfc = unicodedata.normalize("NFC", text)
    nfd = unicodedata.normalize("NFD", text)
    assert normalize_name(nfd) == normalize_name(nfc)
    assert unicodedata.is_normalized("NFC", normalize_name(text))


def test_an_installation_scope_is_built_once_and_matches_a_fresh_build(two: Hierarchy) -> None:
    country = two.scope(COUNTRY)
    assert two.scope(COUNTRY) is country  # every refresh asks; one tree serves them all
    fresh = two._build_scope(COUNTRY)
    assert list(country) == list(fresh)
    assert country.levels == fresh.levels
    province = two.scope(HANOI)
    assert province is two.scope(HANOI) and province is not country
    assert list(province) == list(two.subtree(HANOI))
