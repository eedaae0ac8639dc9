import { useId, useState, type FormEvent } from "react";
import { devSignIn, getSupabase, supabaseConfigured, supabaseSession, type Session } from "../auth";
import type { UiConfig } from "../types";

interface Props {
  config: UiConfig;
  onSignedIn: (session: Session) => void;
}

function messageOf(error: unknown): string {
  return error instanceof Error && error.message ? error.message : "Sign-in failed.";
}

function DevSignIn({ onSignedIn }: { onSignedIn: (session: Session) => void }) {
  const [user, setUser] = useState("demo");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const inputId = useId();
  const errorId = useId();

  async function submit(event: FormEvent) {
    event.preventDefault();
    const name = user.trim();
    if (!name) {
      setError("Enter a user name, or use demo.");
      return;
    }
    setBusy(true);
    setError(null);
    try {
      onSignedIn(await devSignIn(name));
    } catch (caught) {
      setError(messageOf(caught));
      setBusy(false);
    }
  }

  return (
    <section className="card dev-login" aria-labelledby="dev-login-title">
      <h2 id="dev-login-title">Local developer sign-in</h2>
      <p className="notice">
        This server runs in local development mode. Anyone who can reach it can sign in as any
        user. It is never offered outside local mode.
      </p>
      <form onSubmit={submit} noValidate>
        <label htmlFor={inputId}>User name or email</label>
        <input
          id={inputId}
          name="user"
          autoComplete="username"
          value={user}
          onChange={(event) => setUser(event.target.value)}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? errorId : undefined}
        />
        {error && (
          <p id={errorId} className="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {busy ? "Signing in…" : "Sign in as local user"}
        </button>
      </form>
    </section>
  );
}

function SupabaseSignIn({ config, onSignedIn }: Props) {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [info, setInfo] = useState<string | null>(null);
  const emailId = useId();
  const passwordId = useId();
  const errorId = useId();

  async function run(mode: "sign-in" | "sign-up") {
    if (!email.trim() || !password) {
      setError("Enter your email address and password.");
      return;
    }
    setBusy(true);
    setError(null);
    setInfo(null);
    try {
      const client = await getSupabase(config);
      const credentials = { email: email.trim(), password };
      const { data, error: authError } =
        mode === "sign-in"
          ? await client.auth.signInWithPassword(credentials)
          : await client.auth.signUp(credentials);
      if (authError) throw authError;
      if (data.session && data.user) {
        onSignedIn(supabaseSession(client, data.user));
        return;
      }
      setInfo("Check your email to confirm your account, then sign in.");
    } catch (caught) {
      setError(messageOf(caught));
    }
    setBusy(false);
  }

  return (
    <section className="card" aria-labelledby="supabase-login-title">
      <h2 id="supabase-login-title">Sign in</h2>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          void run("sign-in");
        }}
        noValidate
      >
        <label htmlFor={emailId}>Email</label>
        <input
          id={emailId}
          type="email"
          autoComplete="email"
          value={email}
          onChange={(event) => setEmail(event.target.value)}
          aria-describedby={error ? errorId : undefined}
        />
        <label htmlFor={passwordId}>Password</label>
        <input
          id={passwordId}
          type="password"
          autoComplete="current-password"
          value={password}
          onChange={(event) => setPassword(event.target.value)}
          aria-describedby={error ? errorId : undefined}
        />
        {error && (
          <p id={errorId} className="error" role="alert">
            {error}
          </p>
        )}
        {info && (
          <p className="info" role="status">
            {info}
          </p>
        )}
        <div className="row">
          <button type="submit" disabled={busy}>
            Sign in
          </button>
          <button
            type="button"
            className="secondary"
            disabled={busy}
            onClick={() => void run("sign-up")}
          >
            Create account
          </button>
        </div>
      </form>
    </section>
  );
}

export function SignIn({ config, onSignedIn }: Props) {
  const hasSupabase = supabaseConfigured(config);
  return (
    <div className="sign-in">
      <h1>Sign in to Euglena</h1>
      <p className="lede">Give agents a mandate, watch them work, and review past results.</p>
      {hasSupabase && <SupabaseSignIn config={config} onSignedIn={onSignedIn} />}
      {config.dev_login && <DevSignIn onSignedIn={onSignedIn} />}
      {!hasSupabase && !config.dev_login && (
        <p className="error" role="alert">
          Sign-in is not configured on this server. Ask an administrator to set the Supabase URL
          and anon key.
        </p>
      )}
    </div>
  );
}
