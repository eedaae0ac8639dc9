import { SseParser } from "./sse";
import { isTerminal, type SubmitResponse, type Task, type TaskPage, type UiConfig } from "./types";

/** An error answered by the gateway, in its `{"error": {code, message, details}}` shape. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: unknown;

  constructor(status: number, code: string, message: string, details: unknown = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

export type TokenSource = () => Promise<string>;
export type FetchLike = typeof fetch;

function describeStatus(response: Response): string {
  const text = response.statusText ? ` ${response.statusText}` : "";
  return `The server answered HTTP ${response.status}${text}.`;
}

/** Turn a non-2xx response into an ApiError, keeping the gateway's message as it is. */
export async function errorFromResponse(response: Response): Promise<ApiError> {
  let body: unknown = null;
  try {
    body = await response.json();
  } catch {
    return new ApiError(response.status, "http_error", describeStatus(response));
  }
  if (body && typeof body === "object") {
    const error = (body as { error?: unknown }).error;
    if (error && typeof error === "object") {
      const { code, message, details } = error as {
        code?: unknown;
        message?: unknown;
        details?: unknown;
      };
      return new ApiError(
        response.status,
        typeof code === "string" ? code : "error",
        typeof message === "string" && message ? message : describeStatus(response),
        details ?? null,
      );
    }
    const detail = (body as { detail?: unknown }).detail;
    if (typeof detail === "string") {
      return new ApiError(response.status, "error", detail);
    }
  }
  return new ApiError(response.status, "http_error", describeStatus(response));
}

export class NetworkError extends Error {
  constructor(cause: unknown) {
    super("Could not reach the gateway. Check your connection and try again.");
    this.name = "NetworkError";
    this.cause = cause;
  }
}

export interface ApiOptions {
  baseUrl?: string;
  token: TokenSource;
  fetch?: FetchLike;
  onUnauthorized?: () => void;
}

export class Api {
  private readonly baseUrl: string;
  private readonly token: TokenSource;
  private readonly fetchImpl: FetchLike;
  private readonly onUnauthorized: (() => void) | undefined;

  constructor(options: ApiOptions) {
    this.baseUrl = (options.baseUrl ?? "").replace(/\/$/, "");
    this.token = options.token;
    this.fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.onUnauthorized = options.onUnauthorized;
  }

  url(path: string): string {
    return `${this.baseUrl}${path}`;
  }

  private async send(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    headers.set("Authorization", `Bearer ${await this.token()}`);
    if (!headers.has("Accept")) headers.set("Accept", "application/json");
    let response: Response;
    try {
      response = await this.fetchImpl(this.url(path), { ...init, headers });
    } catch (cause) {
      if (init.signal?.aborted) throw cause;
      throw new NetworkError(cause);
    }
    if (!response.ok) {
      const error = await errorFromResponse(response);
      if (response.status === 401) this.onUnauthorized?.();
      throw error;
    }
    return response;
  }

  private async json<T>(path: string, init: RequestInit = {}): Promise<T> {
    const response = await this.send(path, init);
    return (await response.json()) as T;
  }

