"""``dvkn users add|list|disable``: the web console's accounts (a few lines over services/accounts.py)."""

from __future__ import annotations

from typing import Annotated, get_args

import typer
from rich.table import Table

from dvkn_pipeline.cli.common import JsonOpt, console, load_settings, print_json
from dvkn_pipeline.reference.hierarchy import load_hierarchies
from dvkn_pipeline.services.accounts import (
    AccountError,
    add_account,
    list_accounts,
    set_disabled,
)
from dvkn_pipeline.services.wiring import build_accounts
from schemas.roles import RoleName, load_roles

users_app = typer.Typer(
    help="Accounts of the web console: roles and unit scopes from schemas/roles.yaml.",
    no_args_is_help=True,
)
_ROLES = ", ".join(get_args(RoleName))


@users_app.command("add")
def add(
    username: Annotated[str, typer.Argument(help="Login name (lower-case), e.g. xa-00004.")],
    role: Annotated[str, typer.Option(help=f"One of: {_ROLES}.")],
    scope: Annotated[
        str, typer.Option(help="GSO code of the account's unit: its commune, district or city.")
    ],
    name: Annotated[str, typer.Option(help="Name shown on the pages.")] = "",
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            envvar="DVKN_NEW_PASSWORD",
            help="Asked for when not given (or DVKN_NEW_PASSWORD).",
        ),
    ] = "",
    replace: Annotated[bool, typer.Option(help="Reset an existing account.")] = False,
) -> None:
    """Add a console account (password stored as an argon2 hash)."""
    if role not in load_roles().roles:
        raise typer.BadParameter(f"unknown role {role!r} (known: {_ROLES})", param_hint="--role")
    try:
        account = add_account(
            build_accounts(load_settings()),
            load_hierarchies().versions,
            username=username,
            role=role,  # type: ignore[arg-type]  # checked against roles.yaml above
            scope=scope,
            password=password,
            display_name=name,
            replace=replace,
        )
    except AccountError as exc:
        raise typer.BadParameter(str(exc)) from exc
    console.print(f"account [bold]{account.username}[/]: {account.role} of {account.scope}")


@users_app.command("list")
def list_(json_out: JsonOpt = False) -> None:
    """List the accounts (never their password hashes)."""
    accounts = list_accounts(build_accounts(load_settings()))
    rows = [a.model_dump(mode="json", exclude={"password_hash"}) for a in accounts]
    if json_out:
        print_json(rows)
        return
    table = Table("user", "role", "scope", "name", "disabled", "created")
    for r in rows:
        table.add_row(
            r["username"],
            r["role"],
            r["scope"],
            r["display_name"],
            "yes" if r["disabled"] else "",
            r["created_at"],
        )
    console.print(table)


@users_app.command("disable")
def disable(
    username: str,
    enable: Annotated[bool, typer.Option("--enable", help="Enable it again instead.")] = False,
) -> None:
    """Disable an account: it cannot log in, and its open sessions end at their next click."""
    try:
        account = set_disabled(build_accounts(load_settings()), username, not enable)
    except AccountError as exc:
        raise typer.BadParameter(str(exc)) from exc
    console.print(
        f"account [bold]{account.username}[/] {'disabled' if account.disabled else 'enabled'}"
    )
