// Every failure the client reports is one of these, so callers can tell
// "the server said no" from "we never sent it" from "we do not know".

/** The base of every error this package throws. */
export class WirecallError extends Error {
  override name = "WirecallError";
}

/** The peer answered with a JSON-RPC error object. */
export class RpcError<D = unknown> extends WirecallError {
  override name = "RpcError";
  readonly code: number;
  readonly data?: D;

  constructor(code: number, message: string, data?: D) {
    super(message);
    this.code = code;
    if (data !== undefined) this.data = data;
  }
}

/** The call got no answer within its timeout. */
export class TimeoutError extends WirecallError {
  override name = "TimeoutError";
}

/** The call's AbortSignal fired; the signal's reason is kept as `cause`. */
export class AbortError extends WirecallError {
  override name = "AbortError";
}

/** Never sent: the client was closed, or gave up, before the call went out. */
export class ClosedError extends WirecallError {
  override name = "ClosedError";
}

/**
 * Outcome unknown: the connection dropped while the call was in flight and
 * the method is not marked idempotent, so it was not sent again.
 */
export class DisconnectedError extends WirecallError {
  override name = "DisconnectedError";
}

/** The client could not open a connection. */
export class ConnectError extends WirecallError {
  override name = "ConnectError";
}

/** Codes the client uses when it makes up an error object itself. */
export const ErrorCode = {
  parseError: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  internalError: -32603,
  /** Old servers close a finished subscription with this code. */
  subscriptionEnded: -32000,
  connectionClosed: -32003,
} as const;

/** Reads a wire error object, tolerating a peer that sends a malformed one. */
export function rpcErrorFromWire(value: unknown): RpcError {
  if (typeof value !== "object" || value === null) {
    return new RpcError(ErrorCode.internalError, "malformed error object", value);
  }
  const object = value as { code?: unknown; message?: unknown; data?: unknown };
  const code = typeof object.code === "number" ? object.code : Number(object.code ?? ErrorCode.internalError);
  const message = typeof object.message === "string" ? object.message : "unknown error";
  return new RpcError(code, message, object.data);
}

export function connectionClosedError(): RpcError {
  return new RpcError(ErrorCode.connectionClosed, "connection closed");
}
