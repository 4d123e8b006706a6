"""What every page needs, built once per app: settings, the account book, the services.

Routes get it from ``request.app.state.ctx`` through :func:`ctx`; tests hand
:func:`dvkn_pipeline.console.app.create_app` one built over in-memory fakes.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from dvkn_pipeline.services.approval import ApprovalService
from dvkn_pipeline.services.portal import Portal
from dvkn_pipeline.services.ports import AccountStore
from dvkn_pipeline.services.steward import Steward
from schemas.settings import Settings


@dataclass
class LoginLimiter:
    """Login attempts per account name and client, and per client (``limits``, in memory).

    In memory is enough for one console process; several replicas behind the
    proxy would each count on their own (a Redis storage URI would share it).
    """

    per_name: str
    per_client: str

    def __post_init__(self) -> None:
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._name_item = parse(self.per_name)
        self._client_item = parse(self.per_client)

    def hit(self, client: str, username: str) -> bool:
        """Count one attempt; False when either limit is already used up."""
        name_ok = self._limiter.hit(self._name_item, "login-name", client, username.lower())
        client_ok = self._limiter.hit(self._client_item, "login-client", client)
        return name_ok and client_ok


@dataclass
class ConsoleContext:
    settings: Settings
    accounts: AccountStore
    portal: Portal
    steward: Steward
    login_limiter: LoginLimiter
    #: Approve / return / unapprove (the steward pages' buttons, a commune's returned note).
    approvals: ApprovalService


def ctx(request: Request) -> ConsoleContext:
    found: ConsoleContext = request.app.state.ctx
    return found
