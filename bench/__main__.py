"""``make bench``: every benchmark module's ``main()`` in turn (``BENCH=gateway,agent`` picks)."""

from __future__ import annotations

import importlib
import os

MODULES = ("gateway", "agent", "operator")


def main() -> None:
    chosen = [m for m in os.environ.get("BENCH", ",".join(MODULES)).split(",") if m]
    for name in chosen:
        try:
            module = importlib.import_module(f"bench.{name}_bench")
        except ModuleNotFoundError as exc:
            print(f"[{name}] skipped: {exc}")
            continue
        print(f"\n[{name}]")
        module.main()


if __name__ == "__main__":
    main()
