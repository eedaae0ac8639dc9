"""``make eval``: how well agents answer with a given model, measured end to end.

Every mandate of ``corpus.yaml`` goes through the real gateway (``POST /tasks``) to real agent
worker processes, which search and read the corpus through the devkit's search and web
stand-ins, and talk to whatever model ``MODEL_API_URL`` points at — by default the local
SmolLM2-135M server (llama-cpp-python), with ``MODEL_OFFLINE=true`` the offline stand-in. Any
other ``MODEL_*`` or loop setting of the agent (``MODEL_NAME``, ``MODEL_API_KEY``,
``MODEL_TOOL_CALLING``, ``PROMPT_TOKEN_BUDGET``…) is handed to the workers unchanged.

It prints, for the model: tasks answered, answers containing the expected fact, ticks, tokens
and wall time per task, and failures by reason; then one line per mandate. Nothing is
asserted: the figures are for judging a model. ``EVAL_MAX_TICKS`` (5), ``EVAL_WORKERS`` (1
for the local server, which answers one request at a time; else 2), ``EVAL_LIMIT`` (all
mandates) and ``EVAL_TASK_TIMEOUT`` (600 s) tune a run.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from euglena_agent.finish import BEST_EFFORT_ACTION
from euglena_devkit.fakes import FakeSearchServer, FakeWebServer, Hit
from euglena_devkit.fakes.web import article
from euglena_devkit.local_gateway import RunningGateway, gateway_env, running_gateway
from euglena_devkit.services import LlamaServer, LocalServices, free_port

REPO = Path(__file__).resolve().parents[2]
CORPUS = Path(__file__).with_name("corpus.yaml")
SEARCH_KEY = "eval-search-key"
# Settings that suit the small local model; anything the user sets wins.
# SmolLM2 on one CPU thread reads prompts at roughly 100 tokens a second, so they stay short.
LOCAL_MODEL_DEFAULTS = {
    "MODEL_TEMPERATURE": "0",
    "MODEL_MAX_TOKENS": "128",
    "PROMPT_TOKEN_BUDGET": "1000",
    "OBSERVATION_MAX_CHARS": "900",
}
PASSED_THROUGH = ("MODEL_", "PROMPT_", "CONVERSATION_", "OBSERVATION_", "MEMORY_", "EMBEDDING_")


@dataclass(frozen=True)
class Mandate:
    text: str
    expect: tuple[str, ...]


@dataclass
class Outcome:
    mandate: Mandate
    doc: dict[str, Any]

    @property
    def answered(self) -> bool:
        return self.doc.get("status") == "completed" and bool(self.doc.get("result"))

    @property
    def correct(self) -> bool:
        result = str(self.doc.get("result") or "").lower()
        return self.answered and any(e.lower() in result for e in self.mandate.expect)

    @property
    def tokens(self) -> int:
        usage = self.doc.get("usage") or {}
        return int(usage.get("prompt_tokens", 0)) + int(usage.get("completion_tokens", 0))

    @property
    def wall(self) -> float | None:
        start, end = self.doc.get("started_at"), self.doc.get("completed_at")
        if not start or not end:
            return None
        return _seconds(end) - _seconds(start)

    @property
    def reason(self) -> str:
        if self.answered:
            return ""
        error = str(self.doc.get("error") or self.doc.get("status") or "no answer")
        return error if len(error) <= 90 else error[:90] + "…"


def _seconds(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def load_corpus(web: FakeWebServer, search: FakeSearchServer) -> list[Mandate]:
    doc = yaml.safe_load(CORPUS.read_text())
    for page in doc["pages"]:
        url = web.page(page["path"], article(page["title"], *page["paragraphs"]))
        search.index(Hit(page["title"], url, page["summary"]), " ".join(page["paragraphs"]))
    mandates = [Mandate(m["mandate"], tuple(str(e) for e in m["expect"])) for m in doc["mandates"]]
    limit = int(os.environ.get("EVAL_LIMIT") or len(mandates))
    return mandates[:limit]


def model_env(stack: contextlib.ExitStack) -> tuple[dict[str, str], str]:
    """The workers' model settings, and a label for the report."""
    user = {k: v for k, v in os.environ.items() if k.startswith(PASSED_THROUGH)}
    if user.get("MODEL_OFFLINE", "").lower() == "true":
        user.pop("MODEL_API_URL", None)
        return user, "offline stand-in (MODEL_OFFLINE=true)"
    if user.get("MODEL_API_URL"):
        name = user.get("MODEL_NAME", "gpt-4o-mini")
        return user, f"{name} at {user['MODEL_API_URL']}"
    sys.stdout.write("starting the local model server (llama-cpp-python, SmolLM2-135M)…\n")
    llama = stack.enter_context(LlamaServer())
    env = {**LOCAL_MODEL_DEFAULTS, **user, "MODEL_API_URL": llama.url, "MODEL_NAME": llama.model}
    return env, f"{llama.model} at {llama.url} (local llama-cpp-python server, {llama.gguf.name})"


