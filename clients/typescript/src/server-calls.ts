// Calls and notifications the server sends to the client, answered by
// handlers registered by method name.

import { ErrorCode, RpcError } from "./errors.js";
import { reportLater } from "./listeners.js";
import { errorMessage, resultMessage } from "./protocol.js";

export type CallHandler = (params: unknown) => unknown | Promise<unknown>;
export type NotificationHandler = (params: unknown) => void;

export class ServerCalls {
  private readonly handlers = new Map<string, CallHandler>();
  private readonly notificationHandlers = new Map<string, NotificationHandler>();

  handle(method: string, handler: CallHandler): () => void {
    return register(this.handlers, method, handler);
  }

  onNotification(method: string, handler: NotificationHandler): () => void {
    return register(this.notificationHandlers, method, handler);
  }

  /** Runs the handler and gives the response message to write. */
  async answer(id: unknown, method: string, params: unknown): Promise<object> {
    const handler = this.handlers.get(method);
    if (!handler) return errorMessage(id, ErrorCode.methodNotFound, `method not found: ${method}`);
    try {
      return resultMessage(id, await handler(params));
    } catch (error) {
      if (error instanceof RpcError) return errorMessage(id, error.code, error.message, error.data);
      const message = error instanceof Error ? error.message : String(error);
      return errorMessage(id, ErrorCode.internalError, message);
    }
  }

  /** A notification with no handler is ignored. */
  notify(method: string, params: unknown): void {
    const handler = this.notificationHandlers.get(method);
    if (!handler) return;
    try {
      handler(params);
    } catch (error) {
      reportLater(error);
    }
  }
}

/** One handler per name; the returned function removes it (if still the same). */
function register<H>(map: Map<string, H>, method: string, handler: H): () => void {
  map.set(method, handler);
  return () => {
    if (map.get(method) === handler) map.delete(method);
  };
}
