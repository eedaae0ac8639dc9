import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { Api } from "../api";
import { jsonResponse, makeTask } from "../test/fixtures";
import { MandateForm, validateMandate } from "./MandateForm";

function setup(fetch: typeof globalThis.fetch, limits = {}) {
  const api = new Api({ token: () => Promise.resolve("t"), fetch });
  const onSubmitted = vi.fn();
  render(<MandateForm api={api} limits={limits} onSubmitted={onSubmitted} />);
  return { onSubmitted, user: userEvent.setup() };
}

describe("validateMandate", () => {
  it("requires a mandate and a positive whole number of ticks", () => {
    expect(validateMandate("  ", "5").mandate).toBeTruthy();
    expect(validateMandate("x", "0").maxTicks).toBeTruthy();
    expect(validateMandate("x", "2.5").maxTicks).toBeTruthy();
    expect(validateMandate("x", "")).toHaveProperty("maxTicks");
    expect(validateMandate("x", "7")).toEqual({});
  });
});

describe("MandateForm", () => {
  it("shows validation messages without calling the gateway", async () => {
    const fetch = vi.fn();
    const { user } = setup(fetch);
    await user.clear(screen.getByLabelText("Max ticks"));
    await user.click(screen.getByRole("button", { name: "Submit task" }));
    expect(screen.getByText("Enter a mandate for the agent.")).toBeInTheDocument();
    expect(screen.getByText("Max ticks must be a whole number of at least 1.")).toBeInTheDocument();
    expect(screen.getByLabelText("Mandate")).toHaveAttribute("aria-invalid", "true");
    expect(fetch).not.toHaveBeenCalled();
  });

  it("shows the gateway's message as it is", async () => {
    const message = "max_ticks must be at most 50 (got 500)";
    const fetch = vi.fn(async () =>
      jsonResponse(422, { error: { code: "invalid_request", message, details: null } }),
    );
    const { user, onSubmitted } = setup(fetch);
    await user.type(screen.getByLabelText("Mandate"), "find things");
    await user.clear(screen.getByLabelText("Max ticks"));
    await user.type(screen.getByLabelText("Max ticks"), "500");
    await user.click(screen.getByRole("button", { name: "Submit task" }));
    expect(await screen.findByRole("alert")).toHaveTextContent(message);
    expect(onSubmitted).not.toHaveBeenCalled();
  });

  it("hints at the gateway's limits without enforcing them", async () => {
    const fetch = vi.fn(async () =>
      jsonResponse(422, { error: { code: "invalid_request", message: "mandate: too long" } }),
    );
    const { user } = setup(fetch, { maxMandateLength: 5, maxTicks: 50 });
    expect(screen.getByText(/\(1 to 50\)/)).toBeInTheDocument();
    await user.type(screen.getByLabelText("Mandate"), "toolong");
    expect(screen.getByText("7 of 5 characters")).toHaveClass("over");
    await user.click(screen.getByRole("button", { name: "Submit task" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("mandate: too long");
    expect(fetch).toHaveBeenCalledOnce();
  });

  it("submits and clears the mandate", async () => {
    const task = makeTask({ mandate: "find things" });
    const fetch = vi.fn(async () =>
      jsonResponse(202, { correlation_id: task.correlation_id, status: "pending", task }),
    );
    const { user, onSubmitted } = setup(fetch);
    await user.type(screen.getByLabelText("Mandate"), "find things");
    await user.click(screen.getByRole("button", { name: "Submit task" }));
    await vi.waitFor(() => expect(onSubmitted).toHaveBeenCalledOnce());
    expect(screen.getByLabelText("Mandate")).toHaveValue("");
  });
});
