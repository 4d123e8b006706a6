"""The local notification target: a tiny HTTP listener that logs what it receives.

For a laptop or CI without Slack or a webhook service: the automations post
to it (``DVKN_NOTIFY_TARGET=log``) and it appends one JSON line per
notification to a log file, so a steward can ``tail -f`` it. Loopback only.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

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
