// The JSON-RPC 2.0 message shapes the client writes and reads.

export type Params = unknown[] | Record<string, unknown>;
export type Id = number | string | bigint | null;

export interface RequestMessage {
  jsonrpc: "2.0";
  id?: Id;
  method: string;
  params?: Params;
}

/** A call (with id) or a notification (id omitted); params left out when none. */
export function request(method: string, params: Params | undefined, id?: number): RequestMessage {
  const message: RequestMessage = { jsonrpc: "2.0", method };
  if (id !== undefined) message.id = id;
  if (params !== undefined) message.params = params;
  return message;
}

export function resultMessage(id: unknown, result: unknown): object {
  return { jsonrpc: "2.0", id, result: result === undefined ? null : result };
}

export function errorMessage(id: unknown, code: number, message: string, data?: unknown): object {
  const error: { code: number; message: string; data?: unknown } = { code, message };
  if (data !== undefined) error.data = data;
  return { jsonrpc: "2.0", id, error };
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function hasOwn(object: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(object, key);
}
