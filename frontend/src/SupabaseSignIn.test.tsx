import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { App } from "./App";
import { jsonResponse } from "./test/fixtures";

const auth = vi.hoisted(() => ({
  getSession: vi.fn(),
  signInWithPassword: vi.fn(),
  signUp: vi.fn(),
  signOut: vi.fn(),
  onAuthStateChange: vi.fn(() => ({ data: { subscription: { unsubscribe: () => undefined } } })),
}));
const createClient = vi.hoisted(() => vi.fn(() => ({ auth })));

vi.mock("@supabase/supabase-js", () => ({ createClient }));

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("Supabase sign-in", () => {
  it("signs in with email and password and calls the gateway with the Supabase token", async () => {
    const user = { id: "5b7f0000-0000-4000-8000-000000000001", email: "ada@example.org" };
    const session = { access_token: "supabase.jwt.token", user };
    auth.getSession.mockResolvedValueOnce({ data: { session: null }, error: null });
    auth.getSession.mockResolvedValue({ data: { session }, error: null });
    auth.signInWithPassword.mockResolvedValue({ data: { session, user }, error: null });
    const fetch = vi.fn(async (input: RequestInfo | URL) => {
      const url = String(input);
      if (url === "/ui-config.json") {
        return jsonResponse(200, {
          supabase_url: "https://project.supabase.co",
          supabase_anon_key: "anon-key",
          dev_login: false,
        });
      }
      if (url.startsWith("/tasks")) return jsonResponse(200, { items: [], next_cursor: null });
      if (url === "/agents/count") return jsonResponse(200, { count: 0 });
      return jsonResponse(404, { error: { code: "not_found", message: url } });
    });
    vi.stubGlobal("fetch", fetch);

    render(<App />);
    const form = await screen.findByRole("region", { name: "Sign in" });
    expect(screen.queryByText("Local developer sign-in")).not.toBeInTheDocument();
    const ui = userEvent.setup();
    await ui.type(within(form).getByLabelText("Email"), "ada@example.org");
    await ui.type(within(form).getByLabelText("Password"), "correct horse");
    await ui.click(within(form).getByRole("button", { name: "Sign in" }));

    expect(await screen.findByTestId("signed-in-user")).toHaveTextContent("ada@example.org");
    expect(await screen.findByTestId("history-empty")).toBeInTheDocument();
    expect(createClient).toHaveBeenCalledWith("https://project.supabase.co", "anon-key", expect.anything());
    expect(auth.signInWithPassword).toHaveBeenCalledWith({
      email: "ada@example.org",
      password: "correct horse",
    });
    const listCall = fetch.mock.calls.find(([url]) => String(url).startsWith("/tasks"));
    const init = (listCall as unknown as [string, RequestInit])[1];
    expect(new Headers(init.headers).get("Authorization")).toBe("Bearer supabase.jwt.token");
  });

  it("shows Supabase's error message", async () => {
    auth.getSession.mockResolvedValue({ data: { session: null }, error: null });
    auth.signInWithPassword.mockResolvedValue({
      data: { session: null, user: null },
      error: new Error("Invalid login credentials"),
    });
    vi.stubGlobal(
      "fetch",
      vi.fn(async () =>
        jsonResponse(200, { supabase_url: "https://p.supabase.co", supabase_anon_key: "k", dev_login: false }),
      ),
    );
    render(<App />);
    const form = await screen.findByRole("region", { name: "Sign in" });
    const ui = userEvent.setup();
    await ui.type(within(form).getByLabelText("Email"), "ada@example.org");
    await ui.type(within(form).getByLabelText("Password"), "wrong");
    await ui.click(within(form).getByRole("button", { name: "Sign in" }));
    expect(await within(form).findByRole("alert")).toHaveTextContent("Invalid login credentials");
  });
});
