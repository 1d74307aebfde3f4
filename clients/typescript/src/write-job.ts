// A frame that expects no answer (a notification, or a batch of only
// notifications): it is done once written to a socket.

import { TimeoutError } from "./errors.js";

export class WriteJob {
  settled = false;
  /** Runs once when it settles (the client takes it out of its queue). */
  onSettle: (() => void) | undefined;
  readonly promise: Promise<void>;
  private resolveFn!: () => void;
  private rejectFn!: (error: unknown) => void;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(readonly text: string, timeout: number) {
    this.promise = new Promise((resolve, reject) => {
      this.resolveFn = resolve;
      this.rejectFn = reject;
    });
    if (Number.isFinite(timeout)) {
      this.timer = setTimeout(() => this.reject(new TimeoutError(`not written within ${timeout} ms`)), timeout);
    }
  }

  written(): void {
    if (this.settled) return;
    this.finish();
    this.resolveFn();
  }

  reject(error: unknown): void {
    if (this.settled) return;
    this.finish();
    this.rejectFn(error);
  }

  private finish(): void {
    this.settled = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.onSettle?.();
  }
}
