"""``python -m euglena_devkit.model_server``: the local model server in the foreground.

Serves SmolLM2-135M-Instruct with llama-cpp-python on 127.0.0.1 (``make run-model``), prints
the variables that point agents at it, and runs until Ctrl-C.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from euglena_devkit.services import LlamaServer, ServiceError


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m euglena_devkit.model_server")
    parser.add_argument("--port", type=int, default=8090, help="port on 127.0.0.1")
    parser.add_argument("--context", type=int, default=4096, help="context window in tokens")
    parser.add_argument("--threads", type=int, default=1, help="llama.cpp threads")
    args = parser.parse_args()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        with LlamaServer(port=args.port, context_tokens=args.context, threads=args.threads) as llm:
            sys.stdout.write(f"MODEL_API_URL={llm.url}\nMODEL_NAME={llm.model}\n")
            sys.stdout.write(f"serving {llm.gguf.name}; log {llm.log_path}; Ctrl-C stops it\n")
            sys.stdout.flush()
            stop.wait()
    except KeyboardInterrupt:
        return 0
    except ServiceError as exc:
        sys.stderr.write(f"model server: {exc}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
