"""One messages file: complete in both languages, and exactly the keys the code names."""

import re
import string
from pathlib import Path
from typing import get_args

import pytest

import dvkn_pipeline
from dvkn_pipeline.judging.refusals import refusal
from dvkn_pipeline.reference.messages import MESSAGE_KEYS, Both, load_messages, render
from schemas.messages import MessageKey

MESSAGES = load_messages()
CODE = "\n".join(
    p.read_text(encoding="utf-8") for p in Path(dvkn_pipeline.__file__).parent.rglob("*.py")
)


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_the_file_and_the_key_type_list_the_same_keys() -> None:
    assert list(MESSAGES) == list(get_args(MessageKey)) == list(MESSAGE_KEYS)


@pytest.mark.parametrize("key", MESSAGE_KEYS)
def test_every_message_speaks_both_languages_with_the_same_fields(key: str) -> None:
    msg = MESSAGES[key]
    assert msg.vi.strip() and msg.en.strip()
    assert fields(msg.vi) == fields(msg.en), key
    assert (msg.hint_vi is None) == (msg.hint_en is None)
    # A cross-field rule's hint is in rules.yaml; the template's own texts are not problems.
    if not key.startswith(("rule.", "template.", "receipt.")):
        assert msg.hint_vi and msg.hint_en


@pytest.mark.parametrize("key", MESSAGE_KEYS)
def test_every_message_is_named_by_some_code(key: str) -> None:
    assert re.search(rf'"{re.escape(key)}"', CODE), f"{key} is used nowhere"


def test_fields_can_read_differently_per_language() -> None:
    text = render("indicator_for_level", indicator=Both("Quà tặng", "Gifts"), level="commune")
    assert text.vi == "Chỉ tiêu «Quà tặng» không thuộc báo cáo của cấp commune."
    assert text.en == "Indicator 'Gifts' is not part of a commune-level report."


def test_a_refusal_reads_as_it_always_has() -> None:
    p = refusal("too_many_rows", found=12, limit=10)
    assert p.message_vi == "Quá nhiều dòng (12, tối đa 10)."
    assert p.message_en == "Too many rows (12; at most 10)."
    assert (
        p.hint_en == "Delete the extra rows below the data table, or start again from the template."
    )
    assert p.value == "12"
