"""A commune's portal: its periods and states, the template, a signed upload, its receipts.

The console's commune pages are a few lines over these methods, which read the
same ledger and receipts as ``dvkn status``/``submissions``/``receipt`` and
hand them to the pure views of :mod:`dvkn_pipeline.views.portal`. Access is
checked by the caller (``views/access.py``); what is checked here is that a
key or a file name stays inside the unit's own folder.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date
from pathlib import PurePosixPath

from dvkn_pipeline.reference.errors import DvknError
from dvkn_pipeline.reference.hierarchy import Hierarchy
from dvkn_pipeline.reference.keys import (
    incoming_key,
    parse_incoming_key,
    receipt_key,
    unsafe_key_reason,
)
from dvkn_pipeline.reference.periods import Period
from dvkn_pipeline.services.intake import Intake
from dvkn_pipeline.services.ports import UploadSigner
from dvkn_pipeline.views.portal import (
    PeriodLine,
    UploadLine,
    period_line,
    reporting_periods,
    unit_periods,
    upload_history,
    uploaded_periods,
)
from dvkn_pipeline.views.template import write_template
from schemas.records import Receipt


class PortalError(DvknError, ValueError):
    """A request the portal refuses as asked (unknown unit, bad file name, foreign key)."""


@dataclass(frozen=True)
class SignedUpload:
    """What the browser needs to PUT one file to its own key."""

    key: str
    url: str
    size: int
    expires_in: int


class Portal:
    def __init__(self, intake: Intake, signer: UploadSigner) -> None:
        self.intake = intake
        self.signer = signer
        self.settings = intake.settings

    def hierarchy(self, period: Period) -> Hierarchy:
        """The hierarchy a period is judged with, limited to this installation's city."""
        return self.intake.hierarchies.for_date(period.reference_date).scope(
            self.settings.root_unit
        )

    def all_hierarchies(self) -> list[Hierarchy]:
        """Every hierarchy version of this installation's city (a page spanning a reform)."""
        return [h.scope(self.settings.root_unit) for h in self.intake.hierarchies.versions]

    def unit_name(self, unit: str, day: date) -> str:
        """The unit's name on ``day``, else in the newest hierarchy that has it (a commune
        merged away in 2025 keeps its name on its pages), else its code."""
        found = self.intake.hierarchies.for_date(day).get(unit)
        for h in reversed(self.intake.hierarchies.versions):
            found = found or h.get(unit)
        return found.name if found is not None else unit

    def periods(self, unit: str, today: date) -> list[PeriodLine]:
        """The periods ``unit`` reports for, newest first, each with its deadline and state."""
        ledger = self.intake.tables.read_ledger()
        prefix = self.settings.incoming_prefix
        periods = reporting_periods(
            today,
            self.settings.console_period_types,
            self.settings.console_periods_shown,
            uploaded_periods(ledger, unit, prefix),
        )
        pairs = [(p, self.hierarchy(p)) for p in periods]
        return unit_periods(ledger, pairs, self.intake.catalogue, unit, today, prefix)

    def period(self, unit: str, period: Period, today: date) -> tuple[PeriodLine, list[UploadLine]]:
        """The unit's state in one period and its uploads for it, newest first."""
        ledger = self.intake.tables.read_ledger()
        prefix = self.settings.incoming_prefix
        line = period_line(
            ledger, self.hierarchy(period), self.intake.catalogue, period, unit, today, prefix
        )
        return line, upload_history(ledger, period, unit, prefix)

    def template(self, unit: str, period: Period) -> bytes:
        """The report workbook of ``unit`` for ``period`` (``dvkn template``)."""
        found = self.intake.hierarchies.for_date(period.reference_date).get(unit)
        if found is None:
            raise PortalError(f"unit {unit} is not in the hierarchy valid for {period}")
        return write_template(found, period, self.intake.catalogue)

    def sign_upload(self, unit: str, period: Period, filename: str, size: int) -> SignedUpload:
        """A presigned PUT of exactly ``size`` bytes to exactly ``incoming/<unit>/<period>/<filename>``.

        The name is the file's own base name (NFC); a name the intake would
        refuse (``..``, hidden, control characters, too long), an empty file or
        one over the intake's size limit is refused here before anything is signed.
        """
        name = unicodedata.normalize("NFC", PurePosixPath(filename.replace("\\", "/")).name)
        key = incoming_key(unit, period.code, name, self.settings.incoming_prefix)
        parsed = parse_incoming_key(key, self.settings.incoming_prefix)
        reason = unsafe_key_reason(key, self.settings.incoming_prefix)
        if not name or parsed is None or parsed.unit_code != unit or reason is not None:
            raise PortalError(f"file name {filename!r} cannot be used: {reason or 'not a name'}")
        max_bytes = self.settings.limits.max_file_bytes
        if not 0 < size <= max_bytes:
            raise PortalError(f"file size {size} bytes: it must be 1 to {max_bytes} bytes")
        expires = self.settings.console_upload_expires_seconds
        return SignedUpload(key, self.signer.presigned_put(key, size, expires), size, expires)

    def owns_key(self, unit: str, period: Period, key: str) -> bool:
        """``key`` is an upload of ``unit`` for ``period`` (its folder), never another's."""
        parsed = parse_incoming_key(key, self.settings.incoming_prefix)
        return (
            parsed is not None
            and unsafe_key_reason(key, self.settings.incoming_prefix) is None
            and parsed.unit_code == unit
            and parsed.period_text == period.code
        )

    def receipt(self, key: str) -> Receipt | None:
        """The receipt of the upload at ``key`` as stored, or None while it is not there yet."""
        raw = self.intake.bucket.get_json(
            receipt_key(key, self.settings.incoming_prefix, self.settings.receipts_prefix)
        )
        return None if raw is None else Receipt.model_validate(raw)
