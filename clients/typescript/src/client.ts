// The client: one logical connection to a wirecall server that survives
// cuts. It owns the socket, the calls waiting for it or in flight, and the
// subscriptions, and puts them all back in place after a reconnect.

import { backoffDelay, resolveBackoff, type Backoff, type ReconnectOptions } from "./backoff.js";
import { Batch, type BatchEntry } from "./batch.js";
import { PendingCall, type CallOptions } from "./call.js";
import {
  AbortError,
  ClosedError,
  ConnectError,
  DisconnectedError,
  ErrorCode,
  RpcError,
  TimeoutError,
  connectionClosedError,
  rpcErrorFromWire,
} from "./errors.js";
import type { SubscriptionEvent } from "./events.js";
import { parseJson, stringifyJson } from "./json.js";
import { Listeners } from "./listeners.js";
import { readNotice } from "./notice.js";
import { errorMessage, hasOwn, isObject, request, type Params } from "./protocol.js";
import { ServerCalls, type CallHandler, type NotificationHandler } from "./server-calls.js";
import { Socket, type WebSocketConstructor } from "./socket.js";
import { Subscription } from "./subscription.js";
import { WriteJob } from "./write-job.js";

export interface ClientOptions {
  /** The WebSocket class; defaults to globalThis.WebSocket (pass `ws`'s on Node 20). */
  WebSocket?: WebSocketConstructor;
  protocols?: string | string[];
  /** ms a call may take, waiting included (default 30_000); CallOptions.timeout overrides it. */
  callTimeout?: number;
  /** Reconnect after a cut (default true), optionally with backoff settings. */
  reconnect?: boolean | ReconnectOptions;
  /** Methods safe to send again after a cut. */
  idempotent?: Iterable<string>;
  /** Events queued per subscription before the oldest items are dropped (default 4096). */
  subscriptionBuffer?: number;
}

export type ConnectionState = "connecting" | "open" | "reconnecting" | "closed";

export interface StateDetail {
  attempt?: number;
  delay?: number;
  error?: unknown;
}

/** A batch's calls as written in one frame. */
interface BatchFrame {
  calls: PendingCall[];
  open: number;
}

type Job =
  | { kind: "call"; call: PendingCall }
  | { kind: "batch"; entries: BatchEntry[] }
  | { kind: "write"; write: WriteJob };

const RESUME_METHOD = "rpc.resume";

export class Client {
  private readonly url: string;
  private readonly WebSocketClass: WebSocketConstructor;
  private readonly protocols: string | string[] | undefined;
  private readonly callTimeout: number;
  private readonly backoff: Backoff | undefined;
  private readonly idempotent: Set<string>;
  private readonly buffer: number;

  private currentState: ConnectionState = "connecting";
  private readonly stateListeners = new Listeners<[ConnectionState, StateDetail | undefined]>();
  private readonly serverCalls = new ServerCalls();

  private socket: Socket | null = null;
  private attempt = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private closing: Promise<void> | undefined;
  private nextId = 1;

  /** Jobs waiting for an open connection, oldest first. */
  private waiting: Job[] = [];
  private readonly inFlight = new Map<number, PendingCall>();
  private readonly inFlightBatches = new Set<BatchFrame>();
  private readonly batchOf = new WeakMap<PendingCall, BatchFrame>();

  /** Every subscription still running, bound or not. */
  private readonly subscriptions = new Set<Subscription<unknown>>();
  /** The bound ones, by the JSON text of their server id. */
  private readonly byKey = new Map<string, Subscription<unknown>>();

  private opened = false;
  /** Set by Client.connect: a failed first attempt ends the client. */
  private failFirst = false;
  /** Subscribe calls given up on while sent: id -> the method that undoes them. */
  private readonly abandoned = new Map<number, string>();
  private readonly ready: Promise<void>;
  private resolveReady!: () => void;
  private rejectReady!: (error: unknown) => void;

