"""Records that cross a boundary: upload events, problems, receipts, outcomes.

Receipts are read by people in communes and by machines upstream, so every
problem carries where it is (sheet, row, column), what was seen, which rule
failed, and what to do, in Vietnamese and English.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

EVENT_UPLOADED = "dvkn.report.uploaded"
EVENT_ACCEPTED = "dvkn.report.accepted"
EVENT_REJECTED = "dvkn.report.rejected"
EVENT_ROLLUP_UPDATED = "dvkn.rollup.updated"
EVENT_UNITS_MISSING = "dvkn.units.missing"
EVENT_APPROVAL_APPROVED = "dvkn.approval.approved"
EVENT_APPROVAL_RETURNED = "dvkn.approval.returned"
EVENT_APPROVAL_UNAPPROVED = "dvkn.approval.unapproved"


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


class Status(StrEnum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    #: Same bytes as a submission already in the ledger: recorded, changes nothing.
    DUPLICATE = "duplicate"


class Problem(BaseModel):
    """One thing wrong with a file. Errors reject it; warnings are shown but accept."""

    model_config = ConfigDict(frozen=True)
    severity: Severity
    rule: str
    sheet: str | None = None
    row: int | None = None
    column: str | None = None
    value: str | None = None
    #: The cell(s) the clerk typed, Excel-style ("F10", or "F10, F11" for a rule over
    #: several cells; a CSV as Excel opens it); None for a problem of the whole file.
    cell: str | None = None
    message_vi: str
    message_en: str
    hint_vi: str = ""
    hint_en: str = ""


class UploadRef(BaseModel):
    """What an event says about an uploaded object (the resource of ``dvkn.report.uploaded``)."""

    model_config = ConfigDict(frozen=True)
    bucket: str
    key: str
    etag: str = ""
    size: int | None = None
    last_modified: datetime | None = None
    uploader: str | None = None
    #: Object version, where the bucket keeps versions (the bytes stay reachable
    #: even after the uploader overwrites the key).
    version_id: str | None = None
    #: True for a later version of a key holding the same bytes as an earlier
    #: version (the same file uploaded again under the same name): its ETag
    #: equals the earlier one's, so its identity also names the version.
    repeat: bool = False
    #: An overwritten version found by the version sweep: fetch exactly
    #: ``version_id``, not what the key holds now, and write its receipt beside
    #: the newer one's (``...version-<id>.json``) rather than over it.
    pinned: bool = False

    @property
    def upload_id(self) -> str:
        """Identity of one upload: the same object version seen twice is the same upload.

        ``key#etag`` for the first version of a key with those bytes (what the
        event sources and the listing have always named); a repeat adds its
        version id, so an identical re-upload is an upload of its own.
        """
        base = f"{self.key}#{self.etag.strip(chr(34))}"
        return f"{base}#{self.version_id}" if self.repeat and self.version_id else base


class OverrideDecision(StrEnum):
    REJECT = "reject"
    ACCEPT_WITH_WARNINGS = "accept_with_warnings"


class Override(BaseModel):
    """A steward's decision on one upload, with who, why and when."""

    model_config = ConfigDict(frozen=True)
    decision: OverrideDecision
    by: str = Field(min_length=1, max_length=200)
    reason: str = Field(min_length=1, max_length=2000)
    at: datetime


class ReprocessRequest(BaseModel):
    """Which uploads to judge again, and why: the ``reprocess`` parameter of the intake flow.

    Exactly one selector: ``upload_keys``, or ``unit`` with ``period``, or ``period``.
    """

    #: Not `keys`: Prefect treats a model with a `keys` attribute as a mapping.
    upload_keys: list[str] = Field(default_factory=list)
    unit: str | None = None
    period: str | None = None
    #: Only with one key: the upload (ETag) to judge, else the key's latest upload.
    etag: str | None = None
    reason: str | None = None
    override: Override | None = None

    @model_validator(mode="after")
    def _one_selector(self) -> ReprocessRequest:
        if self.upload_keys and (self.unit or self.period):
            raise ValueError("give keys, or a unit and period, or a period; not both")
        if not self.upload_keys and not self.period:
            raise ValueError("give keys, or a unit and period, or a period")
        if self.override is not None and len(self.upload_keys) != 1:
            raise ValueError("an override names exactly one key")
        return self


