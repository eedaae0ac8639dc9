import { useCallback, useEffect, useMemo, useState } from "react";
import { Api, loadUiConfig } from "./api";
import {
  clearDevSession,
  getSupabase,
  restoreDevSession,
  supabaseConfigured,
  supabaseSession,
  type Session,
} from "./auth";
import { Dashboard } from "./components/Dashboard";
import { SignIn } from "./components/SignIn";
import { Workers } from "./components/Workers";
import type { UiConfig } from "./types";

type Boot =
  | { state: "loading" }
  | { state: "error"; message: string }
  | { state: "ready"; config: UiConfig };

async function restoreSession(config: UiConfig): Promise<Session | null> {
  if (supabaseConfigured(config)) {
    const client = await getSupabase(config);
    const { data } = await client.auth.getSession();
    if (data.session?.user) return supabaseSession(client, data.session.user);
  }
  if (config.dev_login) return restoreDevSession();
  clearDevSession();
  return null;
}

export function App() {
  const [boot, setBoot] = useState<Boot>({ state: "loading" });
  const [session, setSession] = useState<Session | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    let stale = false;
    setBoot({ state: "loading" });
    loadUiConfig()
      .then(async (config) => {
        const restored = await restoreSession(config);
        if (stale) return;
        setSession(restored);
        setBoot({ state: "ready", config });
      })
      .catch((error: unknown) => {
        if (stale) return;
        setBoot({
          state: "error",
          message: error instanceof Error ? error.message : String(error),
        });
      });
    return () => {
      stale = true;
    };
  }, [attempt]);

  useEffect(() => {
    if (boot.state !== "ready" || !supabaseConfigured(boot.config)) return;
    let unsubscribe: (() => void) | undefined;
    let stale = false;
    void getSupabase(boot.config).then((client) => {
      if (stale) return;
      const { data } = client.auth.onAuthStateChange((event, next) => {
        if (event === "SIGNED_OUT") setSession((s) => (s?.kind === "supabase" ? null : s));
        if (event === "SIGNED_IN" && next?.user) setSession(supabaseSession(client, next.user));
      });
      unsubscribe = () => data.subscription.unsubscribe();
    });
    return () => {
      stale = true;
      unsubscribe?.();
    };
  }, [boot]);

  const signOut = useCallback(
    async (message: string | null = null) => {
      if (session?.kind === "supabase" && boot.state === "ready") {
        const client = await getSupabase(boot.config);
        await client.auth.signOut().catch(() => undefined);
      }
      clearDevSession();
      setSession(null);
      setNotice(message);
      window.history.replaceState(null, "", window.location.pathname);
    },
    [session, boot],
  );

  const api = useMemo(
    () =>
      session
        ? new Api({
            token: () => session.getToken(),
            onUnauthorized: () => void signOut("Your session has ended. Please sign in again."),
          })
        : null,
    // A new Api only when the signed-in user changes.
    [session],
  );

  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <div className="brand">
          <span className="logo" aria-hidden="true" />
          <span>Euglena</span>
        </div>
        {api && session && (
          <div className="account">
            <Workers api={api} />
            <span className="user" data-testid="signed-in-user">
              {session.kind === "dev" && <span className="tag">local</span>}
              {session.label}
            </span>
            <button type="button" className="secondary small" onClick={() => void signOut()}>
              Sign out
            </button>
          </div>
        )}
      </header>
      <main id="main" tabIndex={-1}>
        {boot.state === "loading" && <p className="muted">Loading…</p>}
        {boot.state === "error" && (
          <div className="card" role="alert">
            <h1>Euglena is unavailable</h1>
            <p>{boot.message}</p>
            <button type="button" onClick={() => setAttempt((n) => n + 1)}>
              Try again
            </button>
          </div>
        )}
        {boot.state === "ready" && !session && (
          <>
            {notice && (
              <p className="info" role="status">
                {notice}
              </p>
            )}
            <SignIn
              config={boot.config}
              onSignedIn={(next) => {
                setNotice(null);
                setSession(next);
              }}
            />
          </>
        )}
        {boot.state === "ready" && api && session && (
          <>
            <h1 className="visually-hidden">Tasks</h1>
            <Dashboard
              key={session.userId}
              api={api}
              limits={{
                maxMandateLength: boot.config.max_mandate_length,
                maxTicks: boot.config.max_ticks,
              }}
            />
          </>
        )}
      </main>
    </>
  );
}