  /** Starts connecting at once; calls made before the connection opens wait for it. */
  constructor(url: string, options: ClientOptions = {}) {
    const WebSocketClass = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!WebSocketClass) {
      throw new Error("no WebSocket class: pass one as the `WebSocket` option (on Node 20, `import { WebSocket } from \"ws\"`)");
    }
    this.url = url;
    this.WebSocketClass = WebSocketClass;
    this.protocols = options.protocols;
    this.callTimeout = options.callTimeout ?? 30_000;
    const reconnect = options.reconnect ?? true;
    this.backoff = reconnect === false ? undefined : resolveBackoff(reconnect === true ? {} : reconnect);
    this.idempotent = new Set(options.idempotent ?? []);
    this.buffer = Math.max(1, options.subscriptionBuffer ?? 4096);
    this.ready = new Promise((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    // Nobody may be waiting for the first connection; that is not an error.
    this.ready.catch(() => undefined);
    this.openSocket(true);
  }

  /** Resolves once the first connection is open. */
  /** Rejects with ConnectError when that first attempt fails (and closes the client). */
  static async connect(url: string, options?: ClientOptions): Promise<Client> {
    const client = new Client(url, options);
    client.failFirst = true;
    try {
      await client.ready;
    } catch (error) {
      await client.close();
      throw error;
    }
    return client;
  }

  get state(): ConnectionState {
    return this.currentState;
  }

  /** Listens to state changes; returns a function that stops listening. */
  on(event: "state", listener: (state: ConnectionState, detail?: StateDetail) => void): () => void {
    if (event !== "state") throw new Error(`unknown event: ${String(event)}`);
    return this.stateListeners.add(listener);
  }

  call<T = unknown>(method: string, params?: Params, options: CallOptions = {}): Promise<T> {
    const call = this.createCall(method, params);
    call.arm(options.timeout ?? this.callTimeout, options.signal);
    this.submit({ kind: "call", call });
    return call.promise as Promise<T>;
  }

  /** Sends a notification; resolves once it was written to the socket. */
  notify(method: string, params?: Params): Promise<void> {
    let text: string;
    try {
      text = stringifyJson(request(method, params));
    } catch (error) {
      return Promise.reject(error);
    }
    const write = new WriteJob(text, this.callTimeout);
    this.submit({ kind: "write", write });
    return write.promise;
  }

  batch(): Batch {
    return new Batch({
      createCall: (method, params) => this.createCall(method, params),
      sendBatch: (entries, options) => this.sendBatch(entries, options),
    });
  }

  async subscribe<T = unknown>(
    method: string,
    params: Params | undefined,
    unsubscribeMethod: string,
    options: CallOptions = {},
  ): Promise<Subscription<T>> {
    const subscription = new Subscription<T>((s) => this.unsubscribeFromServer(s), method, params, unsubscribeMethod, this.buffer);
    const call = this.createCall(method, params);
    // Bound in the same turn the answer is read, so the notices right behind
    // it find the subscription.
    call.undoMethod = unsubscribeMethod;
    call.onResult = (id) => {
      this.subscriptions.add(subscription as Subscription<unknown>);
      this.attach(subscription as Subscription<unknown>, id);
    };
    call.arm(options.timeout ?? this.callTimeout, options.signal);
    this.submit({ kind: "call", call });
    await call.promise;
    return subscription;
  }

  /** Answers calls from the server to `method`; returns a function that removes the handler. */
  handle(method: string, handler: CallHandler): () => void {
    return this.serverCalls.handle(method, handler);
  }

  /** Receives the server's notifications named `method`. */
  onNotification(method: string, handler: NotificationHandler): () => void {
    return this.serverCalls.onNotification(method, handler);
  }

  /** Closes the connection for good (code 1000). */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    const socket = this.socket;
    this.socket = null;
    this.closing = socket ? socket.close(1000) : Promise.resolve();
    this.shutdown(new ClosedError("the client was closed"), undefined);
    return this.closing;
  }