class ReadFigure(BaseModel):
    """One figure as the pipeline read it, echoed on an accepted receipt.

    An indicator broken down by field or holder is echoed as its total, so the
    clerk can check the receipt against the totals of the sheet they filled.
    """

    model_config = ConfigDict(frozen=True)
    section: str
    sheet: str
    indicator: str
    vi: str
    en: str
    value: float | None = None
    #: A status indicator's answer (its label in each language), instead of a value.
    category_vi: str | None = None
    category_en: str | None = None
    unit_vi: str = ""
    unit_en: str = ""


class ReplacedVersion(BaseModel):
    """The accepted upload a new one replaces for the same unit and period."""

    model_config = ConfigDict(frozen=True)
    key: str
    report_version: int | None = None
    received_at: datetime | None = None
    submission_id: str | None = None


class Receipt(BaseModel):
    """What the uploader gets back, beside their file."""

    receipt_version: int = 1
    status: Status
    key: str
    etag: str
    sha256: str
    size: int
    unit_code: str | None = None
    unit_name: str | None = None
    period: str | None = None
    report_version: int | None = None
    submission_id: str | None = None
    duplicate_of: str | None = None
    received_at: datetime | None = None
    processed_at: datetime
    deadline: str | None = None
    on_time: bool | None = None
    n_errors: int = 0
    n_warnings: int = 0
    problems: list[Problem] = Field(default_factory=list)
    summary_vi: str
    summary_en: str
    #: 0 for the first judgement; higher when reprocessed or overridden (earlier
    #: receipts stay as earlier versions of the receipt object).
    attempt: int = 0
    reprocess_reason: str | None = None
    override: Override | None = None
    #: Whether the steward's decision could be applied (see schemas/overrides.yaml).
    override_applied: bool | None = None
    #: Accepted: what was read, per indicator (totals of breakdowns), in catalogue order.
    figures: list[ReadFigure] = Field(default_factory=list)
    #: Accepted: the earlier accepted upload of the same unit and period it replaces.
    replaces: ReplacedVersion | None = None


class FileOutcome(BaseModel):
    """One line of a processing run: what happened to one upload."""

    key: str
    status: Status
    unit_code: str | None = None
    period: str | None = None
    n_errors: int = 0
    n_warnings: int = 0
    receipt_key: str
    first_problem: str | None = None
    #: The same problem in Vietnamese (``first_problem`` is English): stewards read both.
    first_problem_vi: str | None = None
    attempt: int = 0
    override: OverrideDecision | None = None


class LedgerRow(BaseModel):
    """One judgement of one upload, as the ledger records it (columns: ``LEDGER_SCHEMA``).

    Typed while it travels from the judge to the table, so a misspelt column or
    a text where a number belongs fails where it is made, not in a Delta write;
    the table adapter turns a batch of them into a frame.
    """

    model_config = ConfigDict(frozen=True)
    upload_id: str
    key: str
    etag: str
    sha256: str
    size: int
    uploader: str | None
    received_at: datetime
    processed_at: datetime
    status: Status
    unit_code: str | None
    period: str | None
    report_version: int | None
    submission_id: str | None
    n_errors: int
    n_warnings: int
    receipt_key: str
    archive_key: str | None
    flow_run_id: str | None
    attempt: int
    reprocess_reason: str | None
    override: OverrideDecision | None
    override_by: str | None
    override_reason: str | None
    override_at: datetime | None

    def as_record(self) -> dict[str, object]:
        """The row as the table stores it: enums as their text."""
        return self.model_dump(mode="python") | {
            "status": self.status.value,
            "override": self.override.value if self.override is not None else None,
        }


class Actor(BaseModel):
    """Who acts on an approval: a person, their role and the unit they answer for.

    The CLI builds it from ``--by``/``--role``/``--scope``; the console from the
    logged-in account. What a role may do is data (``schemas/approval.yaml``).
    """

    model_config = ConfigDict(frozen=True)
    name: str = Field(min_length=1, max_length=200)
    role: str = Field(min_length=1, max_length=50)
    unit: str = Field(min_length=1, max_length=20)


class ApprovalRow(BaseModel):
    """One steward's action as the ``approvals`` table records it (``APPROVALS_SCHEMA``)."""

    model_config = ConfigDict(frozen=True)
    approval_id: str
    batch_id: str
    period: str
    unit_code: str
    unit_level: str
    action: str
    by_name: str
    by_role: str
    by_unit: str
    at: datetime
    comment: str | None
    hierarchy_version: str
    submission_id: str | None
    upload_key: str | None
    upload_etag: str | None
    report_version: int | None
