import { isTerminal, type Task } from "./types";

/** Whether `incoming` should replace `current` (never go back in time, terminal is final). */
export function supersedes(incoming: Task, current: Task | null | undefined): boolean {
  if (!current) return true;
  if (current.correlation_id !== incoming.correlation_id) return true;
  if (isTerminal(current.status)) {
    return isTerminal(incoming.status) && incoming.updated_at > current.updated_at;
  }
  return incoming.updated_at >= current.updated_at;
}

export function mergeTask(current: Task | null | undefined, incoming: Task): Task {
  return supersedes(incoming, current) ? incoming : (current as Task);
}

/** Insert or update `task` in a newest-first list. */
export function upsertTask(items: Task[], task: Task): Task[] {
  const index = items.findIndex((item) => item.correlation_id === task.correlation_id);
  if (index >= 0) {
    const merged = mergeTask(items[index], task);
    if (merged === items[index]) return items;
    const copy = items.slice();
    copy[index] = merged;
    return copy;
  }
  const copy = [task, ...items];
  copy.sort((a, b) => (a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : 0));
  return copy;
}

/** Append a page, dropping tasks already listed. */
export function appendPage(items: Task[], page: Task[]): Task[] {
  const seen = new Set(items.map((item) => item.correlation_id));
  return [...items, ...page.filter((item) => !seen.has(item.correlation_id))];
}