  /** Subscription.unsubscribe lands here. */
  private async unsubscribeFromServer(subscription: Subscription<unknown>): Promise<void> {
    const id = subscription.serverId;
    this.detach(subscription);
    this.subscriptions.delete(subscription);
    // Not bound on this connection: the server side died with the last one.
    if (id === undefined) return;
    try {
      await this.call(subscription.unsubscribeMethod, [id]);
    } catch (error) {
      if (error instanceof ClosedError || error instanceof DisconnectedError) return;
      throw error;
    }
  }

  // --- sending ---

  private createCall(method: string, params: Params | undefined): PendingCall {
    const call = new PendingCall(this.nextId++, method, params);
    call.resendable = this.idempotent.has(method);
    call.onSettle = (error) => this.callSettled(call, error);
    try {
      call.text = stringifyJson(request(method, params, call.id));
    } catch (error) {
      call.reject(error);
    }
    return call;
  }

  private callSettled(call: PendingCall, error: unknown): void {
    const sent = this.inFlight.delete(call.id);
    const frame = this.batchOf.get(call);
    if (frame && --frame.open === 0) this.inFlightBatches.delete(frame);
    // A subscribe given up on may still succeed on the server: remember it
    // so a late answer can be undone.
    if (sent && call.undoMethod !== undefined && (error instanceof TimeoutError || error instanceof AbortError)) {
      this.abandoned.set(call.id, call.undoMethod);
      if (this.abandoned.size > 1024) this.abandoned.delete(this.abandoned.keys().next().value!);
    }
    if (!frame && this.waiting.length > 0) this.unqueue((job) => job.kind === "call" ? job.call === call : job.kind === "batch" && job.entries.some((e) => "call" in e && e.call === call));
  }

  /** Takes a settled job out of the waiting queue. */
  private unqueue(match: (job: Job) => boolean): void {
    const index = this.waiting.findIndex(match);
    if (index >= 0 && jobSettled(this.waiting[index]!)) this.waiting.splice(index, 1);
  }

  private sendBatch(entries: BatchEntry[], options: CallOptions): Promise<void> {
    const calls = entries.flatMap((entry) => ("call" in entry ? [entry.call] : []));
    for (const call of calls) {
      call.resendable = false;
      call.arm(options.timeout ?? this.callTimeout, options.signal);
    }
    if (entries.length === 0) return Promise.resolve();
    if (calls.length === 0) {
      // Only notifications: no answer will come, so it is done once written.
      const write = new WriteJob(stringifyJson(entries.map((entry) => ("notification" in entry ? entry.notification : null))), options.timeout ?? this.callTimeout);
      this.submit({ kind: "write", write });
      return write.promise;
    }
    this.submit({ kind: "batch", entries });
    return Promise.allSettled(calls.map((call) => call.promise)).then(() => undefined);
  }

  /** Sends now when open, queues otherwise; fails at once once closed. */
  private submit(job: Job): void {
    if (this.currentState === "closed") {
      this.failJob(job, new ClosedError("the client is closed"));
    } else if (this.currentState === "open" && this.socket) {
      this.sendJob(job, this.socket);
    } else if (!jobSettled(job)) {
      this.queue(job);
    }
  }

  /** Queues a job for the next connection. */
  private queue(job: Job): void {
    if (job.kind === "write") job.write.onSettle = () => this.unqueue((other) => other === job);
    this.waiting.push(job);
  }

  private sendJob(job: Job, socket: Socket): void {
    switch (job.kind) {
      case "call":
        // Not written: the cut is on its way; it goes out on the next socket.
        if (!this.dispatch(job.call, socket)) this.queue(job);
        return;
      case "write":
        if (job.write.settled) return;
        if (socket.send(job.write.text)) job.write.written();
        else this.queue(job); // the cut is on its way; try the next socket
        return;
      case "batch":
        if (!this.dispatchBatch(job.entries, socket)) this.queue(job);
        return;
    }
  }

  /** Writes a call to wait for its answer; false when it could not be written. */
  private dispatch(call: PendingCall, socket: Socket): boolean {
    if (call.settled) return true;
    if (!socket.send(call.text)) return false;
    this.inFlight.set(call.id, call);
    return true;
  }