def spawn_workers(count: int, env: dict[str, str], tmp: Path) -> list[subprocess.Popen[bytes]]:
    procs = []
    for i in range(count):
        worker_env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(PASSED_THROUGH)},
            **env,
            "WORKER_ID": f"eval-agent-{i + 1}",
            "HEALTH_PORT": str(free_port()),
            "HEALTH_HOST": "127.0.0.1",
            "CHROMA_PATH": str(tmp / f"chroma-{i + 1}"),
            "MEMORY_RECALL_K": env.get("MEMORY_RECALL_K", "2"),
        }
        log = (tmp / f"agent-{i + 1}.log").open("wb")
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "euglena_agent"],
                env=worker_env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
    return procs


def stop_workers(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def run_mandates(
    gateway: RunningGateway, mandates: list[Mandate], max_ticks: int, timeout: float
) -> list[Outcome]:
    # one user per mandate: long-term memory serves a user's later tasks, and each mandate
    # is judged on its own
    owners: list[dict[str, str]] = []
    ids = []
    for mandate in mandates:
        headers = gateway.headers(await gateway.create_user(daily_tick_limit=1_000))
        response = await gateway.client.post(
            "/tasks", json={"mandate": mandate.text, "max_ticks": max_ticks}, headers=headers
        )
        response.raise_for_status()
        ids.append(response.json()["correlation_id"])
        owners.append(headers)
    docs: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + timeout * len(mandates)
    while len(docs) < len(ids) and time.monotonic() < deadline:
        for cid, headers in zip(ids, owners, strict=True):
            if cid in docs:
                continue
            doc = (await gateway.client.get(f"/tasks/{cid}", headers=headers)).json()
            if doc.get("status") in {"completed", "failed", "cancelled"}:
                docs[cid] = doc
                sys.stdout.write(
                    f"  {len(docs):>3}/{len(ids)} {doc['status']:<9} {doc['mandate']}\n"
                )
                sys.stdout.flush()
        await asyncio.sleep(0.5)
    return [
        Outcome(m, docs.get(cid, {"status": "stuck"})) for m, cid in zip(mandates, ids, strict=True)
    ]


def report(label: str, outcomes: list[Outcome], elapsed: float, workers: int) -> None:
    n = len(outcomes)
    answered = sum(o.answered for o in outcomes)
    correct = sum(o.correct for o in outcomes)
    walls = [w for o in outcomes if (w := o.wall) is not None]
    ticks = [int(o.doc.get("ticks") or 0) for o in outcomes]
    tokens = [o.tokens for o in outcomes]
    out = sys.stdout.write
    out(f"\nmodel: {label}\n")
    out(f"mandates {n}, max ticks {outcomes[0].doc.get('max_ticks', '?')}, workers {workers}, ")
    out(f"run {elapsed:.0f} s\n")
    endings = Counter(_ending(o) for o in outcomes if o.answered)
    how = ", ".join(f"{count} {kind}" for kind, count in endings.most_common())
    out(f"  tasks answered            {answered}/{n}" + (f"  ({how})" if how else "") + "\n")
    out(f"  answers with the fact     {correct}/{n}  ({100 * correct / n:.0f} %)\n")
    out(f"  ticks per task            mean {statistics.mean(ticks):.1f}, max {max(ticks)}\n")
    out(f"  tokens per task           mean {statistics.mean(tokens):,.0f}, max {max(tokens):,}\n")
    if walls:
        out(f"  wall time per task        mean {statistics.mean(walls):.2f} s, ")
        out(f"median {statistics.median(walls):.2f} s, max {max(walls):.2f} s ")
        out("(started → finished)\n")
    failures = Counter(o.reason for o in outcomes if not o.answered)
    out(f"  failures by reason        {sum(failures.values())}\n")
    for reason, count in failures.most_common():
        out(f"    {count:>3}  {reason}\n")
    out("\n  per mandate (✓ fact found, · answered without it, ✗ no answer):\n")
    for o in outcomes:
        mark = "✓" if o.correct else "·" if o.answered else "✗"
        said = " ".join(_gist(str(o.doc.get("result") or o.reason)).split())[:70]
        out(f"  {mark} {o.doc.get('ticks', 0):>2}t {o.mandate.text[:52]:<52} {said}\n")


def _ending(outcome: Outcome) -> str:
    last = str(outcome.doc.get("last_action") or "")
    if last.startswith("exit("):
        return "by exit"
    return "best-effort answer" if last == BEST_EFFORT_ACTION else "summary of observations"


def _gist(text: str) -> str:
    """The answer without the offline stand-in's notice and restated mandate."""
    lines = text.splitlines()
    while lines and (lines[0].startswith("[") or lines[0].startswith("Mandate:")):
        lines = lines[1:]
    return "\n".join(lines) or text


async def main_async() -> None:
    max_ticks = int(os.environ.get("EVAL_MAX_TICKS") or 5)
    timeout = float(os.environ.get("EVAL_TASK_TIMEOUT") or 600)
    with contextlib.ExitStack() as stack, tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        web = stack.enter_context(FakeWebServer())
        search = stack.enter_context(FakeSearchServer(api_key=SEARCH_KEY))
        mandates = load_corpus(web, search)
        env, label = model_env(stack)
        local = "local llama-cpp-python" in label
        workers = int(os.environ.get("EVAL_WORKERS") or (1 if local else 2))
        services = stack.enter_context(LocalServices(REPO, tmp / "services"))
        base = services.env()
        shared = gateway_env(
            redis_url=base["REDIS_URL"],
            rabbitmq_url=base["RABBITMQ_URL"],
            database_url=base["DATABASE_URL"],
        )
        agent_env = {
            **shared,
            **env,
            "SEARCH_API_URL": search.url,
            "SEARCH_API_KEY": SEARCH_KEY,
            "VISIT_ALLOW_PRIVATE": "true",  # the corpus is served on loopback
        }
        procs = spawn_workers(workers, agent_env, tmp)
        stack.callback(stop_workers, procs)
        async with running_gateway(
            redis_url=base["REDIS_URL"],
            rabbitmq_url=base["RABBITMQ_URL"],
            database_url=base["DATABASE_URL"],
        ) as gateway:
            sys.stdout.write(f"running {len(mandates)} mandates with {label}\n")
            started = time.monotonic()
            outcomes = await run_mandates(gateway, mandates, max_ticks, timeout)
            report(label, outcomes, time.monotonic() - started, workers)


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def main() -> None:
    signal.signal(signal.SIGTERM, _interrupt)  # stop the servers and workers it started
    try:
        asyncio.run(main_async())
    except KeyboardInterrupt:
        sys.stdout.write("make eval: interrupted\n")
        sys.exit(130)


if __name__ == "__main__":
    main()
