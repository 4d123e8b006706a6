"""Whom a steward calls about a unit: the contact list, as data (``schemas/contacts/*.csv``).

Contact details are not in any official unit list, so each installation gives
its own CSV (``DVKN_CONTACTS_FILE``): one row per unit, ``unit_code`` the GSO
code of the hierarchy in force. ``schemas/contacts/sample-01.csv`` is a made-up
list for Hanoi's communes and districts (demo, tests, screenshots), produced by
``infra/contacts/make_sample_contacts.py``; every row of it says ``sample``.
A bad row is refused with its line number rather than shown half-read.
"""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

SAMPLE_PATH = Path(__file__).parent / "contacts" / "sample-01.csv"
COLUMNS = ("unit_code", "person", "role", "phone", "email", "sample")


class ContactError(ValueError):
    """A contact file that cannot be read: which line, and why."""


class Contact(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    unit_code: str = Field(pattern=r"^[0-9]{2,5}$")
    person: str = Field(min_length=1, max_length=200)
    role: str = Field(default="", max_length=200)
    phone: str = Field(default="", pattern=r"^[0-9 +().-]{0,30}$")
    email: str = Field(default="", max_length=200)
    #: True for made-up rows (the shipped sample): a page says so beside them.
    sample: bool = False


def read_contacts(path: Path) -> dict[str, Contact]:
    """The contacts of ``path`` by unit code (the last row of a unit wins)."""
    out: dict[str, Contact] = {}
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = {"unit_code", "person"} - set(reader.fieldnames or ())
        if missing:
            raise ContactError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
        for line, row in enumerate(reader, start=2):
            values = {k: (v or "").strip() for k, v in row.items() if k in COLUMNS}
            values["sample"] = values.get("sample", "").lower() in {"1", "true", "yes", "sample"}
            try:
                contact = Contact.model_validate(values)
            except ValidationError as exc:
                raise ContactError(f"{path}, line {line}: {exc.errors()[0]['msg']}") from exc
            out[contact.unit_code] = contact
    return out


@lru_cache(maxsize=4)
def load_contacts(path: Path | None) -> dict[str, Contact]:
    """The contact list of an installation; none given, no contacts (never an error)."""
    return {} if path is None else read_contacts(path)
