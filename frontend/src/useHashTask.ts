import { useCallback, useEffect, useState } from "react";

const PREFIX = "#/tasks/";

export function taskIdFromHash(hash: string): string | null {
  if (!hash.startsWith(PREFIX)) return null;
  const id = decodeURIComponent(hash.slice(PREFIX.length)).trim();
  return id || null;
}

/** The open task lives in the URL hash (`#/tasks/<id>`), so it survives reloads and can be linked. */
export function useHashTask(): [string | null, (id: string | null) => void] {
  const [taskId, setTaskId] = useState(() => taskIdFromHash(window.location.hash));

  useEffect(() => {
    const onChange = () => setTaskId(taskIdFromHash(window.location.hash));
    window.addEventListener("hashchange", onChange);
    return () => window.removeEventListener("hashchange", onChange);
  }, []);

  const open = useCallback((id: string | null) => {
    const hash = id ? `${PREFIX}${encodeURIComponent(id)}` : "";
    if (window.location.hash !== hash) {
      const url = `${window.location.pathname}${window.location.search}${hash}`;
      window.history.pushState(null, "", url);
    }
    setTaskId(id);
  }, []);

  return [taskId, open];
}
