"""A paced OpenAI-compatible chat-completions server, run in the kind cluster as the agents'
model for the tests that need tasks of a known length (scale-down, upgrades, outages).

Standard library only: it runs in the agent image (``python paced_model.py``). A mandate names its
length, ``[task <key>: <n> steps]`` or ``[task <key>: <n> steps of <s> s]``; every request waits
``PACE_SECONDS`` (or the mandate's ``<s>``) and then answers with a ``think`` action, or with
``exit`` from the ``n``-th tick on (the agent's prompt says which tick it is, so a task picked up
again by another worker starts over). Replies are JSON actions in the message content, the
protocol every agent speaks whatever the server does with ``tools``.

``GET /stats`` reports, per task key, how many times a task was started (a request for its first
tick) and how many requests it made: a task started twice ran twice.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PACE_SECONDS = float(os.environ.get("PACE_SECONDS", "1.0"))
TASK = re.compile(r"\[task (?P<key>[\w-]+): (?P<steps>\d+) steps(?: of (?P<pace>[\d.]+) s)?\]")
TICK = re.compile(r"Tick (?P<tick>\d+) of \d+")

_lock = threading.Lock()
_stats: dict[str, dict[str, int]] = {}


def _reply(body: dict[str, Any]) -> dict[str, Any]:
    messages = body.get("messages") or []
    text = " ".join(str(m.get("content") or "") for m in messages)
    found = TASK.search(text)
    key, steps = (found["key"], int(found["steps"])) if found else ("unknown", 1)
    pace = float(found["pace"]) if found and found["pace"] else PACE_SECONDS
    last_user = next(
        (str(m.get("content")) for m in reversed(messages) if m.get("role") == "user"), ""
    )
    ticks = TICK.findall(last_user)
    tick = int(ticks[-1]) if ticks else 1
    with _lock:
        entry = _stats.setdefault(key, {"starts": 0, "requests": 0})
        entry["requests"] += 1
        if tick == 1:
            entry["starts"] += 1
    time.sleep(pace)
    if tick >= steps:
        action = {"action": "exit", "args": {"answer": f"Task {key} finished after {steps} steps."}}
    else:
        action = {"action": "think", "args": {"thought": f"Step {tick} of {steps}."}}
    return {
        "id": f"paced-{key}-{tick}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model") or "paced",
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": json.dumps(action)},
            }
        ],
        "usage": {"prompt_tokens": len(text) // 4, "completion_tokens": 12, "total_tokens": 0},
    }


class Handler(BaseHTTPRequestHandler):
    def _send(self, status: int, doc: object) -> None:
        data = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path == "/stats":
            with _lock:
                self._send(200, _stats)
        elif self.path in ("/health", "/v1/models"):
            self._send(200, {"object": "list", "data": [{"id": "paced", "object": "model"}]})
        else:
            self._send(404, {"error": {"message": f"no route {self.path}"}})

    def do_POST(self) -> None:
        if not self.path.endswith("/chat/completions"):
            self._send(404, {"error": {"message": f"no route {self.path}"}})
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        self._send(200, _reply(body))

    def log_message(self, format: str, *args: object) -> None:
        pass


if __name__ == "__main__":
    ThreadingHTTPServer(("0.0.0.0", int(os.environ.get("PORT", "8080"))), Handler).serve_forever()
