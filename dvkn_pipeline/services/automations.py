"""Create or update the project's Prefect automations and their notification block.

The automations are data (``schemas/automations.yaml``); this module turns
them into Prefect's models. Matching by name makes ``apply`` idempotent: a
second run updates each automation in place (and removes stray copies with
the same name), so there is always exactly one of each.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

from prefect import get_client
from prefect.automations import EventTrigger, SendNotification
from prefect.blocks.notifications import CustomWebhookNotificationBlock, SlackWebhook
from prefect.events.schemas.automations import Automation, AutomationCore, Posture

from schemas.automations import AutomationSpec, load_automations
from schemas.settings import Settings

BLOCK_NAME = "dvkn-notify"


@dataclass(frozen=True)
class Applied:
    name: str
    id: UUID
    action: str  # created | updated


def notification_block(settings: Settings) -> UUID:
    """Save the notification block the settings choose; returns its document id."""
    if settings.notify_target == "slack":
        block: Any = SlackWebhook(url=settings.notify_webhook_url)
    else:
        url = (
            settings.notify_webhook_url.get_secret_value()
            if settings.notify_target == "webhook"
            else settings.notify_log_url()
        )
        if not url:
            raise ValueError("DVKN_NOTIFY_WEBHOOK_URL is needed for notify_target=webhook")
        block = CustomWebhookNotificationBlock(
            name="dvkn",
            url=url,
            # The local listener is on loopback, which Prefect's SSRF guard would refuse.
            allow_private_urls=settings.notify_target == "log",
            json_data={"subject": "{{subject}}", "body": "{{body}}", "source": "dvkn"},
        )
    return UUID(str(block.save(BLOCK_NAME, overwrite=True)))


def to_prefect(spec: AutomationSpec, block_id: UUID) -> AutomationCore:
    return AutomationCore(
        name=spec.name,
        description=spec.description,
        enabled=True,
        trigger=EventTrigger(
            expect=set(spec.expect),
            match=spec.match,  # type: ignore[arg-type]
            match_related=spec.match_related,  # type: ignore[arg-type]
            posture=Posture.Reactive,
            threshold=1,
            within=timedelta(seconds=spec.within_seconds),
        ),
        actions=[
            SendNotification(block_document_id=block_id, subject=spec.subject, body=spec.body)
        ],
    )


def apply(settings: Settings) -> list[Applied]:
    """Create each automation of the project, or update the one with its name."""
    block_id = notification_block(settings)
    out: list[Applied] = []
    with get_client(sync_client=True) as client:
        for spec in load_automations().automations:
            wanted = to_prefect(spec, block_id)
            existing = client.read_automations_by_name(spec.name)
            if existing:
                keep, *extra = sorted(existing, key=lambda a: str(a.id))
                client.update_automation(keep.id, wanted)
                for a in extra:
                    client.delete_automation(a.id)
                out.append(Applied(spec.name, keep.id, "updated"))
            else:
                out.append(Applied(spec.name, client.create_automation(wanted), "created"))
    return out


def listed() -> list[Automation]:
    """The project's automations as the Prefect server holds them."""
    names = {s.name for s in load_automations().automations}
    with get_client(sync_client=True) as client:
        return [a for a in client.read_automations() if a.name in names]
