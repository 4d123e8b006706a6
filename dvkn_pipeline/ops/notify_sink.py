"""The local notification target: a tiny HTTP listener that logs what it receives.

For a laptop or CI without Slack or a webhook service: the automations post
to it (``DVKN_NOTIFY_TARGET=log``) and it appends one JSON line per
notification to a log file, so a steward can ``tail -f`` it. Loopback only.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from dvkn_pipeline.ops.local_env import dvkn_env
from dvkn_pipeline.ops.processes import ServiceSpec, start_service
from dvkn_pipeline.ops.resources import project_root
from schemas.settings import Settings

MAX_BODY = 1 << 20


def make_server(
    port: int, log_path: Path | None, on_message: Callable[[dict[str, Any]], None] | None = None
) -> ThreadingHTTPServer:
    """A listener on 127.0.0.1:``port`` (0: any free port) appending to ``log_path``."""
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = min(int(self.headers.get("Content-Length") or 0), MAX_BODY)
            raw = self.rfile.read(length)
            try:
                payload: Any = json.loads(raw or b"{}")
            except ValueError:
                payload = {"text": raw.decode("utf-8", "replace")}
            message = {"received_at": datetime.now(UTC).isoformat(), "path": self.path}
            message |= payload if isinstance(payload, dict) else {"payload": payload}
            with lock:
                if log_path is not None:
                    log_path.parent.mkdir(parents=True, exist_ok=True)
                    with log_path.open("a", encoding="utf-8") as f:
                        f.write(json.dumps(message, ensure_ascii=False) + "\n")
                if on_message is not None:
                    on_message(message)
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    return ThreadingHTTPServer(("127.0.0.1", port), Handler)


def log_path(settings: Settings) -> Path:
    """Where the local target writes: ``<state_dir>/logs/notifications.log``."""
    return settings.state_dir / "logs" / "notifications.log"


def notify_spec(settings: Settings) -> ServiceSpec:
    """The local notification target as a service of the stack (``dvkn notifications listen``)."""
    return ServiceSpec(
        "notify",
        [sys.executable, "-m", "dvkn_pipeline", "notifications", "listen"],
        dvkn_env(settings),
        cwd=project_root(),
        ports=(settings.local_port("notify"),),
        timeout=30,
    )


def configure_notifications(settings: Settings) -> str:
    """Make rejections reach a steward by default: start the local target when it is the
    target, then create or update the automations (``dvkn.report.rejected`` and the rest).

    ``dvkn up`` and the demo call it, so a fresh stack notifies without a separate
    ``dvkn automations apply``; webhook or Slack apply when DVKN_NOTIFY_TARGET says so.
    Returns where notifications go, for the caller to print.
    """
    from dvkn_pipeline.services.automations import apply

    if settings.notify_target == "log":
        start_service(notify_spec(settings), settings)
    apply(settings)
    return str(log_path(settings)) if settings.notify_target == "log" else settings.notify_target


def read_notifications(settings: Settings) -> list[dict[str, Any]]:
    """What the local target has logged so far, oldest first."""
    path = log_path(settings)
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out
