from dvkn_pipeline.reference.catalogue import load_catalogue
from schemas.catalogue import Aggregation

CAT = load_catalogue()


def test_catalogue_covers_the_figures_named_in_the_domain() -> None:
    wanted = {
        "MH_DANG_KY",  # models registered
        "MH_CONG_NHAN",  # recognized (collective / individual)
        "MH_NHAN_RONG",  # replicated
        "TIEN_VAN_DONG",  # money mobilized, VND
        "DAT_HIEN",  # land donated, m²
        "NGAY_CONG",  # working days
        "QUA_TANG",  # gifts
        "HOI_NGHI_DOI_THOAI",  # dialogue conferences
        "Y_KIEN_TIEP_NHAN",  # opinions received
        "Y_KIEN_GIAI_QUYET",  # opinions resolved
        "NTM_MUC_DAT",  # new-rural standard of the commune
        "GD_VAN_HOA_DAT",  # cultural families: numerator
        "GD_TONG_SO",  # cultural families: denominator
        "TL_GD_VAN_HOA",  # the ratio itself
    }
    assert wanted <= set(CAT.by_code)


def test_models_are_broken_down_by_field_level_and_holder() -> None:
    assert CAT.indicator("MH_CONG_NHAN").dimensions == ("field", "level", "holder")
    assert set(CAT.allowed_values("field")) == {"KT", "VHXH", "QPAN", "XDHTCT"}
    assert set(CAT.allowed_values("holder")) == {"TT", "CN"}


def test_each_aggregation_kind_is_present_and_consistent() -> None:
    kinds = {i.aggregation for i in CAT.indicators}
    assert kinds == set(Aggregation)
    ratio = CAT.indicator("TL_GD_VAN_HOA")
    assert CAT.indicator(ratio.numerator or "").aggregation is Aggregation.SUM
    assert CAT.indicator(ratio.denominator or "").aggregation is Aggregation.SUM
    assert ratio not in CAT.reported


def test_every_indicator_is_named_in_vietnamese_and_english_with_a_unit() -> None:
    for ind in CAT.indicators:
        assert ind.vi and ind.en and ind.unit.vi and ind.unit.en


def test_files_never_carry_the_reporting_level_column() -> None:
    assert "level" in CAT.dimension_columns
    assert "level" not in CAT.file_dimension_columns


def test_communes_report_the_new_rural_standard_but_districts_do_not() -> None:
    assert "NTM_MUC_DAT" in {i.code for i in CAT.reported_by("commune")}
    assert "NTM_MUC_DAT" not in {i.code for i in CAT.reported_by("district")}


def test_headline_figures_are_the_ones_the_roll_up_table_and_rehearsal_show() -> None:
    headline = CAT.headline
    assert [i.code for i in headline] == [
        "MH_DANG_KY",
        "MH_CONG_NHAN",
        "MH_NHAN_RONG",
        "TIEN_VAN_DONG",
        "Y_KIEN_TIEP_NHAN",
    ]
    assert [i.headline.en for i in headline if i.headline] == [
        "models reg.",
        "recognized",
        "replicated",
        "money (VND)",
        "opinions",
    ]
    assert all(i.headline and i.headline.vi for i in headline)


def test_a_status_cannot_be_a_headline_column() -> None:
    import pytest
    from pydantic import ValidationError

    from schemas.catalogue import Indicator

    with pytest.raises(ValidationError, match="no single value"):
        Indicator.model_validate(
            {
                "code": "X",
                "section": "s",
                "vi": "x",
                "en": "x",
                "unit": {"vi": "x", "en": "x"},
                "value_type": "category",
                "aggregation": "count_by_category",
                "category_dimension": "d",
                "headline": {"vi": "x", "en": "x"},
            }
        )
