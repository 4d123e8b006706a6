"""The shape of ``messages.yaml`` and the closed set of its keys.

``MessageKey`` is a ``Literal`` so that mypy refuses a message the file does
not have at the line that asks for it; a unit test keeps the two lists equal.
"""

from __future__ import annotations

from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, RootModel, model_validator

MessageKey = Literal[
    "empty_file",
    "file_too_large",
    "not_a_workbook",
    "not_a_text_file",
    "csv_malformed",
    "line_too_long",
    "too_many_rows",
    "too_many_columns",
    "too_many_sheets",
    "too_many_cells",
    "parse_too_slow",
    "zip_bomb",
    "xml_unsafe",
    "macro_workbook",
    "external_reference",
    "bad_key",
    "internal_error",
    "file_format_supported",
    "file_readable",
    "key_layout",
    "header_field_present",
    "table_present",
    "sheet_hidden",
    "sheet_hidden.unused",
    "period_valid",
    "hierarchy_for_period",
    "unit_known",
    "unit_in_scope",
    "report_version_valid",
    "key_matches_header.unit",
    "key_matches_header.period",
    "uploader_is_unit",
    "indicator_known",
    "category_known",
    "dimension_value_known",
    "value_non_negative",
    "value_is_number",
    "value_is_integer",
    "value_present",
    "value_present.blank_cells",
    "value_not_reported.blank_cells",
    "indicator_present",
    "schema_check",
    "indicator_for_level",
    "dimension_not_applicable",
    "row_unique",
    "value_present.row_missing",
    "rule.compare",
    "rule.declared_totals",
    "rule.history_outlier",
    "rule.history_outlier.no_spread",
    "rule.history_outlier.z_score",
    "rule.history_outlier.range",
    "rule.late_report",
    "receipt.rejected",
    "receipt.replaces",
    "receipt.waiting",
    "receipt.timeout",
    "receipt.not_yet",
    "template.title",
    "template.instructions",
    "template.total",
    "template.unit_column",
    "template.number_error_title",
    "template.number_error",
    "template.whole_number",
    "template.date_error",
    "template.choice_error",
    "template.lists_title",
    "approval.already_approved",
    "approval.children_not_ready",
    "approval.nothing_submitted",
    "approval.returned_unchanged",
    "approval.not_expected",
    "approval.unknown_unit",
    "approval.scope_unknown",
    "approval.role_forbidden",
    "approval.not_above",
    "approval.not_your_step",
    "approval.nothing_to_accept",
    "approval.nothing_to_return",
    "approval.not_approved",
    "approval.unapprove_below",
    "approval.parent_approved",
    "approval.reason_needed",
    "approval.range_types",
    "approval.returned_note",
]


class Message(BaseModel):
    """One message in both languages; a hint says what to do, and comes in both or neither."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    vi: str
    en: str
    hint_vi: str | None = None
    hint_en: str | None = None

    @model_validator(mode="after")
    def _hints_in_pairs(self) -> Self:
        if (self.hint_vi is None) != (self.hint_en is None):
            raise ValueError("hint_vi and hint_en come together")
        return self


class MessagesModel(RootModel[dict[str, Message]]):
    model_config = ConfigDict(frozen=True)
