// Several calls and notifications written as one JSON array frame. Each
// call still settles on its own; send() waits for all of them.

import { WirecallError } from "./errors.js";
import type { CallOptions, PendingCall } from "./call.js";
import { request, type Params, type RequestMessage } from "./protocol.js";

/** One member of a batch frame, in the order it was added. */
export type BatchEntry = { call: PendingCall } | { notification: RequestMessage };

/** What a batch needs from its client. */
export interface BatchOwner {
  createCall(method: string, params: Params | undefined): PendingCall;
  sendBatch(entries: BatchEntry[], options: CallOptions): Promise<void>;
}

export class Batch {
  private readonly entries: BatchEntry[] = [];
  private sent = false;

  /** @internal made by Client.batch */
  constructor(private readonly owner: BatchOwner) {}

  /** Adds a call; its promise settles once the batch was sent and answered. */
  call<T = unknown>(method: string, params?: Params): Promise<T> {
    this.ensureOpen();
    const call = this.owner.createCall(method, params);
    call.inBatch = true;
    this.entries.push({ call });
    return call.promise as Promise<T>;
  }

  /** Adds a notification. */
  notify(method: string, params?: Params): void {
    this.ensureOpen();
    this.entries.push({ notification: request(method, params) });
  }

  /**
   * Writes the batch as one frame. Resolves when every call in it settled
   * (each call's own promise tells how); a batch of only notifications
   * resolves once written.
   */
  send(options: CallOptions = {}): Promise<void> {
    this.ensureOpen();
    this.sent = true;
    return this.owner.sendBatch(this.entries, options);
  }

  private ensureOpen(): void {
    if (this.sent) throw new WirecallError("this batch was already sent");
  }
}
