// The little of the WebSocket API the client uses, so that the browser's
// WebSocket and the `ws` package for Node both fit.

/** A WebSocket class: the browser's, or `WebSocket` from the `ws` package. */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => {
  send(data: string): void;
  close(code?: number, reason?: string): void;
};

interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code?: number; reason?: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

export interface SocketEvents {
  open(): void;
  text(text: string): void;
  /** Called once, whether the socket failed to open or closed later. */
  gone(error: unknown): void;
}

const OPEN = 1;
const decoder = new TextDecoder();

/** One WebSocket connection attempt and its life. */
export class Socket {
  private readonly socket: SocketLike;
  private lastError: unknown;
  private goneCalled = false;
  private readonly closeWaiters: (() => void)[] = [];

  constructor(Ctor: WebSocketConstructor, url: string, protocols: string | string[] | undefined, private readonly events: SocketEvents) {
    this.socket = (protocols === undefined ? new Ctor(url) : new Ctor(url, protocols)) as unknown as SocketLike;
    this.socket.onopen = () => this.events.open();
    this.socket.onmessage = (event) => {
      const text = toText(event.data);
      if (text !== undefined) this.events.text(text);
    };
    this.socket.onerror = (event) => {
      this.lastError = (event as { error?: unknown }).error ?? event;
    };
    this.socket.onclose = (event) => {
      const error = this.lastError ?? new Error(`connection closed (code ${event.code ?? "?"}${event.reason ? `: ${event.reason}` : ""})`);
      this.finish(error);
    };
  }

  get isOpen(): boolean {
    return this.socket.readyState === OPEN;
  }

  /** Writes one text frame; false when the socket is not open. */
  send(text: string): boolean {
    if (!this.isOpen) return false;
    try {
      this.socket.send(text);
      return true;
    } catch {
      return false;
    }
  }

  /** Closes on purpose; resolves once the socket is gone (or soon after). */
  close(code = 1000, reason = ""): Promise<void> {
    if (this.goneCalled) return Promise.resolve();
    const done = new Promise<void>((resolve) => {
      // A peer that never completes the closing handshake must not hang us.
      const timer = setTimeout(resolve, 1000);
      this.closeWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    try {
      this.socket.close(code, reason);
    } catch {
      this.finish(undefined);
    }
    return done;
  }

  private finish(error: unknown): void {
    if (this.goneCalled) return;
    this.goneCalled = true;
    this.socket.onopen = this.socket.onmessage = this.socket.onclose = null;
    // Late errors from a dead socket are of no interest but must be caught.
    this.socket.onerror = () => undefined;
    for (const resolve of this.closeWaiters.splice(0)) resolve();
    this.events.gone(error);
  }
}

function toText(data: unknown): string | undefined {
  if (typeof data === "string") return data;
  // Binary frames are not part of the protocol; decode them anyway in case
  // a socket library hands text over as bytes.
  if (data instanceof ArrayBuffer) return decoder.decode(data);
  if (ArrayBuffer.isView(data)) return decoder.decode(data);
  return undefined;
}
