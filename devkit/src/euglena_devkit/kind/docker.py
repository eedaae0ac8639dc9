"""The Docker CLI, as the kind tier uses it: run a command, inspect images, build, import."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

# BuildKit for every build: the root Dockerfile's RUN --mount needs it. With a 20.10 client this
# selects the daemon's built-in builder; newer clients use the buildx plugin anyway.
BUILD_ENV = {"DOCKER_BUILDKIT": "1"}


class DockerError(RuntimeError):
    """A docker command failed; the message ends with the tail of its output."""


def docker(
    *args: str | Path,
    input: str | bytes | None = None,
    timeout: float = 600,
    env: Mapping[str, str] | None = None,
    log: Path | None = None,
) -> str:
    """Run ``docker <args>`` and return its stdout.

    With ``log``, stdout and stderr are appended to that file instead (long builds) and the
    error names it.
    """
    cmd = ["docker", *map(str, args)]
    full_env = {**os.environ, **(env or {})}
    data = input.encode() if isinstance(input, str) else input
    what = " ".join(cmd[:4])
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as out:
            proc = subprocess.run(
                cmd, input=data, stdout=out, stderr=subprocess.STDOUT, timeout=timeout, env=full_env
            )
        if proc.returncode != 0:
            raise DockerError(f"`{what} …` failed; the end of {log}:\n{tail(log)}")
        return ""
    done = subprocess.run(cmd, input=data, capture_output=True, timeout=timeout, env=full_env)
    if done.returncode != 0:
        output = (done.stderr or done.stdout).decode(errors="replace")
        raise DockerError(f"`{what} …` failed:\n" + "\n".join(output.splitlines()[-25:]))
    return done.stdout.decode(errors="replace")


def pipe(source: Sequence[str | Path], sink: Sequence[str | Path], *, timeout: float = 600) -> None:
    """``docker <source> | docker <sink>``, e.g. save an image into a container's importer."""
    with subprocess.Popen(["docker", *map(str, source)], stdout=subprocess.PIPE) as producer:
        done = subprocess.run(
            ["docker", *map(str, sink)], stdin=producer.stdout, capture_output=True, timeout=timeout
        )
        if producer.stdout is not None:
            producer.stdout.close()
        producer.wait(timeout)
    if producer.returncode != 0 or done.returncode != 0:
        output = done.stderr.decode(errors="replace")
        raise DockerError(
            f"`docker {' '.join(map(str, source[:2]))} | docker {' '.join(map(str, sink[:3]))} …` "
            f"failed:\n{output[-2000:]}"
        )


def tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def daemon_problem() -> str | None:
    """Why Docker cannot be used here, or None when a daemon answers."""
    if shutil.which("docker") is None:
        return "Docker is not installed"
    try:
        info = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=20)
    except subprocess.TimeoutExpired:
        return "`docker info` timed out: the Docker daemon does not answer"
    if info.returncode != 0:
        return "`docker info` failed: no Docker daemon is running"
    return None


def inspect_image(ref: str) -> dict[str, object] | None:
    """``docker image inspect`` of one image, or None when it is not present."""
    done = subprocess.run(["docker", "image", "inspect", ref], capture_output=True, text=True)
    if done.returncode != 0:
        return None
    found: list[dict[str, object]] = json.loads(done.stdout)
    return found[0] if found else None


def image_id(ref: str) -> str | None:
    image = inspect_image(ref)
    return str(image["Id"]) if image else None


def image_label(ref: str, key: str) -> str | None:
    image = inspect_image(ref)
    if image is None:
        return None
    config = image.get("Config")
    labels = config.get("Labels") if isinstance(config, dict) else None
    value = labels.get(key) if isinstance(labels, dict) else None
    return str(value) if value is not None else None


def image_size(ref: str) -> int:
    image = inspect_image(ref)
    return int(str(image["Size"])) if image else 0


def build(
    context: Path,
    ref: str,
    *,
    dockerfile: Path | None = None,
    target: str | None = None,
    build_args: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
    host_network: bool = False,
    extra: Sequence[str] = (),
    timeout: float = 3600,
    log: Path | None = None,
) -> None:
    """``docker build`` of one image; with ``log`` its output goes to that file."""
    args: list[str | Path] = ["build", "--tag", ref, "--progress", "plain"]
    if dockerfile is not None:
        args += ["--file", dockerfile]
    if target is not None:
        args += ["--target", target]
    for key, value in (build_args or {}).items():
        args += ["--build-arg", f"{key}={value}"]
    for key, value in (labels or {}).items():
        args += ["--label", f"{key}={value}"]
    if host_network:
        # Package downloads during the build leave from this machine's own network namespace,
        # exactly like the same downloads on the host; no container network reaches out.
        args += ["--network", "host"]
    args += [*extra, context]
    docker(*args, timeout=timeout, env=BUILD_ENV, log=log)
