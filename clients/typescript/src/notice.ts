// Reads the params of a subscription notice into the event it stands for.

import { ErrorCode, rpcErrorFromWire } from "./errors.js";
import type { Position, SubscriptionEvent } from "./events.js";
import { hasOwn, isObject } from "./protocol.js";

export type Notice =
  | { type: "item"; item: unknown; position?: Position }
  | Exclude<SubscriptionEvent<unknown>, { type: "item" }>;

/** Undefined when the params carry none of the known notice members. */
export function readNotice(params: Record<string, unknown>): Notice | undefined {
  if (hasOwn(params, "result")) {
    const position = readPosition(params.position);
    return position ? { type: "item", item: params.result, position } : { type: "item", item: params.result };
  }
  if (hasOwn(params, "lagged")) return { type: "lagged", missed: Number(params.lagged) };
  if (hasOwn(params, "resumed")) {
    const resumed = params.resumed;
    if (isObject(resumed) && resumed.reset === true) return { type: "restarted" };
    const missed = isObject(resumed) ? Number(resumed.missed ?? 0) : 0;
    return missed > 0 ? { type: "gap", missed } : { type: "resumed" };
  }
  if (params.ended === true) return { type: "ended" };
  if (hasOwn(params, "error")) {
    const error = rpcErrorFromWire(params.error);
    // Servers before the "ended" notice said a normal end this way.
    if (error.code === ErrorCode.subscriptionEnded) return { type: "ended" };
    return { type: "closed", error };
  }
  return undefined;
}

function readPosition(value: unknown): Position | undefined {
  if (!isObject(value)) return undefined;
  const { epoch, offset } = value;
  if (typeof epoch !== "string") return undefined;
  if (typeof offset !== "number" && typeof offset !== "bigint") return undefined;
  return { epoch, offset };
}