  private dispatchBatch(entries: BatchEntry[], socket: Socket): boolean {
    const calls = entries.flatMap((entry) => ("call" in entry && !entry.call.settled ? [entry.call] : []));
    // Every call timed out or was aborted while waiting: the batch is off.
    if (calls.length === 0) return true;
    if (!socket.isOpen) return false;
    const frame: BatchFrame = { calls, open: calls.length };
    this.inFlightBatches.add(frame);
    const texts: string[] = [];
    for (const entry of entries) {
      if ("notification" in entry) {
        texts.push(stringifyJson(entry.notification));
      } else if (!entry.call.settled) {
        this.batchOf.set(entry.call, frame);
        this.inFlight.set(entry.call.id, entry.call);
        texts.push(entry.call.text);
      }
    }
    // Still lost if it throws: the cut that follows settles these calls.
    socket.send(`[${texts.join(",")}]`);
    return true;
  }

  private failJob(job: Job, error: Error): void {
    switch (job.kind) {
      case "call":
        job.call.reject(error);
        return;
      case "write":
        job.write.reject(error);
        return;
      case "batch":
        for (const entry of job.entries) if ("call" in entry) entry.call.reject(error);
        return;
    }
  }

  // --- the connection's life ---

  private setState(state: ConnectionState, detail?: StateDetail): void {
    this.currentState = state;
    this.stateListeners.emit(state, detail);
  }

  private openSocket(first = false): void {
    let socket: Socket | null = null;
    try {
      socket = new Socket(this.WebSocketClass, this.url, this.protocols, {
        open: () => void this.onOpen(socket!),
        text: (text) => this.onText(socket!, text),
        gone: (error) => this.onGone(socket!, error),
      });
    } catch (error) {
      // A bad URL throws at once: on the first attempt that is the caller's
      // mistake to hear about; later it counts as a failed attempt.
      if (first) throw new ConnectError(`cannot open a WebSocket to ${this.url}`, { cause: error });
      setTimeout(() => {
        if (this.socket === null && this.currentState !== "closed") this.connectionLost(error);
      }, 0);
      return;
    }
    this.socket = socket;
  }

  private async onOpen(socket: Socket): Promise<void> {
    if (socket !== this.socket) return;
    // Subscriptions first, so that no item is lost in between and nothing
    // sent after them can overtake them.
    const live = [...this.subscriptions].filter((subscription) => !subscription.isDone);
    await Promise.all(live.map((subscription) => this.bind(subscription, socket)));
    if (socket !== this.socket || this.currentState === "closed") return;
    this.attempt = 0;
    const jobs = this.waiting;
    this.waiting = [];
    for (const job of jobs) this.sendJob(job, socket);
    this.opened = true;
    this.setState("open");
    this.resolveReady();
  }

  /** Binds a subscription on a new connection: resumes after its last position, or subscribes again. */
  private async bind(subscription: Subscription<unknown>, socket: Socket): Promise<void> {
    const position = subscription.lastPosition;
    let call: PendingCall;
    if (position) {
      const params: Record<string, unknown> = { method: subscription.method };
      if (subscription.params !== undefined) params.params = subscription.params;
      params.epoch = position.epoch;
      params.offset = position.offset;
      call = this.createCall(RESUME_METHOD, params);
    } else {
      call = this.createCall(subscription.method, subscription.params);
    }
    call.resendable = false;
    call.undoMethod = subscription.unsubscribeMethod;
    call.onResult = (id) => {
      if (subscription.isDone) {
        // Unsubscribed while this was on its way: undo it on the server.
        this.call(subscription.unsubscribeMethod, [id]).catch(() => undefined);
        return;
      }
      this.attach(subscription, id);
      if (!position) subscription.push({ type: "resubscribed" });
    };
    call.arm(this.callTimeout, undefined);
    // Not written: the socket is going, and the next one binds again.
    if (!this.dispatch(call, socket)) call.reject(new DisconnectedError(`${call.method}: the connection dropped before it was sent`));
    try {
      await call.promise;
    } catch (error) {
      if (error instanceof RpcError) {
        this.endSubscription(subscription, { type: "closed", error });
      } else if (error instanceof TimeoutError && socket === this.socket) {
        this.endSubscription(subscription, {
          type: "closed",
          error: new RpcError(ErrorCode.internalError, `${call.method}: no answer while binding the subscription again`),
        });
      }
      // Otherwise the connection went too: the next one tries again.
    }
  }

