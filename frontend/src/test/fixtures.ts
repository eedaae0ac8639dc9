import type { Task } from "../types";

let counter = 0;

export function makeTask(overrides: Partial<Task> = {}): Task {
  counter += 1;
  const id = overrides.correlation_id ?? `00000000-0000-4000-8000-${String(counter).padStart(12, "0")}`;
  return {
    correlation_id: id,
    user_id: "11111111-1111-4111-8111-111111111111",
    mandate: `mandate ${counter}`,
    max_ticks: 5,
    status: "pending",
    ticks: 0,
    result: null,
    error: null,
    worker_id: null,
    last_action: null,
    created_at: "2025-01-01T00:00:00.000000Z",
    updated_at: "2025-01-01T00:00:00.000000Z",
    ...overrides,
  };
}

export function jsonResponse(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json" },
  });
}

/** A `text/event-stream` response whose body is `chunks`, then optionally left open. */
export function sseResponse(chunks: string[], keepOpen = false): Response {
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      if (!keepOpen) controller.close();
    },
  });
  return new Response(body, { status: 200, headers: { "Content-Type": "text/event-stream" } });
}

export function statusEvent(task: Task): string {
  return `event: status\ndata: ${JSON.stringify(task)}\n\n`;
}
