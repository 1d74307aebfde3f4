export { Client } from "./client.js";
export type { ClientOptions, ConnectionState, StateDetail } from "./client.js";
export type { ReconnectOptions } from "./backoff.js";
export type { CallOptions } from "./call.js";
export { Batch } from "./batch.js";
export { Subscription } from "./subscription.js";
export type { Position, SubscriptionEvent } from "./events.js";
export {
  WirecallError,
  RpcError,
  TimeoutError,
  AbortError,
  ClosedError,
  DisconnectedError,
  ConnectError,
  ErrorCode,
} from "./errors.js";
export { parseJson, stringifyJson } from "./json.js";
export type { Int64 } from "./json.js";
export type { WebSocketConstructor } from "./socket.js";
export type { Params } from "./protocol.js";
export type { CallHandler, NotificationHandler } from "./server-calls.js";
