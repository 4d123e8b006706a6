"""The contact list is data: read by unit code, a bad row refused with its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from dvkn_pipeline.reference.hierarchy import load_hierarchies
from schemas.contacts import SAMPLE_PATH, ContactError, load_contacts, read_contacts


def test_the_sample_covers_every_hanoi_commune_and_says_it_is_made_up() -> None:
    contacts = read_contacts(SAMPLE_PATH)
    for h in load_hierarchies().versions:
        for unit in h.subtree("01").units_at("commune"):
            assert contacts[unit.code].sample and contacts[unit.code].phone


def test_a_bad_row_is_refused_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text(
        "unit_code,person,phone\n00004,Nguyễn Văn An,0900 000 001\n00007,Lê Thị Bình,call me\n",
        encoding="utf-8",
    )
    with pytest.raises(ContactError, match="line 3"):
        read_contacts(path)


def test_a_file_without_the_unit_column_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text("ma,person\n00004,An\n", encoding="utf-8")
    with pytest.raises(ContactError, match="unit_code"):
        read_contacts(path)


def test_no_file_means_no_contacts() -> None:
    assert load_contacts(None) == {}
