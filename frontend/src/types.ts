export type TaskStatus =
  | "pending"
  | "accepted"
  | "started"
  | "in_progress"
  | "completed"
  | "failed"
  | "cancelled";

export const TERMINAL_STATUSES: ReadonlySet<string> = new Set(["completed", "failed", "cancelled"]);

export function isTerminal(status: string): boolean {
  return TERMINAL_STATUSES.has(status);
}

export interface Task {
  correlation_id: string;
  user_id: string;
  mandate: string;
  max_ticks: number;
  status: TaskStatus;
  ticks: number;
  result: string | null;
  error: string | null;
  worker_id: string | null;
  last_action: string | null;
  usage?: Record<string, number> | null;
  source?: string;
  created_at: string;
  updated_at: string;
  started_at?: string | null;
  completed_at?: string | null;
}

export interface TaskPage {
  items: Task[];
  next_cursor: string | null;
}

export interface SubmitResponse {
  correlation_id: string;
  status: string;
  task?: Task;
}

export interface UiConfig {
  supabase_url: string;
  supabase_anon_key: string;
  dev_login: boolean;
  /** Limits the gateway enforces, for hints only: the gateway has the final word. */
  max_mandate_length?: number | undefined;
  max_ticks?: number | undefined;
}

export const STATUS_LABELS: Record<string, string> = {
  pending: "Pending",
  accepted: "Accepted",
  started: "Started",
  in_progress: "In progress",
  completed: "Completed",
  failed: "Failed",
  cancelled: "Cancelled",
};

export function statusLabel(status: string): string {
  return STATUS_LABELS[status] ?? status;
}
