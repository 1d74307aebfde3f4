// One live subscription as the caller sees it: an async iterable of events
// that outlives connections. The client feeds it notices and, after a
// reconnect, binds it again under a new server-side id.

import { EventQueue } from "./event-queue.js";
import type { Position, SubscriptionEvent } from "./events.js";
import { stringifyJson } from "./json.js";
import type { Params } from "./protocol.js";

/** Tells the client to stop a subscription on the server. */
export type Unsubscriber = (subscription: Subscription<unknown>) => Promise<void>;

export class Subscription<T> implements AsyncIterable<SubscriptionEvent<T>> {
  readonly method: string;
  /** @internal the subscribe call's params, kept for resubscribing */
  readonly params: Params | undefined;
  /** @internal */
  readonly unsubscribeMethod: string;
  /** @internal the server's id on the current connection, if bound */
  serverId: unknown = undefined;
  /** @internal the position of the last item let through */
  lastPosition: Position | undefined = undefined;

  private readonly queue: EventQueue<T>;
  private readonly stopOnServer: Unsubscriber;
  private unsubscribing: Promise<void> | undefined;

  /** @internal created by Client.subscribe */
  constructor(stopOnServer: Unsubscriber, method: string, params: Params | undefined, unsubscribeMethod: string, buffer: number) {
    this.stopOnServer = stopOnServer;
    this.method = method;
    this.params = params;
    this.unsubscribeMethod = unsubscribeMethod;
    this.queue = new EventQueue<T>(buffer);
  }

  /** @internal the server id as JSON text, the key notices are routed by */
  get key(): string | undefined {
    return this.serverId === undefined ? undefined : stringifyJson(this.serverId);
  }

  /** @internal no more events will come (ended, closed or unsubscribed) */
  get isDone(): boolean {
    return this.queue.isSealed;
  }

  /** @internal queues an item unless it repeats one already let through */
  deliverItem(item: T, position: Position | undefined): void {
    if (position) {
      const last = this.lastPosition;
      if (last && last.epoch === position.epoch && BigInt(position.offset) <= BigInt(last.offset)) return;
      this.lastPosition = position;
      this.queue.push({ type: "item", item, position });
    } else {
      this.queue.push({ type: "item", item });
    }
  }

  /** @internal a lagged notice: merged with the count before the next item */
  lagged(missed: number): void {
    this.queue.lagged(missed);
  }

  /** @internal */
  push(event: SubscriptionEvent<T>): void {
    this.queue.push(event);
  }

  next(): Promise<IteratorResult<SubscriptionEvent<T>>> {
    return this.queue.next();
  }

  [Symbol.asyncIterator](): AsyncIterator<SubscriptionEvent<T>> {
    return {
      next: () => this.next(),
      // Leaving a for-await loop early lands here.
      return: async () => {
        await this.unsubscribe().catch(() => undefined);
        return { value: undefined, done: true };
      },
    };
  }

  /**
   * Tells the server to stop and ends the stream at once; events still
   * queued are dropped. Calling it again, or after the end, does nothing.
   */
  unsubscribe(): Promise<void> {
    if (this.unsubscribing) return this.unsubscribing;
    const wasDone = this.queue.isSealed;
    this.queue.stop();
    this.unsubscribing = wasDone ? Promise.resolve() : this.stopOnServer(this as Subscription<unknown>);
    return this.unsubscribing;
  }
}
