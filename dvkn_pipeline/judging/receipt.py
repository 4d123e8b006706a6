"""The human receipt: what a commune clerk reads to fix a rejected report.

Rendered from the same :class:`Receipt` as the JSON one, in Vietnamese with
English below each line, one table row per problem.

Written for the clerk, not the machine: times in Hanoi time with the offset,
the period as people write it ("Quý I/2025 (2025-Q1)"), numbers the Vietnamese
way, the cell to correct; rule ids stay in the JSON receipt beside it.
"""

from __future__ import annotations

from datetime import datetime

from dvkn_pipeline.reference.messages import number
from dvkn_pipeline.reference.periods import Period, PeriodError, load_calendar
from schemas.records import Receipt, Severity, Status

_STATUS = {
    Status.ACCEPTED: ("ĐÃ NHẬN", "ACCEPTED"),
    Status.REJECTED: ("BỊ TỪ CHỐI", "REJECTED"),
    Status.DUPLICATE: ("TRÙNG LẶP (không thay đổi gì)", "DUPLICATE (nothing changed)"),
}


def _cell(text: object) -> str:
    return str(text if text is not None else "").replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    """A key shown verbatim but inert: a hostile key cannot break out of its code span."""
    shown = "".join(ch if ch.isprintable() else f"\\u{ord(ch):04x}" for ch in text)
    return shown.replace("`", "'")


def local_time(moment: datetime | None) -> str:
    """``15/03/2025 09:30:00 (GMT+07:00)``: the reporting zone's wall clock, with its offset."""
    if moment is None:
        return "?"
    local = moment.astimezone(load_calendar().time_zone)
    offset = local.strftime("%z")
    return f"{local:%d/%m/%Y %H:%M:%S} (GMT{offset[:3]}:{offset[3:]})"


def period_text(code: str | None) -> str:
    """``Quý I/2025 (2025-Q1)``: the period as people write it, then its code."""
    if code is None:
        return "?"
    try:
        p = Period.parse(code)
    except PeriodError:
        return code
    return f"{p.label_vi} ({p.code})"


def _day(iso: str | None) -> str:
    if not iso:
        return ""
    y, m, d = iso.split("-")
    return f"{d}/{m}/{y}"


def render_markdown(r: Receipt) -> str:
    vi, en = _STATUS[r.status]
    lines = [
        f"# Biên nhận báo cáo / Report receipt: **{vi} / {en}**",
        "",
        r.summary_vi,
        "",
        f"_{r.summary_en}_",
        "",
        f"- Tệp / File: `{_code(r.key)}`",
        f"- Đơn vị / Unit: {r.unit_name or '?'} ({r.unit_code or '?'})",
        f"- Kỳ báo cáo / Period: {period_text(r.period)}; "
        f"lần gửi / version: {r.report_version or '?'}",
        f"- Nhận lúc / Received: {local_time(r.received_at)}"
        + (f"; hạn nộp / deadline: {_day(r.deadline)}" if r.deadline else "")
        + (
            ""
            if r.on_time is None
            else ("; đúng hạn / on time" if r.on_time else "; trễ hạn / late")
        ),
        f"- Xử lý lúc / Processed: {local_time(r.processed_at)}",
        f"- Mã kiểm tra / SHA-256: `{r.sha256}`",
    ]
    if r.replaces is not None:
        lines.append(
            f"- Thay thế / Replaces: lần gửi / version {r.replaces.report_version or '?'}, "
            f"`{_code(r.replaces.key)}`, {local_time(r.replaces.received_at)}"
        )
    if r.attempt:
        lines += [
            "",
            f"- Xét lại lần / Judged again, attempt {r.attempt}: {_cell(r.reprocess_reason or '')}"
            " (biên nhận trước vẫn được lưu / earlier receipts are kept)",
        ]
    if r.override is not None:
        o = r.override
        applied = "đã áp dụng / applied" if r.override_applied else "không áp dụng / not applied"
        lines += [
            f"- Quyết định của cán bộ / Steward decision: `{o.decision.value}` ({applied}), "
            f"bởi / by {_cell(o.by)}, lúc / at {o.at.isoformat()}; lý do / reason: {_cell(o.reason)}",
        ]
    if r.problems:
        lines += [
            "",
            "| # | mức / level | trang / sheet | ô / cell | dòng / row | cột / column "
            "| giá trị / value | vấn đề / problem | cách sửa / what to do |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for i, p in enumerate(r.problems, 1):
            level = "Lỗi / Error" if p.severity is Severity.ERROR else "Cảnh báo / Warning"
            lines.append(
                f"| {i} | {level} | {_cell(p.sheet)} | {_cell(p.cell)} | {_cell(p.row)} "
                f"| {_cell(p.column)} | {_cell(p.value)} "
                f"| {_cell(p.message_vi)}<br>_{_cell(p.message_en)}_ "
                f"| {_cell(p.hint_vi)}<br>_{_cell(p.hint_en)}_ |"
            )
    if r.figures:
        lines += ["", "## Số liệu đã đọc / Figures read"]
        sheet = None
        for f in r.figures:
            if f.sheet != sheet:
                sheet = f.sheet
                lines += [
                    "",
                    f"### {_cell(f.sheet)}",
                    "",
                    "| chỉ tiêu / indicator | số liệu / figure | đơn vị / unit |",
                    "|---|---:|---|",
                ]
            shown = (
                f"{_cell(f.category_vi)} / {_cell(f.category_en)}"
                if f.category_vi is not None
                else str(number(f.value or 0).vi)
            )
            lines.append(f"| {_cell(f.vi)}<br>_{_cell(f.en)}_ | {shown} | {_cell(f.unit_vi)} |")
    return "\n".join(lines) + "\n"
