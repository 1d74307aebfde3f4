// How long to wait before each reconnect attempt: doubling from
// initialDelay up to maxDelay, with the upper half random so that many
// clients cut at once do not all come back in the same instant.

export interface ReconnectOptions {
  /** Wait before the first attempt, in ms (default 250). */
  initialDelay?: number;
  /** Longest wait between attempts, in ms (default 30_000). */
  maxDelay?: number;
  /** Attempts after a cut before giving up (default Infinity). */
  maxAttempts?: number;
}

export interface Backoff {
  initialDelay: number;
  maxDelay: number;
  maxAttempts: number;
}

export function resolveBackoff(options: ReconnectOptions = {}): Backoff {
  return {
    initialDelay: options.initialDelay ?? 250,
    maxDelay: options.maxDelay ?? 30_000,
    maxAttempts: options.maxAttempts ?? Infinity,
  };
}

/** The wait before attempt `attempt` (counting from 1). */
export function backoffDelay(backoff: Backoff, attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(backoff.maxDelay, backoff.initialDelay * 2 ** (attempt - 1));
  return ceiling / 2 + random() * (ceiling / 2);
}
