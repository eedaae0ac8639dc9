// Browser scenarios for tests/browser: Debian's Chromium driven by playwright-core.
//
// Reads one JSON request on stdin: {scenario, baseUrl, artifacts, chromium, params}.
// Prints one JSON line with the scenario's observations on stdout and exits 0, or prints the
// failure on stderr (with a screenshot in `artifacts`) and exits 1. The pytest side makes the
// assertions about the gateway's state; the scenarios assert what a user sees.

import { mkdir } from "node:fs/promises";
import path from "node:path";
import { chromium } from "playwright-core";

const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

const DESKTOP = { width: 1280, height: 860 };
const PHONE = { width: 390, height: 844 };

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString("utf8"));
}

class Run {
  constructor(request, browser) {
    this.request = request;
    this.browser = browser;
    this.baseUrl = request.baseUrl.replace(/\/$/, "");
    this.artifacts = request.artifacts;
    this.pages = [];
    this.problems = [];
    this.timeout = request.timeoutMs ?? 60_000;
  }

  async page(viewport = DESKTOP) {
    const context = await this.browser.newContext({ viewport, reducedMotion: "reduce" });
    context.setDefaultTimeout(this.timeout);
    const page = await context.newPage();
    page.on("pageerror", (error) => this.problems.push(`page error: ${error.message}`));
    page.on("console", (message) => {
      if (message.type() !== "error") return;
      // Chromium logs every 4xx response; the scenarios check refusals through the UI instead.
      if (/^Failed to load resource: .*status of 4\d\d/.test(message.text())) return;
      this.problems.push(`console error: ${message.text()}`);
    });
    page.on("requestfailed", (request) => {
      const failure = request.failure()?.errorText ?? "";
      if (!failure.includes("ERR_ABORTED")) {
        this.problems.push(`request failed: ${request.method()} ${request.url()} ${failure}`);
      }
    });
    this.pages.push(page);
    return page;
  }

  async shot(page, name, options = {}) {
    const file = path.join(this.artifacts, `${name}.png`);
    await page.screenshot({ path: file, fullPage: true, ...options });
    return file;
  }

  async signIn(page, user) {
    await page.goto(`${this.baseUrl}/`);
    await page.getByRole("heading", { name: "Local developer sign-in" }).waitFor();
    await page.getByLabel("User name or email").fill(user);
    await page.getByRole("button", { name: "Sign in as local user" }).click();
    await page.getByTestId("signed-in-user").filter({ hasText: user }).waitFor();
    await this.historyLoaded(page);
  }

  async historyLoaded(page) {
    const history = page.getByRole("region", { name: "History" });
    await history.waitFor();
    await page.waitForFunction(() => {
      const region = document.querySelector("section.history");
      if (!region || region.getAttribute("aria-busy") === "true") return false;
      return Boolean(
        region.querySelector('[data-testid="history-empty"], [data-testid="history-item"]'),
      );
    });
    return history;
  }

  async historyIds(page) {
    await this.historyLoaded(page);
    return page
      .getByTestId("history-item")
      .evaluateAll((items) => items.map((item) => item.getAttribute("data-task-id")));
  }

  async submit(page, mandate, maxTicks) {
    await page.getByLabel("Mandate").fill(mandate);
    await page.getByLabel("Max ticks").fill(String(maxTicks));
    await page.getByRole("button", { name: "Submit task" }).click();
  }

  /** Record every status the task view shows, so tests can tell live updates from a reload. */
  async recordStatuses(page) {
    await page.evaluate(() => {
      window.__statuses = [];
      window.__loadedOnce = true;
      const note = () => {
        const status = document
          .querySelector('[data-testid="task-status"]')
          ?.getAttribute("data-status");
        const seen = window.__statuses;
        if (status && seen[seen.length - 1] !== status) seen.push(status);
      };
      new MutationObserver(note).observe(document.body, {
        subtree: true,
        childList: true,
        attributes: true,
        attributeFilter: ["data-status"],
      });
    });
  }

  async taskView(page) {
    const view = page.getByRole("region", { name: "Task", exact: true });
    await view.waitFor();
    return view;
  }

