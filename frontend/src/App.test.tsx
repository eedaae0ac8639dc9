import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { App } from "./App";
import { jsonResponse, makeTask, sseResponse, statusEvent } from "./test/fixtures";
import type { Task } from "./types";

type Handler = (url: string, init: RequestInit) => Response | Promise<Response>;

function fakeGateway(routes: Record<string, Handler>) {
  const fetch = vi.fn(async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const url = String(input);
    const method = init.method ?? "GET";
    const key = Object.keys(routes).find((route) => {
      const [m, pattern] = route.split(" ") as [string, string];
      return m === method && new RegExp(`^${pattern}$`).test(url);
    });
    if (!key) return jsonResponse(404, { error: { code: "not_found", message: `no ${method} ${url}` } });
    return routes[key]!(url, init);
  });
  vi.stubGlobal("fetch", fetch);
  return fetch;
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("App", () => {
  it("offers no sign-in when nothing is configured", async () => {
    fakeGateway({
      "GET /ui-config.json": () =>
        jsonResponse(200, { supabase_url: "", supabase_anon_key: "", dev_login: false }),
    });
    render(<App />);
    expect(await screen.findByText(/Sign-in is not configured/)).toBeInTheDocument();
    expect(screen.queryByText("Local developer sign-in")).not.toBeInTheDocument();
  });

  it("signs in locally, loads history, submits and follows a task", async () => {
    const older = makeTask({ mandate: "older task", status: "completed", result: "old result" });
    let submitted: Task | null = null;
    const fetch = fakeGateway({
      "GET /ui-config.json": () =>
        jsonResponse(200, { supabase_url: "", supabase_anon_key: "", dev_login: true }),
      "POST /dev/token": () => jsonResponse(200, { access_token: "a.b.c", user_id: "u-1" }),
      "GET /agents/count": () => jsonResponse(200, { count: 2 }),
      "GET /tasks\\?limit=10": () => jsonResponse(200, { items: [older], next_cursor: null }),
      "POST /tasks": (_url, init) => {
        const body = JSON.parse(init.body as string) as { mandate: string; max_ticks: number };
        submitted = makeTask({ mandate: body.mandate, max_ticks: body.max_ticks, created_at: "2025-02-01T00:00:00Z" });
        return jsonResponse(202, { correlation_id: submitted.correlation_id, status: "pending", task: submitted });
      },
      "GET /tasks/[^/]+": () => jsonResponse(200, submitted),
      "GET /tasks/[^/]+/events": () => {
        const running = { ...submitted!, status: "in_progress" as const, ticks: 1, last_action: "search", updated_at: "2025-02-01T00:00:01Z" };
        const done = { ...running, status: "completed" as const, ticks: 2, last_action: "exit", result: "the answer", updated_at: "2025-02-01T00:00:02Z" };
        return sseResponse([statusEvent(running), statusEvent(done)]);
      },
    });
    const user = userEvent.setup();
    render(<App />);
    expect(await screen.findByRole("heading", { name: "Local developer sign-in" })).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Sign in as local user" }));

    const history = await screen.findByRole("region", { name: "History" });
    expect(await within(history).findByText("older task")).toBeInTheDocument();
    expect(await screen.findByText("Active workers: 2")).toBeInTheDocument();

    await user.type(screen.getByLabelText("Mandate"), "new task");
    await user.clear(screen.getByLabelText("Max ticks"));
    await user.type(screen.getByLabelText("Max ticks"), "4");
    await user.click(screen.getByRole("button", { name: "Submit task" }));

    const view = await screen.findByRole("region", { name: "Task" });
    expect(await within(view).findByText("the answer")).toBeInTheDocument();
    expect(within(view).getByTestId("task-status")).toHaveAttribute("data-status", "completed");
    expect(within(view).getByTestId("task-ticks")).toHaveTextContent("2 of 4");
    expect(within(view).getByTestId("task-last-action")).toHaveTextContent("exit");
    expect(within(view).queryByRole("button", { name: "Cancel task" })).not.toBeInTheDocument();
    expect(window.location.hash).toBe(`#/tasks/${submitted!.correlation_id}`);

    const items = within(history).getAllByTestId("history-item");
    expect(items[0]).toHaveTextContent("new task");
    expect(items[0]).toHaveAttribute("data-status", "completed");

    const auth = fetch.mock.calls
      .filter(([url]) => String(url).startsWith("/tasks"))
      .map(([, init]) => new Headers((init as RequestInit).headers).get("Authorization"));
    expect(new Set(auth)).toEqual(new Set(["Bearer a.b.c"]));
  });
});
