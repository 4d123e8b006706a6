"""``dvkn``: a thin command line over the library (every command is a library call).

Figures print as tables for people and, with ``--json``, as JSON built from
the same records, for scripts and upper-level systems.

This module only assembles the app: the commands live in one module per
group, which share :mod:`dvkn_pipeline.cli.common` and never import this one.
Commands are added in the order ``dvkn --help`` lists them.
"""

from __future__ import annotations

import typer

from dvkn_pipeline.cli import (
    approval,
    common,
    figures,
    health,
    infra,
    reform,
    rehearse,
    reports,
    stack,
    status,
    steer,
    users,
)

app = typer.Typer(
    help="DVKN pipeline: intake, validation and roll-up of 'Dân vận khéo' reports.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)


@app.callback()
def _before_any_command() -> None:
    """Point Prefect at the configured server before any command imports it (no temporary server)."""
    common.quiet_prefect()


# The embedded stack on this machine.
app.command()(stack.up)
app.command()(stack.down)
app.command()(stack.ps)
app.command()(stack.deploy)
app.add_typer(users.users_app, name="users")
# Report files, uploads and receipts.
app.command()(reports.generate)
app.command()(reports.template)
app.command()(reports.upload)
app.command()(reports.receipt)
# Figures of a period.
app.command()(figures.rollup)
app.command()(figures.completeness)
app.command()(figures.export)
# The whole pipeline end to end.
app.command()(stack.demo)
# Stewards: who reported, where a figure comes from.
app.command()(status.status)
app.command()(status.submissions)
app.command()(status.explain)
app.command()(status.chart)
app.command()(status.trend)
# Stewards: change what the pipeline decided; notifications.
app.command()(steer.reprocess)
app.command()(steer.reject)
app.command("accept-with-warnings")(steer.accept_with_warnings)
# Stewards: approval across levels (the rules: services/approval.py).
app.command()(approval.approve)
app.command()(approval.accept)
app.command("return")(approval.return_unit)
app.command()(approval.unapprove)
app.command("not-expected")(approval.not_expected)
app.command()(approval.approvals)
app.add_typer(steer.automations_app, name="automations")
app.add_typer(steer.notifications_app, name="notifications")
# Across the 2025 reform, and as the tables stood at a moment.
app.command("compare")(reform.compare_command)
# Operations: health, production event source and access, rehearsal.
app.command("health")(health.health)
app.add_typer(infra.webhook_app, name="webhook")
app.add_typer(infra.infra_app, name="infra")
infra.infra_app.command("rehearse")(rehearse.infra_rehearse)

if __name__ == "__main__":
    app()
