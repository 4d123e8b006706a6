"""The human receipt: what a commune clerk reads to fix a rejected report.

Rendered from the same :class:`Receipt` as the JSON one, in Vietnamese with
English below each line, one table row per problem.
"""

from __future__ import annotations

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


def render_markdown(r: Receipt) -> str:
    vi, en = _STATUS[r.status]
    lines = [
        f"# Biên nhận báo cáo / Report receipt: **{vi} / {en}**",
        "",
        f"- Tệp / File: `{_code(r.key)}`",
        f"- Đơn vị / Unit: {r.unit_name or '?'} ({r.unit_code or '?'})",
        f"- Kỳ báo cáo / Period: {r.period or '?'}; lần gửi / version: {r.report_version or '?'}",
        f"- Nhận lúc / Received: {r.received_at.isoformat() if r.received_at else '?'}"
        + (f"; hạn nộp / deadline: {r.deadline}" if r.deadline else "")
        + (
            ""
            if r.on_time is None
            else ("; đúng hạn / on time" if r.on_time else "; trễ hạn / late")
        ),
        f"- Mã kiểm tra / SHA-256: `{r.sha256}`",
        "",
        r.summary_vi,
        "",
        f"_{r.summary_en}_",
    ]
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
            "| # | mức / level | trang / sheet | dòng / row | cột / column | giá trị / value "
            "| quy tắc / rule | vấn đề / problem | cách sửa / what to do |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for i, p in enumerate(r.problems, 1):
            level = "Lỗi / Error" if p.severity is Severity.ERROR else "Cảnh báo / Warning"
            lines.append(
                f"| {i} | {level} | {_cell(p.sheet)} | {_cell(p.row)} | {_cell(p.column)} "
                f"| {_cell(p.value)} | `{p.rule}` | {_cell(p.message_vi)}<br>_{_cell(p.message_en)}_ "
                f"| {_cell(p.hint_vi)}<br>_{_cell(p.hint_en)}_ |"
            )
    return "\n".join(lines) + "\n"