  async waitStatus(page, statuses, timeout = this.timeout) {
    const wanted = Array.isArray(statuses) ? statuses : [statuses];
    const selector = wanted
      .map((status) => `[data-testid="task-status"][data-status="${status}"]`)
      .join(", ");
    await page.locator(selector).first().waitFor({ timeout });
    return page.getByTestId("task-status").getAttribute("data-status");
  }

  async readTask(page) {
    const view = await this.taskView(page);
    const text = async (testId) => {
      const locator = view.getByTestId(testId);
      return (await locator.count()) ? (await locator.innerText()).trim() : null;
    };
    return {
      id: await view.getAttribute("data-task-id"),
      status: await view.getByTestId("task-status").getAttribute("data-status"),
      ticks: await text("task-ticks"),
      lastAction: await text("task-last-action"),
      result: await text("task-result"),
      error: await text("task-error"),
      mandate: await text("task-mandate"),
    };
  }

  async noHorizontalScroll(page) {
    return page.evaluate(
      () => document.documentElement.scrollWidth <= window.innerWidth + 1,
    );
  }
}

const scenarios = {
  /** Sign in, submit, follow the task to `completed` without reloading, reload, find it in history. */
  async submit_and_watch(run, params) {
    const page = await run.page();
    await page.goto(`${run.baseUrl}/`);
    await page.getByRole("heading", { name: "Local developer sign-in" }).waitFor();
    await run.shot(page, "01-sign-in");

    await run.signIn(page, params.user);
    await page.getByTestId("history-empty").waitFor();
    await page
      .getByTestId("worker-count")
      .filter({ hasText: `Active workers: ${params.workers}` })
      .waitFor();
    const workersText = (await page.getByTestId("worker-count").innerText()).trim();
    await run.shot(page, "02-dashboard");

    await run.recordStatuses(page);
    await run.submit(page, params.mandate, params.maxTicks);
    await run.taskView(page);
    await run.waitStatus(page, "completed");
    const live = await run.readTask(page);
    const sameDocument = await page.evaluate(() => window.__loadedOnce === true);
    const statuses = await page.evaluate(() => window.__statuses);
    const hash = await page.evaluate(() => window.location.hash);
    await page
      .locator(`[data-testid="history-item"][data-task-id="${live.id}"][data-status="completed"]`)
      .waitFor();
    await run.shot(page, "03-task-completed");

    await page.reload();
    await run.historyLoaded(page);
    const reloaded = await page.evaluate(() => window.__loadedOnce === true);
    const row = page.locator(`[data-testid="history-item"][data-task-id="${live.id}"]`);
    await row.waitFor();
    const history = {
      ids: await run.historyIds(page),
      status: await row.getAttribute("data-status"),
      text: (await row.innerText()).trim(),
    };
    await run.shot(page, "04-history-after-reload");

    await (await run.taskView(page)).getByRole("button", { name: "Close" }).click();
    await page.getByRole("region", { name: "Task", exact: true }).waitFor({ state: "detached" });
    await row.click();
    await run.waitStatus(page, "completed");
    const opened = await run.readTask(page);
    await run.shot(page, "05-task-opened-from-history");

    await page.setViewportSize(PHONE);
    await run.shot(page, "06-phone-layout");
    const fitsPhone = await run.noHorizontalScroll(page);

    return { live, statuses, sameDocument, hash, reloaded, history, opened, workersText, fitsPhone };
  },

  /** One user's tasks are invisible to another, in the list and when opened by id. */
  async isolation(run, params) {
    const second = await run.page();
    await run.signIn(second, params.secondUser);
    const secondIds = await run.historyIds(second);
    const emptyText = (await second.getByTestId("history-empty").innerText()).trim();
    await run.shot(second, "07-second-user-history");

    await second.goto(`${run.baseUrl}/#/tasks/${params.foreignTaskId}`);
    await run.historyLoaded(second);
    const view = await run.taskView(second);
    const alert = view.getByRole("alert");
    await alert.waitFor();
    const foreignError = (await alert.innerText()).trim();
    const foreignMandateShown = (await second.getByText(params.foreignMandate).count()) > 0;
    await run.shot(second, "08-second-user-foreign-task");

    const first = await run.page();
    await run.signIn(first, params.firstUser);
    const firstPageIds = await run.historyIds(first);
    const more = first.getByRole("button", { name: "Load older tasks" });
    const hadMore = (await more.count()) > 0;
    if (hadMore) {
      await more.click();
      await first.getByTestId("history-item").nth(firstPageIds.length).waitFor();
      await run.historyLoaded(first);
    }
    const firstIds = await run.historyIds(first);
    const moreAfter = await more.count();
    await run.shot(first, "09-first-user-history-paginated");
    return {
      secondIds,
      emptyText,
      foreignError,
      foreignMandateShown,
      firstPageIds,
      hadMore,
      firstIds,
      moreAfter,
    };
  },

  /** Inputs the gateway refuses: its message is shown as it is; empty input is caught first. */
  async bad_mandate(run, params) {
    const page = await run.page();
    await run.signIn(page, params.user);
    const shown = [];
    for (const [index, attempt] of params.attempts.entries()) {
      await run.submit(page, attempt.mandate, attempt.maxTicks);
      const error = page.getByTestId("submit-error");
      await error.waitFor();
      shown.push((await error.innerText()).trim());
      await run.shot(page, `10-gateway-refusal-${index + 1}`);
      await page.getByLabel("Mandate").fill("");
    }
    await page.getByRole("button", { name: "Submit task" }).click();
    const local = page.getByText("Enter a mandate for the agent.");
    await local.waitFor();
    const mandateInvalid = await page.getByLabel("Mandate").getAttribute("aria-invalid");
    await run.shot(page, "11-form-validation");
    const historyIds = await run.historyIds(page);
    return { shown, localMessage: (await local.innerText()).trim(), mandateInvalid, historyIds };
  },

  /** Submit with the keyboard only, wait until an agent works on it, cancel it from the task view. */
  async cancel(run, params) {
    const page = await run.page();
    await run.signIn(page, params.user);
    await run.recordStatuses(page);
    await page.getByLabel("Mandate").focus();
    await page.keyboard.type(params.mandate);
    await page.keyboard.press("Tab");
    const ticksFocused = await page.evaluate(
      () => document.activeElement?.getAttribute("name") === "max_ticks",
    );
    await page.keyboard.press("ControlOrMeta+a");
    await page.keyboard.type(String(params.maxTicks));
    await page.keyboard.press("Tab");
    const submitFocused = await page.evaluate(
      () => document.activeElement?.textContent === "Submit task",
    );
    await page.keyboard.press("Enter");
    await run.taskView(page);
    await run.waitStatus(page, params.cancelWhen);
    const before = await run.readTask(page);
    await run.shot(page, "12-task-running");
    await page.getByRole("button", { name: "Cancel task" }).click();
    await run.waitStatus(page, "cancelled");
    const after = await run.readTask(page);
    const cancelButtonGone =
      (await page.getByRole("button", { name: "Cancel task" }).count()) === 0;
    await run.shot(page, "13-task-cancelled");
    const statuses = await page.evaluate(() => window.__statuses);
    return { before, after, statuses, cancelButtonGone, ticksFocused, submitFocused };
  },
};

async function main() {
  const request = await readStdin();
  const scenario = scenarios[request.scenario];
  if (!scenario) throw new Error(`unknown scenario ${request.scenario}`);
  await mkdir(request.artifacts, { recursive: true });
  const browser = await chromium.launch({
    executablePath: request.chromium,
    headless: true,
    args: CHROMIUM_ARGS,
  });
  const run = new Run(request, browser);
  try {
    const result = await scenario(run, request.params ?? {});
    process.stdout.write(`${JSON.stringify({ ok: true, result, problems: run.problems })}\n`);
  } catch (error) {
    for (const [index, page] of run.pages.entries()) {
      await run
        .shot(page, `failed-${request.scenario}-${index + 1}`)
        .catch(() => undefined);
    }
    process.stderr.write(`${error?.stack ?? error}\n`);
    if (run.problems.length) process.stderr.write(`browser problems:\n${run.problems.join("\n")}\n`);
    process.exitCode = 1;
  } finally {
    await browser.close();
  }
}

await main();
