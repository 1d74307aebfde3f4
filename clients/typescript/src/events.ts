// What a subscription yields, one event per notice (plus a few the client
// makes itself around reconnects and a full queue).

import type { RpcError } from "./errors.js";

/** Where an item sits in its topic; offsets count from 1 within an epoch. */
export interface Position {
  epoch: string;
  offset: number | bigint;
}

export type SubscriptionEvent<T> =
  | { type: "item"; item: T; position?: Position }
  /** This many items were dropped, by the server or by a full local queue. */
  | { type: "lagged"; missed: number }
  /** Picked up after a reconnect exactly where it left off. */
  | { type: "resumed" }
  /** Picked up after a reconnect, but this many items were lost. */
  | { type: "gap"; missed: number }
  /** The topic's history was gone: items follow live from now. */
  | { type: "restarted" }
  /** Subscribed again after a reconnect; items in between may be lost. */
  | { type: "resubscribed" }
  /** The serving end finished normally; nothing follows. */
  | { type: "ended" }
  /** The subscription stopped with an error; nothing follows. */
  | { type: "closed"; error: RpcError };

export function isFinal(event: SubscriptionEvent<unknown>): boolean {
  return event.type === "ended" || event.type === "closed";
}