  private onGone(socket: Socket, error: unknown): void {
    if (socket !== this.socket) return;
    this.socket = null;
    if (this.currentState === "closed") return;
    this.connectionLost(error);
  }

  /** A cut, or an attempt that failed: settle what was in flight, then retry or give up. */
  private connectionLost(error: unknown): void {
    const again: Job[] = [];
    for (const call of [...this.inFlight.values()]) {
      if (call.resendable) again.push({ kind: "call", call });
      else call.reject(new DisconnectedError(`${call.method}: the connection dropped before the answer came`, { cause: error }));
    }
    this.inFlight.clear();
    this.inFlightBatches.clear();
    this.abandoned.clear(); // their server side went with the connection
    this.waiting.unshift(...again);
    for (const subscription of this.subscriptions) this.detach(subscription);

    if (this.failFirst && !this.opened) {
      this.shutdown(new ClosedError("the first connection attempt failed", { cause: error }), error);
      return;
    }
    if (!this.backoff) {
      this.shutdown(new ClosedError("the connection was lost and reconnecting is off", { cause: error }), error);
      return;
    }
    this.attempt++;
    if (this.attempt > this.backoff.maxAttempts) {
      this.shutdown(new ClosedError(`gave up reconnecting after ${this.backoff.maxAttempts} attempts`, { cause: error }), error);
      return;
    }
    const delay = backoffDelay(this.backoff, this.attempt);
    this.setState("reconnecting", { attempt: this.attempt, delay, error });
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.currentState !== "closed") this.openSocket();
    }, delay);
  }

  /** Ends the client: every call still open fails, every subscription closes. */
  private shutdown(closedError: ClosedError, cause: unknown): void {
    if (this.currentState === "closed") return;
    this.currentState = "closed";
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    // Sent ones may have been carried out: their outcome is unknown.
    for (const call of [...this.inFlight.values()]) {
      call.reject(new DisconnectedError(`${call.method}: the client closed before the answer came`));
    }
    this.inFlight.clear();
    this.inFlightBatches.clear();
    this.abandoned.clear();
    const jobs = this.waiting;
    this.waiting = [];
    for (const job of jobs) this.failJob(job, closedError);
    for (const subscription of [...this.subscriptions]) {
      this.endSubscription(subscription, { type: "closed", error: connectionClosedError() });
    }
    if (!this.opened) this.rejectReady(new ConnectError(`could not connect to ${this.url}`, { cause: cause ?? closedError }));
    this.setState("closed", cause === undefined ? undefined : { error: cause });
  }

  // --- reading ---

  private onText(socket: Socket, text: string): void {
    if (socket !== this.socket) return;
    let message: unknown;
    try {
      message = parseJson(text);
    } catch {
      return; // not JSON: nothing in it can be matched to anything
    }
    if (Array.isArray(message)) {
      this.onResponses(message);
    } else if (isObject(message)) {
      if (typeof message.method === "string") this.onServerMessage(socket, message, message.method);
      else this.onResponse(message);
    }
  }

  private onServerMessage(socket: Socket, message: Record<string, unknown>, method: string): void {
    if (hasOwn(message, "id")) {
      void this.answerServerCall(socket, message.id, method, message.params);
      return;
    }
    const params = message.params;
    if (isObject(params) && hasOwn(params, "subscription")) this.onNotice(params);
    else this.serverCalls.notify(method, params);
  }

  private async answerServerCall(socket: Socket, id: unknown, method: string, params: unknown): Promise<void> {
    const reply = await this.serverCalls.answer(id, method, params);
    let text: string;
    try {
      text = stringifyJson(reply);
    } catch (error) {
      text = stringifyJson(errorMessage(id, ErrorCode.internalError, `the result could not be written as JSON: ${String(error)}`));
    }
    // An answer for a connection that is gone has nobody to go to.
    if (socket === this.socket) socket.send(text);
  }

  private onNotice(params: Record<string, unknown>): void {
    const subscription = this.byKey.get(stringifyJson(params.subscription));
    if (!subscription) return;
    const notice = readNotice(params);
    if (!notice) return;
    if (notice.type === "item") subscription.deliverItem(notice.item, notice.position);
    else if (notice.type === "ended" || notice.type === "closed") this.endSubscription(subscription, notice);
    else if (notice.type === "lagged") subscription.lagged(notice.missed);
    else subscription.push(notice);
  }

  private onResponse(message: Record<string, unknown>): void {
    const id = message.id;
    if (id === null || id === undefined) {
      if (hasOwn(message, "error")) this.onUnmatchedError(rpcErrorFromWire(message.error));
      return;
    }
    if (typeof id !== "number") return; // the client only sends number ids
    const call = this.inFlight.get(id);
    if (!call) {
      // Timed out, aborted, or not ours; a subscription nobody waits for is undone.
      const undo = this.abandoned.get(id);
      if (undo === undefined) return;
      this.abandoned.delete(id);
      if (!hasOwn(message, "error") && hasOwn(message, "result")) this.call(undo, [message.result]).catch(() => undefined);
      return;
    }
    if (hasOwn(message, "error")) call.reject(rpcErrorFromWire(message.error));
    else call.resolve(message.result);
  }

  private onResponses(messages: unknown[]): void {
    const frames = new Set<BatchFrame>();
    let unmatched: RpcError | undefined;
    for (const message of messages) {
      if (!isObject(message)) continue;
      if (message.id === null || message.id === undefined) {
        if (hasOwn(message, "error")) unmatched ??= rpcErrorFromWire(message.error);
        continue;
      }
      const call = typeof message.id === "number" ? this.inFlight.get(message.id) : undefined;
      const frame = call && this.batchOf.get(call);
      if (frame) frames.add(frame);
      this.onResponse(message);
    }
    // The server answered these batches whole: a call left open in one of
    // them got no answer of its own and will get none.
    for (const frame of frames) {
      for (const call of frame.calls) {
        call.reject(unmatched ?? new RpcError(ErrorCode.internalError, `${call.method}: missing from the batch answer`));
      }
    }
    if (frames.size === 0 && unmatched) this.onUnmatchedError(unmatched);
  }

  /**
   * An error with id null (a parse error, or a batch refused whole). It
   * concerns the oldest batch still unanswered, or else the only call in
   * flight; when that cannot be told, it is dropped.
   */
  private onUnmatchedError(error: RpcError): void {
    const [frame] = this.inFlightBatches;
    if (frame) {
      for (const call of frame.calls) call.reject(error);
      return;
    }
    if (this.inFlight.size === 1) {
      const [call] = this.inFlight.values();
      call?.reject(error);
    }
  }

  // --- subscriptions ---

  private attach(subscription: Subscription<unknown>, id: unknown): void {
    subscription.serverId = id;
    this.byKey.set(subscription.key!, subscription);
  }

  private detach(subscription: Subscription<unknown>): void {
    const key = subscription.key;
    if (key !== undefined && this.byKey.get(key) === subscription) this.byKey.delete(key);
    subscription.serverId = undefined;
  }

  private endSubscription(subscription: Subscription<unknown>, event: SubscriptionEvent<unknown>): void {
    subscription.push(event);
    this.detach(subscription);
    this.subscriptions.delete(subscription);
  }
}

function jobSettled(job: Job): boolean {
  switch (job.kind) {
    case "call":
      return job.call.settled;
    case "write":
      return job.write.settled;
    case "batch":
      return job.entries.every((entry) => !("call" in entry) || entry.call.settled);
  }
}
