import { useId, useState, type FormEvent } from "react";
import { ApiError, type Api } from "../api";
import type { SubmitResponse } from "../types";

export const DEFAULT_MAX_TICKS = 10;

export interface FieldErrors {
  mandate?: string;
  maxTicks?: string;
}

/** Checks the browser can make before asking the gateway, which has the final word. */
export function validateMandate(mandate: string, maxTicks: string): FieldErrors {
  const errors: FieldErrors = {};
  if (!mandate.trim()) errors.mandate = "Enter a mandate for the agent.";
  const trimmed = maxTicks.trim();
  if (!/^\d+$/.test(trimmed) || Number(trimmed) < 1) {
    errors.maxTicks = "Max ticks must be a whole number of at least 1.";
  }
  return errors;
}

export interface Limits {
  maxMandateLength?: number | undefined;
  maxTicks?: number | undefined;
}

interface Props {
  api: Api;
  limits?: Limits;
  onSubmitted: (answer: SubmitResponse, mandate: string, maxTicks: number) => void;
}

export function MandateForm({ api, limits = {}, onSubmitted }: Props) {
  const [mandate, setMandate] = useState("");
  const [maxTicks, setMaxTicks] = useState(String(DEFAULT_MAX_TICKS));
  const [fieldErrors, setFieldErrors] = useState<FieldErrors>({});
  const [serverError, setServerError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const mandateId = useId();
  const ticksId = useId();
  const mandateErrorId = useId();
  const ticksErrorId = useId();
  const ticksHintId = useId();
  const serverErrorId = useId();
  const counterId = useId();
  const tooLong = limits.maxMandateLength !== undefined && mandate.length > limits.maxMandateLength;

  async function submit(event: FormEvent) {
    event.preventDefault();
    const errors = validateMandate(mandate, maxTicks);
    setFieldErrors(errors);
    setServerError(null);
    if (errors.mandate || errors.maxTicks) return;
    const ticks = Number(maxTicks.trim());
    setBusy(true);
    try {
      const answer = await api.submitTask(mandate, ticks);
      onSubmitted(answer, mandate, ticks);
      setMandate("");
    } catch (error) {
      setServerError(error instanceof Error ? error.message : String(error));
      if (!(error instanceof ApiError)) console.error(error);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="mandate-form" onSubmit={submit} noValidate aria-label="New task">
      <label htmlFor={mandateId}>Mandate</label>
      <textarea
        id={mandateId}
        name="mandate"
        rows={4}
        value={mandate}
        placeholder="What should the agent do?"
        onChange={(event) => setMandate(event.target.value)}
        onKeyDown={(event) => {
          if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
            event.currentTarget.form?.requestSubmit();
          }
        }}
        aria-invalid={fieldErrors.mandate ? true : undefined}
        aria-describedby={
          [
            limits.maxMandateLength ? counterId : "",
            fieldErrors.mandate ? mandateErrorId : "",
            serverError ? serverErrorId : "",
          ]
            .filter(Boolean)
            .join(" ") || undefined
        }
      />
      {limits.maxMandateLength !== undefined && (
        <p id={counterId} className={tooLong ? "hint over" : "hint"}>
          {mandate.length} of {limits.maxMandateLength} characters
        </p>
      )}
      {fieldErrors.mandate && (
        <p id={mandateErrorId} className="error" role="alert">
          {fieldErrors.mandate}
        </p>
      )}
      <div className="row end">
        <div className="field-ticks">
          <label htmlFor={ticksId}>Max ticks</label>
          <input
            id={ticksId}
            name="max_ticks"
            type="number"
            inputMode="numeric"
            min={1}
            max={limits.maxTicks}
            step={1}
            value={maxTicks}
            onChange={(event) => setMaxTicks(event.target.value)}
            aria-invalid={fieldErrors.maxTicks ? true : undefined}
            aria-describedby={[ticksHintId, fieldErrors.maxTicks ? ticksErrorId : ""]
              .filter(Boolean)
              .join(" ")}
          />
          <p id={ticksHintId} className="hint">
            Steps the agent may take before it stops
            {limits.maxTicks ? ` (1 to ${limits.maxTicks})` : ""}.
          </p>
        </div>
        <button type="submit" disabled={busy}>
          {busy ? "Submitting…" : "Submit task"}
        </button>
      </div>
      {fieldErrors.maxTicks && (
        <p id={ticksErrorId} className="error" role="alert">
          {fieldErrors.maxTicks}
        </p>
      )}
      {serverError && (
        <p id={serverErrorId} className="error" role="alert" data-testid="submit-error">
          {serverError}
        </p>
      )}
    </form>
  );
}
