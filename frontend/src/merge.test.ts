// @vitest-environment node
import { describe, expect, it } from "vitest";
import { appendPage, mergeTask, upsertTask } from "./merge";
import { makeTask } from "./test/fixtures";

describe("mergeTask", () => {
  it("never goes back in time and keeps terminal states", () => {
    const old = makeTask({ status: "in_progress", updated_at: "2025-01-01T00:00:01Z" });
    const newer = { ...old, ticks: 2, updated_at: "2025-01-01T00:00:02Z" };
    expect(mergeTask(newer, old)).toBe(newer);
    expect(mergeTask(old, newer)).toBe(newer);
    const done = { ...old, status: "completed" as const, updated_at: "2025-01-01T00:00:03Z" };
    const late = { ...old, status: "in_progress" as const, updated_at: "2025-01-01T00:00:04Z" };
    expect(mergeTask(done, late)).toBe(done);
  });
});

describe("upsertTask / appendPage", () => {
  it("inserts newest first and updates in place", () => {
    const a = makeTask({ created_at: "2025-01-01T00:00:01Z" });
    const b = makeTask({ created_at: "2025-01-01T00:00:02Z" });
    let list = upsertTask([], a);
    list = upsertTask(list, b);
    expect(list.map((t) => t.correlation_id)).toEqual([b.correlation_id, a.correlation_id]);
    const updated = { ...a, status: "completed" as const, updated_at: "2025-01-01T00:00:05Z" };
    list = upsertTask(list, updated);
    expect(list[1]).toBe(updated);
  });

  it("drops duplicates between pages", () => {
    const a = makeTask();
    const b = makeTask();
    expect(appendPage([a], [a, b])).toEqual([a, b]);
  });
});
