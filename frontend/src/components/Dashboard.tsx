import { useCallback, useEffect, useRef, useState } from "react";
import type { Api } from "../api";
import { appendPage, upsertTask } from "../merge";
import type { SubmitResponse, Task } from "../types";
import { useHashTask } from "../useHashTask";
import { History } from "./History";
import { MandateForm, type Limits } from "./MandateForm";
import { TaskView } from "./TaskView";

export const PAGE_SIZE = 10;

export function Dashboard({ api, limits }: { api: Api; limits?: Limits }) {
  const [items, setItems] = useState<Task[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [loaded, setLoaded] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [selectedId, openTask] = useHashTask();
  const generation = useRef(0);

  const load = useCallback(
    async (after: string | null) => {
      const mine = after === null ? ++generation.current : generation.current;
      setLoading(true);
      setError(null);
      try {
        const page = await api.listTasks(PAGE_SIZE, after);
        if (mine !== generation.current) return;
        setItems((current) => (after === null ? page.items : appendPage(current, page.items)));
        setCursor(page.next_cursor ?? null);
        setLoaded(true);
      } catch (caught) {
        if (mine !== generation.current) return;
        setError(caught instanceof Error ? caught.message : String(caught));
      } finally {
        if (mine === generation.current) setLoading(false);
      }
    },
    [api],
  );

  useEffect(() => {
    void load(null);
  }, [load]);

  const onTask = useCallback((task: Task) => {
    setItems((current) => upsertTask(current, task));
  }, []);

  const onSubmitted = useCallback(
    (answer: SubmitResponse) => {
      if (answer.task) onTask(answer.task);
      openTask(answer.correlation_id);
    },
    [onTask, openTask],
  );

  const initial = items.find((item) => item.correlation_id === selectedId);

  return (
    <div className="dashboard">
      <div className="column">
        <section className="card" aria-labelledby="new-task-title">
          <h2 id="new-task-title">New task</h2>
          <MandateForm api={api} limits={limits ?? {}} onSubmitted={onSubmitted} />
        </section>
        {selectedId && (
          <TaskView
            key={selectedId}
            api={api}
            taskId={selectedId}
            initial={initial}
            onTask={onTask}
            onClose={() => openTask(null)}
          />
        )}
      </div>
      <div className="column">
        <History
          items={items}
          loading={loading}
          loaded={loaded}
          error={error}
          hasMore={cursor !== null}
          selectedId={selectedId}
          onOpen={(task) => openTask(task.correlation_id)}
          onLoadMore={() => void load(cursor)}
          onRefresh={() => void load(null)}
        />
      </div>
    </div>
  );
}
