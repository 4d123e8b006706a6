"""Rendering a page: the Jinja2 environment, the words in the visitor's language, the layout's globals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import StrictUndefined

from dvkn_pipeline.console.security import csrf_token
from dvkn_pipeline.reference.periods import Period, PeriodError
from dvkn_pipeline.views.approval import BilingualText, Flash
from dvkn_pipeline.views.unit_page import local_time
from schemas.console_text import LANGUAGES, Language, load_console_text

HERE = Path(__file__).parent
TEMPLATES = Jinja2Templates(directory=HERE / "templates")
TEMPLATES.env.undefined = StrictUndefined
#: ``{{ moment | vn_time }}``: a stored (UTC) moment in Vietnam's time, as the upload lists show it.
TEMPLATES.env.filters["vn_time"] = local_time


def language(request: Request) -> Language:
    """Vietnamese unless the visitor chose English (kept in the session)."""
    lang = request.session.get("lang")
    return "en" if lang == "en" else "vi"


def set_language(request: Request, lang: str) -> None:
    if lang in LANGUAGES:
        request.session["lang"] = lang


def words(lang: Language) -> Any:
    """``t("key")`` for templates: an unknown key fails loudly (a test renders every page)."""
    text = load_console_text().text

    def t(key: str) -> str:
        return text[key].in_(lang)

    return t


def flash(request: Request, message: Flash) -> None:
    """Say ``message`` once, on the next page rendered (after a form's redirect)."""
    request.session["flash"] = message.model_dump(mode="json")


def _take_flash(request: Request) -> Flash | None:
    raw = request.session.pop("flash", None)
    try:
        return None if raw is None else Flash.model_validate(raw)
    except ValueError:
        return None


def console_words(key: str) -> BilingualText:
    """One ``schemas/console.yaml`` entry in both languages (a flash message's words)."""
    entry = load_console_text().text[key]
    return BilingualText(vi=entry.in_("vi"), en=entry.in_("en"))


def render(request: Request, template: str, status_code: int = 200, **model: Any) -> HTMLResponse:
    """A page of the layout, with ``t``, ``lang``, the account (if any), the CSRF token
    and the flash message a form left for it (once)."""
    lang = language(request)
    return TEMPLATES.TemplateResponse(
        request,
        template,
        {
            "t": words(lang),
            "lang": lang,
            "other_lang": "en" if lang == "vi" else "vi",
            "csrf_token": csrf_token(request),
            "account": model.pop("account", None),
            "flash": _take_flash(request),
            **model,
        },
        status_code=status_code,
    )


def period_or_404(text: str) -> Period:
    """The period a URL names; a period that does not parse is a page that does not exist."""
    try:
        return Period.parse(text)
    except PeriodError as exc:
        raise HTTPException(status_code=404, detail="period") from exc
