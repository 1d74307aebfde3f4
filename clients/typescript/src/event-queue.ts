// The events of one subscription waiting to be read. It is bounded, control
// events included: when a reader falls behind, the oldest items go first
// (then, with no item left, the oldest control events), and the reader is
// told how many were missed with a "lagged" event in their place. Lagged
// counts next to each other, the server's included, add up into one.

import { isFinal, type SubscriptionEvent } from "./events.js";

export class EventQueue<T> {
  // A queue read from `head`: shifting a long array on every read would
  // cost a copy of the whole backlog per event.
  private events: SubscriptionEvent<T>[] = [];
  private head = 0;
  private readonly readers: ((result: IteratorResult<SubscriptionEvent<T>>) => void)[] = [];
  /** Missed just before the event at `head` (or before whatever comes next when empty). */
  private dropped = 0;
  /** A final event was queued: nothing more is accepted. */
  private sealed = false;
  /** The final event was read (or the queue was cut short): reads are done. */
  private finished = false;

  constructor(private readonly limit: number) {}

  get isSealed(): boolean {
    return this.sealed;
  }

  /** @internal events held, not counting the pending `dropped` count */
  get size(): number {
    return this.events.length - this.head;
  }

  push(event: SubscriptionEvent<T>): void {
    if (this.sealed) return;
    if (event.type === "lagged") {
      this.lagged(event.missed);
      return;
    }
    if (isFinal(event)) this.sealed = true;
    if (this.deliver(event)) return;
    // The final event always gets in: it is the last one.
    if (!isFinal(event)) this.makeRoom();
    this.events.push(event);
  }

  /** Counts `missed` items lost at this point, merged with a count right before it. */
  lagged(missed: number): void {
    if (this.sealed || !(missed > 0)) return;
    if (this.deliver({ type: "lagged", missed })) return;
    let last = this.tail();
    if (last !== undefined && last.type !== "lagged") {
      this.makeRoom();
      last = this.tail();
    }
    if (last === undefined) this.dropped += missed;
    else if (last.type === "lagged") last.missed += missed;
    else this.events.push({ type: "lagged", missed });
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

  /** Hands the event to a waiting reader, if any (then nothing is queued). */
  private deliver(event: SubscriptionEvent<T>): boolean {
    const reader = this.readers.shift();
    if (!reader) return false;
    if (isFinal(event)) this.finished = true;
    reader({ value: event, done: false });
    this.endReadersIfFinished();
    return true;
  }

  private tail(): SubscriptionEvent<T> | undefined {
    return this.size > 0 ? this.events[this.events.length - 1] : undefined;
  }

  private take(): SubscriptionEvent<T> | undefined {
    let missed = this.dropped;
    this.dropped = 0;
    let first = this.events[this.head];
    if (first?.type === "lagged") {
      missed += first.missed;
      this.removeHead();
      first = this.events[this.head];
    }
    if (missed > 0) return { type: "lagged", missed };
    if (!first) return undefined;
    this.removeHead();
    if (isFinal(first)) this.finished = true;
    return first;
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

  /** Drops events until one more fits. */
  private makeRoom(): void {
    while (this.size >= this.limit && this.dropOne());
  }

  /**
   * Drops the oldest item, or with none queued the oldest control event
   * other than a lagged count; what it stood for goes into a lagged count
   * in its place. False when there is nothing to drop.
   */
  private dropOne(): boolean {
    const first = this.events[this.head];
    if (first?.type === "lagged") {
      // A count at the head joins the one kept before it: nothing is lost.
      this.dropped += first.missed;
      this.removeHead();
      return true;
    }
    let index = this.findFrom((event) => event.type === "item");
    if (index < 0) index = this.findFrom((event) => event.type !== "lagged" && !isFinal(event));
    if (index < 0) return false;
    const event = this.events[index]!;
    const missed = event.type === "item" ? 1 : event.type === "gap" ? event.missed : 0;
    if (index === this.head) {
      this.removeHead();
      this.dropped += missed;
      return true;
    }
    const before = this.events[index - 1]!;
    const after = index + 1 < this.events.length ? this.events[index + 1] : undefined;
    if (before.type === "lagged") {
      before.missed += missed;
      if (after?.type === "lagged") {
        before.missed += after.missed;
        this.events.splice(index, 2);
      } else {
        this.events.splice(index, 1);
      }
    } else if (after?.type === "lagged") {
      after.missed += missed;
      this.events.splice(index, 1);
    } else if (missed > 0) {
      // Same size, but the next drop here shrinks the queue.
      this.events[index] = { type: "lagged", missed };
    } else {
      this.events.splice(index, 1);
    }
    return true;
  }

  private findFrom(predicate: (event: SubscriptionEvent<T>) => boolean): number {
    for (let i = this.head; i < this.events.length; i++) if (predicate(this.events[i]!)) return i;
    return -1;
  }

  private endReadersIfFinished(): void {
    if (!this.finished) return;
    for (const reader of this.readers.splice(0)) reader({ value: undefined, done: true });
  }
}
