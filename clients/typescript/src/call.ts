// One outgoing call from creation to its single outcome. Its timeout and
// AbortSignal run from the moment it is made, so they cover the time spent
// waiting for a connection as well as the time in flight.

import { AbortError, TimeoutError } from "./errors.js";
import type { Params } from "./protocol.js";

export interface CallOptions {
  /** ms before the call fails with TimeoutError (default: the client's callTimeout). */
  timeout?: number;
  /** Aborting fails the call with AbortError; a late answer is then ignored. */
  signal?: AbortSignal;
}

export class PendingCall {
  settled = false;
  /** Runs synchronously with the result, before the caller's promise resolves. */
  onResult: ((result: unknown) => void) | undefined;
  /** Runs once when the call settles, with the error if it failed (for the client's bookkeeping). */
  onSettle: ((error: unknown) => void) | undefined;
  /** A subscribe call: the method that undoes it. */
  undoMethod: string | undefined;
  /** Part of a batch; such calls are never sent twice. */
  inBatch = false;
  /** Safe to send again on a new connection after a cut. */
  resendable = false;
  /** The request as JSON text, written when the call is made. */
  text = "";

  readonly promise: Promise<unknown>;
  private resolveFn!: (value: unknown) => void;
  private rejectFn!: (error: unknown) => void;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private signal: AbortSignal | undefined;
  private readonly abortListener = () => this.reject(abortError(this.signal));

  constructor(
    readonly id: number,
    readonly method: string,
    readonly params: Params | undefined,
  ) {
    this.promise = new Promise((resolve, reject) => {
      this.resolveFn = resolve;
      this.rejectFn = reject;
    });
  }

  /** Starts the clock and listens to the signal. */
  arm(timeout: number, signal: AbortSignal | undefined): void {
    if (this.settled) return;
    if (signal?.aborted) {
      this.reject(abortError(signal));
      return;
    }
    if (Number.isFinite(timeout)) {
      this.timer = setTimeout(() => this.reject(new TimeoutError(`${this.method}: no answer within ${timeout} ms`)), timeout);
    }
    if (signal) {
      this.signal = signal;
      signal.addEventListener("abort", this.abortListener, { once: true });
    }
  }

  resolve(result: unknown): void {
    if (this.settled) return;
    this.finish(undefined);
    try {
      this.onResult?.(result);
    } catch (error) {
      this.rejectFn(error);
      return;
    }
    this.resolveFn(result);
  }

  reject(error: unknown): void {
    if (this.settled) return;
    this.finish(error);
    this.rejectFn(error);
  }

  private finish(error: unknown): void {
    this.settled = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.signal?.removeEventListener("abort", this.abortListener);
    this.onSettle?.(error);
  }
}

function abortError(signal: AbortSignal | undefined): AbortError {
  return new AbortError("the call was aborted", { cause: signal?.reason });
}
