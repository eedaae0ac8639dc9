import { useEffect, useRef, useState } from "react";
import { ApiError, watchTask, type Api } from "../api";
import { formatTime } from "../format";
import { mergeTask } from "../merge";
import { isTerminal, type Task } from "../types";
import { StatusBadge } from "./StatusBadge";

interface Props {
  api: Api;
  taskId: string;
  initial?: Task | undefined;
  onTask: (task: Task) => void;
  onClose: () => void;
}

type Connection = "connecting" | "live" | "reconnecting" | "done";

export function TaskView({ api, taskId, initial, onTask, onClose }: Props) {
  const [task, setTask] = useState<Task | null>(initial ?? null);
  const [error, setError] = useState<string | null>(null);
  const [cancelError, setCancelError] = useState<string | null>(null);
  const [cancelling, setCancelling] = useState(false);
  const [connection, setConnection] = useState<Connection>("connecting");
  const headingRef = useRef<HTMLHeadingElement>(null);
  const onTaskRef = useRef(onTask);
  onTaskRef.current = onTask;

  useEffect(() => {
    setTask((current) => (current?.correlation_id === taskId ? current : (initial ?? null)));
    setError(null);
    setCancelError(null);
    setConnection("connecting");
    headingRef.current?.focus();
    const controller = new AbortController();
    const accept = (incoming: Task) => {
      if (controller.signal.aborted || incoming.correlation_id !== taskId) return;
      setTask((current) => mergeTask(current, incoming));
      onTaskRef.current(incoming);
    };
    api
      .getTask(taskId, controller.signal)
      .then(accept)
      .catch(() => undefined);
    watchTask(api, taskId, accept, controller.signal, {
      onConnectionChange: (state) => {
        if (!controller.signal.aborted) setConnection(state);
      },
    })
      .then(() => {
        if (!controller.signal.aborted) setConnection("done");
      })
      .catch((caught: unknown) => {
        if (controller.signal.aborted) return;
        setConnection("done");
        setError(caught instanceof Error ? caught.message : String(caught));
      });
    return () => controller.abort();
    // `initial` only seeds the view; a new object for the same task must not restart the stream.
  }, [api, taskId]);

  async function cancel() {
    setCancelling(true);
    setCancelError(null);
    try {
      const updated = await api.cancelTask(taskId);
      if (updated) {
        setTask((current) => mergeTask(current, updated));
        onTaskRef.current(updated);
      }
    } catch (caught) {
      setCancelError(caught instanceof Error ? caught.message : String(caught));
      if (caught instanceof ApiError && caught.status === 409) {
        api
          .getTask(taskId)
          .then((fresh) => {
            setTask((current) => mergeTask(current, fresh));
            onTaskRef.current(fresh);
          })
          .catch(() => undefined);
      }
    } finally {
      setCancelling(false);
    }
  }

  const terminal = task ? isTerminal(task.status) : false;

  return (
    <section className="card task-view" aria-labelledby="task-view-title" data-task-id={taskId}>
      <div className="row between">
        <h2 id="task-view-title" ref={headingRef} tabIndex={-1}>
          Task
        </h2>
        <button type="button" className="secondary small" onClick={onClose}>
          Close
        </button>
      </div>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {!task && !error && <p className="muted">Loading task…</p>}
      {task && (
        <>
          <p className="mandate" data-testid="task-mandate">
            {task.mandate}
          </p>
          <div aria-live="polite" aria-atomic="false">
            <dl className="facts">
              <div>
                <dt>Status</dt>
                <dd data-testid="task-status" data-status={task.status}>
                  <StatusBadge status={task.status} />
                </dd>
              </div>
              <div>
                <dt>Ticks</dt>
                <dd data-testid="task-ticks">
                  {task.ticks} of {task.max_ticks}
                </dd>
              </div>
              <div>
                <dt>Submitted</dt>
                <dd>
                  <time dateTime={task.created_at}>{formatTime(task.created_at)}</time>
                </dd>
              </div>
              <div className="wide">
                <dt>Last action</dt>
                <dd className="action" data-testid="task-last-action">
                  {task.last_action || "—"}
                </dd>
              </div>
            </dl>
            {task.result != null && task.result !== "" && (
              <div className="outcome">
                <h3>Result</h3>
                <div className="result" data-testid="task-result">
                  {task.result}
                </div>
              </div>
            )}
            {task.error && (
              <div className="outcome">
                <h3>{task.status === "cancelled" ? "Reason" : "Error"}</h3>
                <div className="task-error" data-testid="task-error">
                  {task.error}
                </div>
              </div>
            )}
          </div>
          <div className="row between">
            <span className="muted small-text" data-testid="task-connection">
              {connection === "live" && !terminal && "Live updates on"}
              {connection === "connecting" && "Connecting…"}
              {connection === "reconnecting" && "Reconnecting…"}
              {terminal && "Finished"}
            </span>
            {!terminal && (
              <button type="button" className="danger" onClick={cancel} disabled={cancelling}>
                {cancelling ? "Cancelling…" : "Cancel task"}
              </button>
            )}
          </div>
          {cancelError && (
            <p className="error" role="alert">
              {cancelError}
            </p>
          )}
        </>
      )}
    </section>
  );
}
