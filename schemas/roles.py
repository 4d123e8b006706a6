"""The shape of ``roles.yaml`` (who may do what in the console) and of a console account.

Roles are data so a new role or permission is a reviewed YAML change, not an
``if`` chain in a route; :mod:`dvkn_pipeline.views.access` answers "may this
account do this for this unit" from them.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

DEFAULT_PATH = Path(__file__).parent / "roles.yaml"

Permission = Literal[
    "portal.read",
    "portal.upload",
    "overview.read",
    "units.read",
    "trends.read",
    "exports.read",
    "approvals.act",
    "users.manage",
]
RoleName = Literal["commune", "district_steward", "city_steward", "reader", "admin"]


class RoleSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    vi: str
    en: str
    #: The hierarchy level an account's scope unit must be at; None: any unit.
    scope_level: str | None
    may: tuple[Permission, ...]


class Roles(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    roles: dict[RoleName, RoleSpec]


@lru_cache(maxsize=2)
def load_roles(path: Path = DEFAULT_PATH) -> Roles:
    return Roles.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


#: Account names: what a clerk types at the login form (lower-case, no spaces).
USERNAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{1,63}$"


class Account(BaseModel):
    """A console account as stored: the password only as an argon2 hash."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    username: str = Field(pattern=USERNAME_PATTERN)
    role: RoleName
    #: GSO code of the unit the account answers for (its commune, district or city).
    scope: str = Field(pattern=r"^[A-Za-z0-9]{1,20}$")
    display_name: str = Field(default="", max_length=200)
    password_hash: str
    disabled: bool = False
    created_at: datetime


class AccountBook(BaseModel):
    """Every account, one document (``<state prefix>console/accounts.json`` on the store)."""

    model_config = ConfigDict(extra="forbid")
    accounts: list[Account] = Field(default_factory=list)
