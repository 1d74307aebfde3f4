// The events of one subscription waiting to be read. It is bounded: when a
// reader falls behind, the oldest items go first and the reader is told how
// many with a single "lagged" event before the next item it gets.

import { isFinal, type SubscriptionEvent } from "./events.js";

export class EventQueue<T> {
  // A queue read from `head`: shifting a long array on every read would
  // cost a copy of the whole backlog per event.
  private events: SubscriptionEvent<T>[] = [];
  private head = 0;
  private readonly readers: ((result: IteratorResult<SubscriptionEvent<T>>) => void)[] = [];
  private dropped = 0;
  /** A final event was queued: nothing more is accepted. */
  private sealed = false;
  /** The final event was read (or the queue was cut short): reads are done. */
  private finished = false;

  constructor(private readonly limit: number) {}

  get isSealed(): boolean {
    return this.sealed;
  }

  push(event: SubscriptionEvent<T>): void {
    if (this.sealed) return;
    if (isFinal(event)) this.sealed = true;
    const reader = this.readers.shift();
    if (reader) {
      // Someone is waiting, so nothing is queued and nothing was dropped.
      if (isFinal(event)) this.finished = true;
      reader({ value: event, done: false });
      this.endReadersIfFinished();
      return;
    }
    if (event.type === "item" && this.size >= this.limit) this.dropOldestItem();
    this.events.push(event);
  }

  next(): Promise<IteratorResult<SubscriptionEvent<T>>> {
    const event = this.take();
    if (event) return Promise.resolve({ value: event, done: false });
    if (this.finished) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => this.readers.push(resolve));
  }

  /** Drops whatever is queued and ends every read, now and later. */
  stop(): void {
    this.sealed = true;
    this.finished = true;
    this.events = [];
    this.head = 0;
    this.dropped = 0;
    this.endReadersIfFinished();
  }

  private take(): SubscriptionEvent<T> | undefined {
    const first = this.events[this.head];
    if (!first) return undefined;
    // The dropped items were older than every item still queued, so the
    // count goes out just before the next item (or the end).
    if (this.dropped > 0 && (first.type === "item" || isFinal(first))) {
      const missed = this.dropped;
      this.dropped = 0;
      return { type: "lagged", missed };
    }
    this.removeHead();
    if (isFinal(first)) this.finished = true;
    return first;
  }

  private get size(): number {
    return this.events.length - this.head;
  }

  private removeHead(): void {
    this.head++;
    if (this.head === this.events.length) {
      this.events = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.events.length) {
      this.events = this.events.slice(this.head);
      this.head = 0;
    }
  }

  private dropOldestItem(): void {
    let index = this.head;
    while (index < this.events.length && this.events[index]!.type !== "item") index++;
    if (index === this.events.length) return; // only control events queued: keep them all
    if (index === this.head) this.removeHead();
    else this.events.splice(index, 1);
    this.dropped++;
  }

  private endReadersIfFinished(): void {
    if (!this.finished) return;
    for (const reader of this.readers.splice(0)) reader({ value: undefined, done: true });
  }
}
