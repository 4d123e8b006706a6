"""The shape of ``report_header.yaml``: letterhead and signature of the official export."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

DEFAULT_PATH = Path(__file__).parent / "report_header.yaml"


class ReportHeader(BaseModel):
    """Who issues the report and who signs it (see ``report_header.yaml``)."""

    model_config = ConfigDict(frozen=True)
    superior: str = ""
    body: str = Field(min_length=1)
    number: str = ""
    motto: tuple[str, ...] = ()
    place: str = Field(min_length=1)
    on_behalf: str = ""
    position: str = ""
    signer: str = ""
    recipients: tuple[str, ...] = ()
    #: The date of the "place, date" line; None: the day the export is made.
    issued_on: date | None = None


def load_report_header(path: Path | None = None) -> ReportHeader:
    data = yaml.safe_load((path or DEFAULT_PATH).read_text(encoding="utf-8"))
    return ReportHeader.model_validate(data)
