import type { SupabaseClient } from "@supabase/supabase-js";
import { requestDevToken } from "./api";
import type { UiConfig } from "./types";

export interface Session {
  kind: "dev" | "supabase";
  userId: string;
  label: string;
  getToken(): Promise<string>;
}

const DEV_SESSION_KEY = "euglena.devSession";

interface StoredDevSession {
  access_token: string;
  user_id: string;
  user: string;
}

/** The `exp` claim of a JWT in seconds, or null if it cannot be read. */
export function tokenExpiry(token: string): number | null {
  const part = token.split(".")[1];
  if (!part) return null;
  try {
    const base64 = part.replace(/-/g, "+").replace(/_/g, "/");
    const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
    const claims = JSON.parse(atob(padded)) as { exp?: unknown };
    return typeof claims.exp === "number" ? claims.exp : null;
  } catch {
    return null;
  }
}

function devSession(stored: StoredDevSession): Session {
  return {
    kind: "dev",
    userId: stored.user_id,
    label: stored.user,
    getToken: () => Promise.resolve(stored.access_token),
  };
}

export function restoreDevSession(storage: Storage = localStorage): Session | null {
  const raw = storage.getItem(DEV_SESSION_KEY);
  if (!raw) return null;
  try {
    const stored = JSON.parse(raw) as StoredDevSession;
    if (typeof stored.access_token !== "string" || typeof stored.user_id !== "string") {
      throw new Error("malformed");
    }
    const exp = tokenExpiry(stored.access_token);
    if (exp !== null && exp * 1000 <= Date.now() + 5_000) throw new Error("expired");
    return devSession(stored);
  } catch {
    storage.removeItem(DEV_SESSION_KEY);
    return null;
  }
}

export async function devSignIn(user: string, storage: Storage = localStorage): Promise<Session> {
  const answer = await requestDevToken(user);
  const stored: StoredDevSession = {
    access_token: answer.access_token,
    user_id: answer.user_id,
    user,
  };
  storage.setItem(DEV_SESSION_KEY, JSON.stringify(stored));
  return devSession(stored);
}

export function clearDevSession(storage: Storage = localStorage): void {
  storage.removeItem(DEV_SESSION_KEY);
}

let supabaseClient: Promise<SupabaseClient> | null = null;

export function supabaseConfigured(config: UiConfig): boolean {
  return Boolean(config.supabase_url && config.supabase_anon_key);
}

export function getSupabase(config: UiConfig): Promise<SupabaseClient> {
  supabaseClient ??= import("@supabase/supabase-js").then(({ createClient }) =>
    createClient(config.supabase_url, config.supabase_anon_key, {
      auth: { persistSession: true, autoRefreshToken: true, detectSessionInUrl: true },
    }),
  );
  return supabaseClient;
}

export function supabaseSession(
  client: SupabaseClient,
  user: { id: string; email?: string | undefined },
): Session {
  return {
    kind: "supabase",
    userId: user.id,
    label: user.email ?? user.id,
    async getToken() {
      const { data, error } = await client.auth.getSession();
      if (error) throw error;
      const token = data.session?.access_token;
      if (!token) throw new Error("Your session has ended. Sign in again.");
      return token;
    },
  };
}
