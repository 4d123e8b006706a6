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
from schemas.console_text import LANGUAGES, Language, load_console_text

HERE = Path(__file__).parent
TEMPLATES = Jinja2Templates(directory=HERE / "templates")
TEMPLATES.env.undefined = StrictUndefined


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


def render(request: Request, template: str, status_code: int = 200, **model: Any) -> HTMLResponse:
    """A page of the layout, with ``t``, ``lang``, the account (if any) and the CSRF token."""
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
