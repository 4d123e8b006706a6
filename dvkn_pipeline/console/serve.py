"""Run the console: ``python -m dvkn_pipeline.console`` (what ``dvkn up`` starts, supervised).

Binds ``DVKN_CONSOLE_HOST`` (loopback by default; in production the TLS proxy
is the only way in) on ``DVKN_CONSOLE_PORT`` (default: the local block's
console port). Proxy headers are trusted only from loopback and the compose
network's proxy (``FORWARDED_ALLOW_IPS``), so the login limit counts real clients.
"""

from __future__ import annotations

import os

import uvicorn
from fastapi import FastAPI

from dvkn_pipeline.console.app import create_app
from dvkn_pipeline.console.context import ConsoleContext, LoginLimiter
from dvkn_pipeline.ops.local_env import console_secret
from dvkn_pipeline.services.wiring import (
    build_accounts,
    build_approvals,
    build_portal,
    build_steward,
)
from schemas.settings import Settings


def build_app(settings: Settings) -> FastAPI:
    portal = build_portal(settings)
    context = ConsoleContext(
        settings=settings,
        accounts=build_accounts(settings),
        portal=portal,
        steward=build_steward(settings, portal.intake),
        login_limiter=LoginLimiter(
            settings.console_login_limit, settings.console_login_limit_per_client
        ),
        approvals=build_approvals(settings),
    )
    return create_app(context, console_secret(settings))


def main() -> None:
    settings = Settings()
    uvicorn.run(
        build_app(settings),
        host=settings.console_host,
        port=settings.console_bind_port(),
        proxy_headers=True,
        forwarded_allow_ips=os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
        log_level="info",
    )
