import { useEffect, useState } from "react";
import type { Api } from "../api";

const POLL_MS = 5_000;

export function Workers({ api }: { api: Api }) {
  const [count, setCount] = useState<number | null>(null);
  const [failed, setFailed] = useState(false);

  useEffect(() => {
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      try {
        const value = await api.agentCount(controller.signal);
        setCount(value);
        setFailed(false);
      } catch {
        if (!controller.signal.aborted) setFailed(true);
      }
      if (!controller.signal.aborted) timer = setTimeout(() => void poll(), POLL_MS);
    };
    void poll();
    return () => {
      controller.abort();
      if (timer !== undefined) clearTimeout(timer);
    };
  }, [api]);

  let text = "Active workers: …";
  if (count !== null) text = `Active workers: ${count}`;
  if (failed && count === null) text = "Active workers: unknown";
  return (
    <p className="workers" data-testid="worker-count" title="Agent workers currently connected">
      <span className={`dot ${count ? "on" : "off"}`} aria-hidden="true" />
      {text}
    </p>
  );
}