  submitTask(mandate: string, maxTicks: number): Promise<SubmitResponse> {
    return this.json<SubmitResponse>("/tasks", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ mandate, max_ticks: maxTicks }),
    });
  }

  getTask(id: string, signal?: AbortSignal): Promise<Task> {
    return this.json<Task>(`/tasks/${encodeURIComponent(id)}`, signal ? { signal } : {});
  }

  listTasks(limit: number, cursor?: string | null, signal?: AbortSignal): Promise<TaskPage> {
    const query = new URLSearchParams({ limit: String(limit) });
    if (cursor) query.set("cursor", cursor);
    return this.json<TaskPage>(`/tasks?${query.toString()}`, signal ? { signal } : {});
  }

  async cancelTask(id: string): Promise<Task | null> {
    const body = await this.json<{ task?: Task }>(`/tasks/${encodeURIComponent(id)}/cancel`, {
      method: "POST",
    });
    return body.task ?? null;
  }

  async agentCount(signal?: AbortSignal): Promise<number> {
    const body = await this.json<{ count: number }>("/agents/count", signal ? { signal } : {});
    return body.count;
  }

  /**
   * Read `GET /tasks/{id}/events` once, calling `onTask` for each `status` event.
   * Resolves when the stream ends; returns the last task seen (or null).
   */
  async streamEvents(
    id: string,
    onTask: (task: Task) => void,
    signal: AbortSignal,
  ): Promise<Task | null> {
    const response = await this.send(`/tasks/${encodeURIComponent(id)}/events`, {
      headers: { Accept: "text/event-stream", "Cache-Control": "no-cache" },
      signal,
    });
    if (!response.body) return null;
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    const parser = new SseParser();
    let last: Task | null = null;
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        for (const message of parser.push(value)) {
          if (message.event !== "status") continue;
          let task: Task;
          try {
            task = JSON.parse(message.data) as Task;
          } catch {
            continue;
          }
          last = task;
          onTask(task);
          if (isTerminal(task.status)) return task;
        }
      }
    } finally {
      reader.cancel().catch(() => undefined);
    }
    return last;
  }
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });

export interface WatchOptions {
  /** Delays between reconnect attempts, in milliseconds; the last one repeats. */
  backoff?: number[];
  onConnectionChange?: (state: "live" | "reconnecting") => void;
}

/**
 * Follow a task until it reaches a terminal status: server-sent events, and when the stream
 * drops early, one fresh read of the task and a reconnect after a short pause.
 * Rejects on errors the gateway answered (404, 401, …); resolves with the final task,
 * or null when aborted.
 */
export async function watchTask(
  api: Api,
  id: string,
  onTask: (task: Task) => void,
  signal: AbortSignal,
  options: WatchOptions = {},
): Promise<Task | null> {
  const backoff = options.backoff ?? [500, 1000, 2000, 4000];
  let attempt = 0;
  while (!signal.aborted) {
    try {
      options.onConnectionChange?.("live");
      const last = await api.streamEvents(
        id,
        (task) => {
          attempt = 0;
          onTask(task);
        },
        signal,
      );
      if (last && isTerminal(last.status)) return last;
    } catch (error) {
      if (signal.aborted) return null;
      if (error instanceof ApiError) throw error;
    }
    if (signal.aborted) return null;
    options.onConnectionChange?.("reconnecting");
    try {
      const task = await api.getTask(id, signal);
      onTask(task);
      if (isTerminal(task.status)) return task;
    } catch (error) {
      if (signal.aborted) return null;
      if (error instanceof ApiError) throw error;
    }
    const delay = backoff[Math.min(attempt, backoff.length - 1)] ?? 1000;
    attempt += 1;
    await sleep(delay, signal);
  }
  return null;
}

function positive(value: unknown): number | undefined {
  return typeof value === "number" && Number.isInteger(value) && value > 0 ? value : undefined;
}

export async function loadUiConfig(fetchImpl: FetchLike = fetch): Promise<UiConfig> {
  let response: Response;
  try {
    response = await fetchImpl("/ui-config.json", { headers: { Accept: "application/json" } });
  } catch (cause) {
    throw new NetworkError(cause);
  }
  if (!response.ok) throw await errorFromResponse(response);
  const body = (await response.json()) as Partial<UiConfig>;
  return {
    supabase_url: typeof body.supabase_url === "string" ? body.supabase_url : "",
    supabase_anon_key: typeof body.supabase_anon_key === "string" ? body.supabase_anon_key : "",
    dev_login: body.dev_login === true,
    max_mandate_length: positive(body.max_mandate_length),
    max_ticks: positive(body.max_ticks),
  };
}

export async function requestDevToken(
  user: string,
  fetchImpl: FetchLike = fetch,
): Promise<{ access_token: string; user_id: string }> {
  let response: Response;
  try {
    response = await fetchImpl("/dev/token", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ user }),
    });
  } catch (cause) {
    throw new NetworkError(cause);
  }
  if (!response.ok) throw await errorFromResponse(response);
  return (await response.json()) as { access_token: string; user_id: string };
}
