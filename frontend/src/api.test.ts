// @vitest-environment node
import { describe, expect, it, vi } from "vitest";
import { Api, ApiError, errorFromResponse, watchTask } from "./api";
import { jsonResponse, makeTask, sseResponse, statusEvent } from "./test/fixtures";

const token = () => Promise.resolve("tok");

describe("errorFromResponse", () => {
  it("keeps the gateway's code, message and details", async () => {
    const error = await errorFromResponse(
      jsonResponse(422, {
        error: { code: "invalid_request", message: "mandate must not be empty", details: [1] },
      }),
    );
    expect(error).toBeInstanceOf(ApiError);
    expect(error.status).toBe(422);
    expect(error.code).toBe("invalid_request");
    expect(error.message).toBe("mandate must not be empty");
    expect(error.details).toEqual([1]);
  });

  it("describes a response that is not JSON", async () => {
    const error = await errorFromResponse(new Response("<html>", { status: 502 }));
    expect(error.message).toBe("The server answered HTTP 502.");
  });
});

describe("Api", () => {
  it("sends the bearer token and the JSON body", async () => {
    const fetch = vi.fn(async () =>
      jsonResponse(202, { correlation_id: "abc", status: "pending", task: makeTask() }),
    );
    const api = new Api({ token, fetch });
    const answer = await api.submitTask("do it", 3);
    expect(answer.correlation_id).toBe("abc");
    const [url, init] = fetch.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe("/tasks");
    expect(init.method).toBe("POST");
    expect(new Headers(init.headers).get("Authorization")).toBe("Bearer tok");
    expect(JSON.parse(init.body as string)).toEqual({ mandate: "do it", max_ticks: 3 });
  });

  it("builds the pagination query", async () => {
    const fetch = vi.fn(async (_url: RequestInfo | URL, _init?: RequestInit) =>
      jsonResponse(200, { items: [], next_cursor: null }),
    );
    const api = new Api({ token, fetch: fetch as unknown as typeof globalThis.fetch });
    await api.listTasks(10, "cur/1");
    expect(fetch.mock.calls[0]?.[0]).toBe("/tasks?limit=10&cursor=cur%2F1");
  });

  it("reports 401 to the session", async () => {
    const onUnauthorized = vi.fn();
    const fetch = vi.fn(async () =>
      jsonResponse(401, { error: { code: "unauthorized", message: "token expired" } }),
    );
    const api = new Api({ token, fetch, onUnauthorized });
    await expect(api.agentCount()).rejects.toThrow("token expired");
    expect(onUnauthorized).toHaveBeenCalledOnce();
  });

  it("streams status events until a terminal one", async () => {
    const running = makeTask({ status: "in_progress", ticks: 1, updated_at: "2025-01-01T00:00:01Z" });
    const done = { ...running, status: "completed" as const, result: "ok", updated_at: "2025-01-01T00:00:02Z" };
    const fetch = vi.fn(async (_url: RequestInfo | URL, _init?: RequestInit) =>
      sseResponse([": hi\n\n", statusEvent(running).slice(0, 20), statusEvent(running).slice(20), statusEvent(done)], true),
    );
    const api = new Api({ token, fetch });
    const seen: string[] = [];
    const last = await api.streamEvents(running.correlation_id, (t) => seen.push(t.status), new AbortController().signal);
    expect(seen).toEqual(["in_progress", "completed"]);
    expect(last?.result).toBe("ok");
    const init = fetch.mock.calls[0]?.[1] as RequestInit;
    expect(new Headers(init.headers).get("Accept")).toBe("text/event-stream");
  });
});

describe("watchTask", () => {
  it("reads the task and reconnects when the stream ends early", async () => {
    const task = makeTask({ status: "in_progress", updated_at: "2025-01-01T00:00:01Z" });
    const done = { ...task, status: "completed" as const, updated_at: "2025-01-01T00:00:03Z" };
    const responses = [
      () => sseResponse([statusEvent(task)]),
      () => jsonResponse(200, task),
      () => sseResponse([statusEvent(done)]),
    ];
    const fetch = vi.fn(async () => {
      const next = responses.shift();
      if (!next) throw new Error("unexpected request");
      return next();
    });
    const api = new Api({ token, fetch });
    const seen: string[] = [];
    const final = await watchTask(api, task.correlation_id, (t) => seen.push(t.status), new AbortController().signal, {
      backoff: [1],
    });
    expect(final?.status).toBe("completed");
    expect(seen).toEqual(["in_progress", "in_progress", "completed"]);
  });

  it("stops on a gateway error", async () => {
    const fetch = vi.fn(async () => jsonResponse(404, { error: { code: "not_found", message: "task not found" } }));
    const api = new Api({ token, fetch });
    await expect(watchTask(api, "x", () => undefined, new AbortController().signal)).rejects.toThrow(
      "task not found",
    );
  });

  it("resolves null when aborted", async () => {
    const controller = new AbortController();
    const fetch = vi.fn(
      (_url: RequestInfo | URL, init?: RequestInit) =>
        new Promise<Response>((_resolve, reject) => {
          if (init?.signal?.aborted) reject(new DOMException("aborted", "AbortError"));
          init?.signal?.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError")));
        }),
    );
    const api = new Api({ token, fetch: fetch as unknown as typeof globalThis.fetch });
    const watching = watchTask(api, "x", () => undefined, controller.signal);
    controller.abort();
    await expect(watching).resolves.toBeNull();
  });
});
