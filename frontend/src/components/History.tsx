import { formatTime, truncate } from "../format";
import type { Task } from "../types";
import { StatusBadge } from "./StatusBadge";

interface Props {
  items: Task[];
  loading: boolean;
  error: string | null;
  hasMore: boolean;
  loaded: boolean;
  selectedId: string | null;
  onOpen: (task: Task) => void;
  onLoadMore: () => void;
  onRefresh: () => void;
}

export function History({
  items,
  loading,
  error,
  hasMore,
  loaded,
  selectedId,
  onOpen,
  onLoadMore,
  onRefresh,
}: Props) {
  return (
    <section className="card history" aria-labelledby="history-title" aria-busy={loading}>
      <div className="row between">
        <h2 id="history-title">History</h2>
        <button type="button" className="secondary small" onClick={onRefresh} disabled={loading}>
          Refresh
        </button>
      </div>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {loaded && items.length === 0 && !error && (
        <p className="muted" data-testid="history-empty">
          No tasks yet. Submit a mandate to get started.
        </p>
      )}
      {items.length > 0 && (
        <ol className="history-list" data-testid="history-list">
          {items.map((task) => (
            <li key={task.correlation_id}>
              <button
                type="button"
                className="history-item"
                data-testid="history-item"
                data-task-id={task.correlation_id}
                data-status={task.status}
                aria-current={task.correlation_id === selectedId ? "true" : undefined}
                onClick={() => onOpen(task)}
              >
                <span className="history-mandate">{truncate(task.mandate, 120)}</span>
                <span className="history-meta">
                  <StatusBadge status={task.status} />
                  <time dateTime={task.created_at}>{formatTime(task.created_at)}</time>
                </span>
              </button>
            </li>
          ))}
        </ol>
      )}
      {loading && (
        <p className="muted" role="status">
          Loading history…
        </p>
      )}
      {hasMore && !loading && (
        <button type="button" className="secondary" onClick={onLoadMore}>
          Load older tasks
        </button>
      )}
    </section>
  );
}
