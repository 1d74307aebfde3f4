// Built from examples/chat/web/ by `npm run chat` in clients/typescript; do not edit.

// src/backoff.ts
function resolveBackoff(options = {}) {
  return {
    initialDelay: options.initialDelay ?? 250,
    maxDelay: options.maxDelay ?? 3e4,
    maxAttempts: options.maxAttempts ?? Infinity
  };
}
function backoffDelay(backoff, attempt, random = Math.random) {
  const ceiling = Math.min(backoff.maxDelay, backoff.initialDelay * 2 ** (attempt - 1));
  return ceiling / 2 + random() * (ceiling / 2);
}

// src/errors.ts
var WirecallError = class extends Error {
  name = "WirecallError";
};
var RpcError = class extends WirecallError {
  name = "RpcError";
  code;
  data;
  constructor(code, message, data) {
    super(message);
    this.code = code;
    if (data !== void 0) this.data = data;
  }
};
var TimeoutError = class extends WirecallError {
  name = "TimeoutError";
};
var AbortError = class extends WirecallError {
  name = "AbortError";
};
var ClosedError = class extends WirecallError {
  name = "ClosedError";
};
var DisconnectedError = class extends WirecallError {
  name = "DisconnectedError";
};
var ConnectError = class extends WirecallError {
  name = "ConnectError";
};
var ErrorCode = {
  parseError: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  internalError: -32603,
  /** Old servers close a finished subscription with this code. */
  subscriptionEnded: -32e3,
  connectionClosed: -32003
};
function rpcErrorFromWire(value) {
  if (typeof value !== "object" || value === null) {
    return new RpcError(ErrorCode.internalError, "malformed error object", value);
  }
  const object = value;
  const code = typeof object.code === "number" ? object.code : Number(object.code ?? ErrorCode.internalError);
  const message = typeof object.message === "string" ? object.message : "unknown error";
  return new RpcError(code, message, object.data);
}
function connectionClosedError() {
  return new RpcError(ErrorCode.connectionClosed, "connection closed");
}

// src/protocol.ts
function request(method, params, id) {
  const message = { jsonrpc: "2.0", method };
  if (id !== void 0) message.id = id;
  if (params !== void 0) message.params = params;
  return message;
}
function resultMessage(id, result) {
  return { jsonrpc: "2.0", id, result: result === void 0 ? null : result };
}
function errorMessage(id, code, message, data) {
  const error = { code, message };
  if (data !== void 0) error.data = data;
  return { jsonrpc: "2.0", id, error };
}
function isObject(value) {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
function hasOwn(object, key2) {
  return Object.prototype.hasOwnProperty.call(object, key2);
}

// src/batch.ts
var Batch = class {
  /** @internal made by Client.batch */
  constructor(owner) {
    this.owner = owner;
  }
  entries = [];
  sent = false;
  /** Adds a call; its promise settles once the batch was sent and answered. */
  call(method, params) {
    this.ensureOpen();
    const call = this.owner.createCall(method, params);
    call.inBatch = true;
    this.entries.push({ call });
    return call.promise;
  }
  /** Adds a notification. */
  notify(method, params) {
    this.ensureOpen();
    this.entries.push({ notification: request(method, params) });
  }
  /**
   * Writes the batch as one frame. Resolves when every call in it settled
   * (each call's own promise tells how); a batch of only notifications
   * resolves once written.
   */
  send(options = {}) {
    this.ensureOpen();
    this.sent = true;
    return this.owner.sendBatch(this.entries, options);
  }
  ensureOpen() {
    if (this.sent) throw new WirecallError("this batch was already sent");
  }
};

// src/call.ts
var PendingCall = class {
  constructor(id, method, params) {
    this.id = id;
    this.method = method;
    this.params = params;
    this.promise = new Promise((resolve, reject) => {
      this.resolveFn = resolve;
      this.rejectFn = reject;
    });
  }
  settled = false;
  /** Runs synchronously with the result, before the caller's promise resolves. */
  onResult;
  /** Runs once when the call settles, with the error if it failed (for the client's bookkeeping). */
  onSettle;
  /** A subscribe call: the method that undoes it. */
  undoMethod;
  /** Part of a batch; such calls are never sent twice. */
  inBatch = false;
  /** Safe to send again on a new connection after a cut. */
  resendable = false;
  /** The request as JSON text, written when the call is made. */
  text = "";
  promise;
  resolveFn;
  rejectFn;
  timer;
  signal;
  abortListener = () => this.reject(abortError(this.signal));
  /** Starts the clock and listens to the signal. */
  arm(timeout, signal) {
    if (this.settled) return;
    if (signal?.aborted) {
      this.reject(abortError(signal));
      return;
    }
    if (Number.isFinite(timeout)) {
      this.timer = setTimeout(() => this.reject(new TimeoutError(`${this.method}: no answer within ${timeout} ms`)), timeout);
    }
    if (signal) {
      this.signal = signal;
      signal.addEventListener("abort", this.abortListener, { once: true });
    }
  }
  resolve(result) {
    if (this.settled) return;
    this.finish(void 0);
    try {
      this.onResult?.(result);
    } catch (error) {
      this.rejectFn(error);
      return;
    }
    this.resolveFn(result);
  }
  reject(error) {
    if (this.settled) return;
    this.finish(error);
    this.rejectFn(error);
  }
  finish(error) {
    this.settled = true;
    if (this.timer !== void 0) clearTimeout(this.timer);
    this.signal?.removeEventListener("abort", this.abortListener);
    this.onSettle?.(error);
  }
};
function abortError(signal) {
  return new AbortError("the call was aborted", { cause: signal?.reason });
}

// src/json.ts
var DIGIT_0 = 48;
var DIGIT_9 = 57;
function isDigit(code) {
  return code >= DIGIT_0 && code <= DIGIT_9;
}
var SAFE_DIGITS = 15;
function findBigIntegers(text) {
  const spans = [];
  const length = text.length;
  let i = 0;
  while (i < length) {
    const code = text.charCodeAt(i);
    if (code === 34) {
      i++;
      while (i < length) {
        const c = text.charCodeAt(i);
        if (c === 92) i += 2;
        else if (c === 34) break;
        else i++;
      }
      i++;
      continue;
    }
    if (code !== 45 && !isDigit(code)) {
      i++;
      continue;
    }
    const start = i;
    if (code === 45) i++;
    const digitsStart = i;
    while (i < length && isDigit(text.charCodeAt(i))) i++;
    const digits = i - digitsStart;
    let integer = true;
    while (i < length) {
      const c = text.charCodeAt(i);
      if (c === 46 || c === 101 || c === 69 || c === 43 || c === 45) {
        integer = false;
        i++;
      } else if (isDigit(c)) {
        i++;
      } else {
        break;
      }
    }
    if (integer && digits > SAFE_DIGITS) {
      const value = BigInt(text.slice(start, i));
      const magnitude = value < 0n ? -value : value;
      if (magnitude > BigInt(Number.MAX_SAFE_INTEGER)) spans.push({ start, end: i });
    }
  }
  return spans;
}
function freshTag() {
  return `\0wirecall-int-${Math.random().toString(36).slice(2)}-${Date.now().toString(36)}:`;
}
function parseJson(text) {
  const spans = findBigIntegers(text);
  if (spans.length === 0) return JSON.parse(text);
  const tag = freshTag();
  const quotedTag = JSON.stringify(tag).slice(0, -1);
  let rewritten = "";
  let from = 0;
  for (const span of spans) {
    rewritten += text.slice(from, span.start) + quotedTag + text.slice(span.start, span.end) + '"';
    from = span.end;
  }
  rewritten += text.slice(from);
  return JSON.parse(
    rewritten,
    (_key, value) => typeof value === "string" && value.startsWith(tag) ? BigInt(value.slice(tag.length)) : value
  );
}
function stringifyJson(value) {
  let tag;
  const text = JSON.stringify(value, (_key, item) => {
    if (typeof item !== "bigint") return item;
    tag ??= freshTag();
    return tag + item.toString();
  });
  if (tag === void 0) return text;
  const quotedTag = JSON.stringify(tag).slice(0, -1);
  return text.split(quotedTag).map((part, index) => index === 0 ? part : part.replace('"', "")).join("");
}

// src/listeners.ts
var Listeners = class {
  list = /* @__PURE__ */ new Set();
  add(listener) {
    const entry = (...args) => listener(...args);
    this.list.add(entry);
    return () => {
      this.list.delete(entry);
    };
  }
  emit(...args) {
    for (const listener of [...this.list]) {
      try {
        listener(...args);
      } catch (error) {
        reportLater(error);
      }
    }
  }
};
function reportLater(error) {
  setTimeout(() => {
    throw error;
  }, 0);
}

// src/notice.ts
function readNotice(params) {
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
    if (error.code === ErrorCode.subscriptionEnded) return { type: "ended" };
    return { type: "closed", error };
  }
  return void 0;
}
function readPosition(value) {
  if (!isObject(value)) return void 0;
  const { epoch, offset } = value;
  if (typeof epoch !== "string") return void 0;
  if (typeof offset !== "number" && typeof offset !== "bigint") return void 0;
  return { epoch, offset };
}

// src/server-calls.ts
var ServerCalls = class {
  handlers = /* @__PURE__ */ new Map();
  notificationHandlers = /* @__PURE__ */ new Map();
  handle(method, handler) {
    return register(this.handlers, method, handler);
  }
  onNotification(method, handler) {
    return register(this.notificationHandlers, method, handler);
  }
  /** Runs the handler and gives the response message to write. */
  async answer(id, method, params) {
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
  notify(method, params) {
    const handler = this.notificationHandlers.get(method);
    if (!handler) return;
    try {
      handler(params);
    } catch (error) {
      reportLater(error);
    }
  }
};
function register(map, method, handler) {
  map.set(method, handler);
  return () => {
    if (map.get(method) === handler) map.delete(method);
  };
}

// src/socket.ts
var OPEN = 1;
var decoder = new TextDecoder();
var Socket = class {
  constructor(Ctor, url, protocols, events) {
    this.events = events;
    this.socket = protocols === void 0 ? new Ctor(url) : new Ctor(url, protocols);
    this.socket.onopen = () => this.events.open();
    this.socket.onmessage = (event) => {
      const text = toText(event.data);
      if (text !== void 0) this.events.text(text);
    };
    this.socket.onerror = (event) => {
      this.lastError = event.error ?? event;
    };
    this.socket.onclose = (event) => {
      const error = this.lastError ?? new Error(`connection closed (code ${event.code ?? "?"}${event.reason ? `: ${event.reason}` : ""})`);
      this.finish(error);
    };
  }
  socket;
  lastError;
  goneCalled = false;
  closeWaiters = [];
  get isOpen() {
    return this.socket.readyState === OPEN;
  }
  /** Writes one text frame; false when the socket is not open. */
  send(text) {
    if (!this.isOpen) return false;
    try {
      this.socket.send(text);
      return true;
    } catch {
      return false;
    }
  }
  /** Closes on purpose; resolves once the socket is gone (or soon after). */
  close(code = 1e3, reason = "") {
    if (this.goneCalled) return Promise.resolve();
    const done = new Promise((resolve) => {
      const timer = setTimeout(resolve, 1e3);
      this.closeWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    try {
      this.socket.close(code, reason);
    } catch {
      this.finish(void 0);
    }
    return done;
  }
  finish(error) {
    if (this.goneCalled) return;
    this.goneCalled = true;
    this.socket.onopen = this.socket.onmessage = this.socket.onclose = null;
    this.socket.onerror = () => void 0;
    for (const resolve of this.closeWaiters.splice(0)) resolve();
    this.events.gone(error);
  }
};
function toText(data) {
  if (typeof data === "string") return data;
  if (data instanceof ArrayBuffer) return decoder.decode(data);
  if (ArrayBuffer.isView(data)) return decoder.decode(data);
  return void 0;
}

// src/events.ts
function isFinal(event) {
  return event.type === "ended" || event.type === "closed";
}

// src/event-queue.ts
var EventQueue = class {
  constructor(limit) {
    this.limit = limit;
  }
  // A queue read from `head`: shifting a long array on every read would
  // cost a copy of the whole backlog per event.
  events = [];
  head = 0;
  readers = [];
  /** Missed just before the event at `head` (or before whatever comes next when empty). */
  dropped = 0;
  /** A final event was queued: nothing more is accepted. */
  sealed = false;
  /** The final event was read (or the queue was cut short): reads are done. */
  finished = false;
  get isSealed() {
    return this.sealed;
  }
  /** @internal events held, not counting the pending `dropped` count */
  get size() {
    return this.events.length - this.head;
  }
  push(event) {
    if (this.sealed) return;
    if (event.type === "lagged") {
      this.lagged(event.missed);
      return;
    }
    if (isFinal(event)) this.sealed = true;
    if (this.deliver(event)) return;
    if (!isFinal(event)) this.makeRoom();
    this.events.push(event);
  }
  /** Counts `missed` items lost at this point, merged with a count right before it. */
  lagged(missed) {
    if (this.sealed || !(missed > 0)) return;
    if (this.deliver({ type: "lagged", missed })) return;
    let last = this.tail();
    if (last !== void 0 && last.type !== "lagged") {
      this.makeRoom();
      last = this.tail();
    }
    if (last === void 0) this.dropped += missed;
    else if (last.type === "lagged") last.missed += missed;
    else this.events.push({ type: "lagged", missed });
  }
  next() {
    const event = this.take();
    if (event) return Promise.resolve({ value: event, done: false });
    if (this.finished) return Promise.resolve({ value: void 0, done: true });
    return new Promise((resolve) => this.readers.push(resolve));
  }
  /** Drops whatever is queued and ends every read, now and later. */
  stop() {
    this.sealed = true;
    this.finished = true;
    this.events = [];
    this.head = 0;
    this.dropped = 0;
    this.endReadersIfFinished();
  }
  /** Hands the event to a waiting reader, if any (then nothing is queued). */
  deliver(event) {
    const reader = this.readers.shift();
    if (!reader) return false;
    if (isFinal(event)) this.finished = true;
    reader({ value: event, done: false });
    this.endReadersIfFinished();
    return true;
  }
  tail() {
    return this.size > 0 ? this.events[this.events.length - 1] : void 0;
  }
  take() {
    let missed = this.dropped;
    this.dropped = 0;
    let first = this.events[this.head];
    if (first?.type === "lagged") {
      missed += first.missed;
      this.removeHead();
      first = this.events[this.head];
    }
    if (missed > 0) return { type: "lagged", missed };
    if (!first) return void 0;
    this.removeHead();
    if (isFinal(first)) this.finished = true;
    return first;
  }
  removeHead() {
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
  makeRoom() {
    while (this.size >= this.limit && this.dropOne()) ;
  }
  /**
   * Drops the oldest item, or with none queued the oldest control event
   * other than a lagged count; what it stood for goes into a lagged count
   * in its place. False when there is nothing to drop.
   */
  dropOne() {
    const first = this.events[this.head];
    if (first?.type === "lagged") {
      this.dropped += first.missed;
      this.removeHead();
      return true;
    }
    let index = this.findFrom((event2) => event2.type === "item");
    if (index < 0) index = this.findFrom((event2) => event2.type !== "lagged" && !isFinal(event2));
    if (index < 0) return false;
    const event = this.events[index];
    const missed = event.type === "item" ? 1 : event.type === "gap" ? event.missed : 0;
    if (index === this.head) {
      this.removeHead();
      this.dropped += missed;
      return true;
    }
    const before = this.events[index - 1];
    const after = index + 1 < this.events.length ? this.events[index + 1] : void 0;
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
      this.events[index] = { type: "lagged", missed };
    } else {
      this.events.splice(index, 1);
    }
    return true;
  }
  findFrom(predicate) {
    for (let i = this.head; i < this.events.length; i++) if (predicate(this.events[i])) return i;
    return -1;
  }
  endReadersIfFinished() {
    if (!this.finished) return;
    for (const reader of this.readers.splice(0)) reader({ value: void 0, done: true });
  }
};

// src/subscription.ts
var Subscription = class {
  method;
  /** @internal the subscribe call's params, kept for resubscribing */
  params;
  /** @internal */
  unsubscribeMethod;
  /** @internal the server's id on the current connection, if bound */
  serverId = void 0;
  /** @internal the position of the last item let through */
  lastPosition = void 0;
  queue;
  stopOnServer;
  unsubscribing;
  /** @internal created by Client.subscribe */
  constructor(stopOnServer, method, params, unsubscribeMethod, buffer) {
    this.stopOnServer = stopOnServer;
    this.method = method;
    this.params = params;
    this.unsubscribeMethod = unsubscribeMethod;
    this.queue = new EventQueue(buffer);
  }
  /** @internal the server id as JSON text, the key notices are routed by */
  get key() {
    return this.serverId === void 0 ? void 0 : stringifyJson(this.serverId);
  }
  /** @internal no more events will come (ended, closed or unsubscribed) */
  get isDone() {
    return this.queue.isSealed;
  }
  /** @internal queues an item unless it repeats one already let through */
  deliverItem(item, position) {
    if (position) {
      const last = this.lastPosition;
      if (last && last.epoch === position.epoch && BigInt(position.offset) <= BigInt(last.offset)) return;
      this.lastPosition = position;
      this.queue.push({ type: "item", item, position });
    } else {
      this.queue.push({ type: "item", item });
    }
  }
  /** @internal a lagged notice: merged with the count before the next item */
  lagged(missed) {
    this.queue.lagged(missed);
  }
  /** @internal */
  push(event) {
    this.queue.push(event);
  }
  next() {
    return this.queue.next();
  }
  [Symbol.asyncIterator]() {
    return {
      next: () => this.next(),
      // Leaving a for-await loop early lands here.
      return: async () => {
        await this.unsubscribe().catch(() => void 0);
        return { value: void 0, done: true };
      }
    };
  }
  /**
   * Tells the server to stop and ends the stream at once; events still
   * queued are dropped. Calling it again, or after the end, does nothing.
   */
  unsubscribe() {
    if (this.unsubscribing) return this.unsubscribing;
    const wasDone = this.queue.isSealed;
    this.queue.stop();
    this.unsubscribing = wasDone ? Promise.resolve() : this.stopOnServer(this);
    return this.unsubscribing;
  }
};

// src/write-job.ts
var WriteJob = class {
  constructor(text, timeout) {
    this.text = text;
    this.promise = new Promise((resolve, reject) => {
      this.resolveFn = resolve;
      this.rejectFn = reject;
    });
    if (Number.isFinite(timeout)) {
      this.timer = setTimeout(() => this.reject(new TimeoutError(`not written within ${timeout} ms`)), timeout);
    }
  }
  settled = false;
  /** Runs once when it settles (the client takes it out of its queue). */
  onSettle;
  promise;
  resolveFn;
  rejectFn;
  timer;
  written() {
    if (this.settled) return;
    this.finish();
    this.resolveFn();
  }
  reject(error) {
    if (this.settled) return;
    this.finish();
    this.rejectFn(error);
  }
  finish() {
    this.settled = true;
    if (this.timer !== void 0) clearTimeout(this.timer);
    this.onSettle?.();
  }
};

// src/client.ts
var RESUME_METHOD = "rpc.resume";
var Client = class _Client {
  url;
  WebSocketClass;
  protocols;
  callTimeout;
  backoff;
  idempotent;
  buffer;
  currentState = "connecting";
  stateListeners = new Listeners();
  serverCalls = new ServerCalls();
  socket = null;
  attempt = 0;
  reconnectTimer;
  closing;
  nextId = 1;
  /** Jobs waiting for an open connection, oldest first. */
  waiting = [];
  inFlight = /* @__PURE__ */ new Map();
  inFlightBatches = /* @__PURE__ */ new Set();
  batchOf = /* @__PURE__ */ new WeakMap();
  /** Every subscription still running, bound or not. */
  subscriptions = /* @__PURE__ */ new Set();
  /** The bound ones, by the JSON text of their server id. */
  byKey = /* @__PURE__ */ new Map();
  opened = false;
  /** Set by Client.connect: a failed first attempt ends the client. */
  failFirst = false;
  /** Subscribe calls given up on while sent: id -> the method that undoes them. */
  abandoned = /* @__PURE__ */ new Map();
  ready;
  resolveReady;
  rejectReady;
  /** Starts connecting at once; calls made before the connection opens wait for it. */
  constructor(url, options = {}) {
    const WebSocketClass = options.WebSocket ?? globalThis.WebSocket;
    if (!WebSocketClass) {
      throw new Error('no WebSocket class: pass one as the `WebSocket` option (on Node 20, `import { WebSocket } from "ws"`)');
    }
    this.url = url;
    this.WebSocketClass = WebSocketClass;
    this.protocols = options.protocols;
    this.callTimeout = options.callTimeout ?? 3e4;
    const reconnect = options.reconnect ?? true;
    this.backoff = reconnect === false ? void 0 : resolveBackoff(reconnect === true ? {} : reconnect);
    this.idempotent = new Set(options.idempotent ?? []);
    this.buffer = Math.max(1, options.subscriptionBuffer ?? 4096);
    this.ready = new Promise((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    this.ready.catch(() => void 0);
    this.openSocket(true);
  }
  /** Resolves once the first connection is open. */
  /** Rejects with ConnectError when that first attempt fails (and closes the client). */
  static async connect(url, options) {
    const client = new _Client(url, options);
    client.failFirst = true;
    try {
      await client.ready;
    } catch (error) {
      await client.close();
      throw error;
    }
    return client;
  }
  get state() {
    return this.currentState;
  }
  /** Listens to state changes; returns a function that stops listening. */
  on(event, listener) {
    if (event !== "state") throw new Error(`unknown event: ${String(event)}`);
    return this.stateListeners.add(listener);
  }
  call(method, params, options = {}) {
    const call = this.createCall(method, params);
    call.arm(options.timeout ?? this.callTimeout, options.signal);
    this.submit({ kind: "call", call });
    return call.promise;
  }
  /** Sends a notification; resolves once it was written to the socket. */
  notify(method, params) {
    let text;
    try {
      text = stringifyJson(request(method, params));
    } catch (error) {
      return Promise.reject(error);
    }
    const write = new WriteJob(text, this.callTimeout);
    this.submit({ kind: "write", write });
    return write.promise;
  }
  batch() {
    return new Batch({
      createCall: (method, params) => this.createCall(method, params),
      sendBatch: (entries, options) => this.sendBatch(entries, options)
    });
  }
  async subscribe(method, params, unsubscribeMethod, options = {}) {
    const subscription = new Subscription((s) => this.unsubscribeFromServer(s), method, params, unsubscribeMethod, this.buffer);
    const call = this.createCall(method, params);
    call.undoMethod = unsubscribeMethod;
    call.onResult = (id) => {
      this.subscriptions.add(subscription);
      this.attach(subscription, id);
    };
    call.arm(options.timeout ?? this.callTimeout, options.signal);
    this.submit({ kind: "call", call });
    await call.promise;
    return subscription;
  }
  /** Answers calls from the server to `method`; returns a function that removes the handler. */
  handle(method, handler) {
    return this.serverCalls.handle(method, handler);
  }
  /** Receives the server's notifications named `method`. */
  onNotification(method, handler) {
    return this.serverCalls.onNotification(method, handler);
  }
  /** Closes the connection for good (code 1000). */
  close() {
    if (this.closing) return this.closing;
    const socket = this.socket;
    this.socket = null;
    this.closing = socket ? socket.close(1e3) : Promise.resolve();
    this.shutdown(new ClosedError("the client was closed"), void 0);
    return this.closing;
  }
  /** Subscription.unsubscribe lands here. */
  async unsubscribeFromServer(subscription) {
    const id = subscription.serverId;
    this.detach(subscription);
    this.subscriptions.delete(subscription);
    if (id === void 0) return;
    try {
      await this.call(subscription.unsubscribeMethod, [id]);
    } catch (error) {
      if (error instanceof ClosedError || error instanceof DisconnectedError) return;
      throw error;
    }
  }
  // --- sending ---
  createCall(method, params) {
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
  callSettled(call, error) {
    const sent = this.inFlight.delete(call.id);
    const frame = this.batchOf.get(call);
    if (frame && --frame.open === 0) this.inFlightBatches.delete(frame);
    if (sent && call.undoMethod !== void 0 && (error instanceof TimeoutError || error instanceof AbortError)) {
      this.abandoned.set(call.id, call.undoMethod);
      if (this.abandoned.size > 1024) this.abandoned.delete(this.abandoned.keys().next().value);
    }
    if (!frame && this.waiting.length > 0) this.unqueue((job) => job.kind === "call" ? job.call === call : job.kind === "batch" && job.entries.some((e) => "call" in e && e.call === call));
  }
  /** Takes a settled job out of the waiting queue. */
  unqueue(match) {
    const index = this.waiting.findIndex(match);
    if (index >= 0 && jobSettled(this.waiting[index])) this.waiting.splice(index, 1);
  }
  sendBatch(entries, options) {
    const calls = entries.flatMap((entry) => "call" in entry ? [entry.call] : []);
    for (const call of calls) {
      call.resendable = false;
      call.arm(options.timeout ?? this.callTimeout, options.signal);
    }
    if (entries.length === 0) return Promise.resolve();
    if (calls.length === 0) {
      const write = new WriteJob(stringifyJson(entries.map((entry) => "notification" in entry ? entry.notification : null)), options.timeout ?? this.callTimeout);
      this.submit({ kind: "write", write });
      return write.promise;
    }
    this.submit({ kind: "batch", entries });
    return Promise.allSettled(calls.map((call) => call.promise)).then(() => void 0);
  }
  /** Sends now when open, queues otherwise; fails at once once closed. */
  submit(job) {
    if (this.currentState === "closed") {
      this.failJob(job, new ClosedError("the client is closed"));
    } else if (this.currentState === "open" && this.socket) {
      this.sendJob(job, this.socket);
    } else if (!jobSettled(job)) {
      this.queue(job);
    }
  }
  /** Queues a job for the next connection. */
  queue(job) {
    if (job.kind === "write") job.write.onSettle = () => this.unqueue((other) => other === job);
    this.waiting.push(job);
  }
  sendJob(job, socket) {
    switch (job.kind) {
      case "call":
        if (!this.dispatch(job.call, socket)) this.queue(job);
        return;
      case "write":
        if (job.write.settled) return;
        if (socket.send(job.write.text)) job.write.written();
        else this.queue(job);
        return;
      case "batch":
        if (!this.dispatchBatch(job.entries, socket)) this.queue(job);
        return;
    }
  }
  /** Writes a call to wait for its answer; false when it could not be written. */
  dispatch(call, socket) {
    if (call.settled) return true;
    if (!socket.send(call.text)) return false;
    this.inFlight.set(call.id, call);
    return true;
  }
  dispatchBatch(entries, socket) {
    const calls = entries.flatMap((entry) => "call" in entry && !entry.call.settled ? [entry.call] : []);
    if (calls.length === 0) return true;
    if (!socket.isOpen) return false;
    const frame = { calls, open: calls.length };
    this.inFlightBatches.add(frame);
    const texts = [];
    for (const entry of entries) {
      if ("notification" in entry) {
        texts.push(stringifyJson(entry.notification));
      } else if (!entry.call.settled) {
        this.batchOf.set(entry.call, frame);
        this.inFlight.set(entry.call.id, entry.call);
        texts.push(entry.call.text);
      }
    }
    socket.send(`[${texts.join(",")}]`);
    return true;
  }
  failJob(job, error) {
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
  setState(state, detail) {
    this.currentState = state;
    this.stateListeners.emit(state, detail);
  }
  openSocket(first = false) {
    let socket = null;
    try {
      socket = new Socket(this.WebSocketClass, this.url, this.protocols, {
        open: () => void this.onOpen(socket),
        text: (text) => this.onText(socket, text),
        gone: (error) => this.onGone(socket, error)
      });
    } catch (error) {
      if (first) throw new ConnectError(`cannot open a WebSocket to ${this.url}`, { cause: error });
      setTimeout(() => {
        if (this.socket === null && this.currentState !== "closed") this.connectionLost(error);
      }, 0);
      return;
    }
    this.socket = socket;
  }
  async onOpen(socket) {
    if (socket !== this.socket) return;
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
  async bind(subscription, socket) {
    const position = subscription.lastPosition;
    let call;
    if (position) {
      const params = { method: subscription.method };
      if (subscription.params !== void 0) params.params = subscription.params;
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
        this.call(subscription.unsubscribeMethod, [id]).catch(() => void 0);
        return;
      }
      this.attach(subscription, id);
      if (!position) subscription.push({ type: "resubscribed" });
    };
    call.arm(this.callTimeout, void 0);
    if (!this.dispatch(call, socket)) call.reject(new DisconnectedError(`${call.method}: the connection dropped before it was sent`));
    try {
      await call.promise;
    } catch (error) {
      if (error instanceof RpcError) {
        this.endSubscription(subscription, { type: "closed", error });
      } else if (error instanceof TimeoutError && socket === this.socket) {
        this.endSubscription(subscription, {
          type: "closed",
          error: new RpcError(ErrorCode.internalError, `${call.method}: no answer while binding the subscription again`)
        });
      }
    }
  }
  onGone(socket, error) {
    if (socket !== this.socket) return;
    this.socket = null;
    if (this.currentState === "closed") return;
    this.connectionLost(error);
  }
  /** A cut, or an attempt that failed: settle what was in flight, then retry or give up. */
  connectionLost(error) {
    const again = [];
    for (const call of [...this.inFlight.values()]) {
      if (call.resendable) again.push({ kind: "call", call });
      else call.reject(new DisconnectedError(`${call.method}: the connection dropped before the answer came`, { cause: error }));
    }
    this.inFlight.clear();
    this.inFlightBatches.clear();
    this.abandoned.clear();
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
      this.reconnectTimer = void 0;
      if (this.currentState !== "closed") this.openSocket();
    }, delay);
  }
  /** Ends the client: every call still open fails, every subscription closes. */
  shutdown(closedError, cause) {
    if (this.currentState === "closed") return;
    this.currentState = "closed";
    if (this.reconnectTimer !== void 0) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = void 0;
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
    this.setState("closed", cause === void 0 ? void 0 : { error: cause });
  }
  // --- reading ---
  onText(socket, text) {
    if (socket !== this.socket) return;
    let message;
    try {
      message = parseJson(text);
    } catch {
      return;
    }
    if (Array.isArray(message)) {
      this.onResponses(message);
    } else if (isObject(message)) {
      if (typeof message.method === "string") this.onServerMessage(socket, message, message.method);
      else this.onResponse(message);
    }
  }
  onServerMessage(socket, message, method) {
    if (hasOwn(message, "id")) {
      void this.answerServerCall(socket, message.id, method, message.params);
      return;
    }
    const params = message.params;
    if (isObject(params) && hasOwn(params, "subscription")) this.onNotice(params);
    else this.serverCalls.notify(method, params);
  }
  async answerServerCall(socket, id, method, params) {
    const reply = await this.serverCalls.answer(id, method, params);
    let text;
    try {
      text = stringifyJson(reply);
    } catch (error) {
      text = stringifyJson(errorMessage(id, ErrorCode.internalError, `the result could not be written as JSON: ${String(error)}`));
    }
    if (socket === this.socket) socket.send(text);
  }
  onNotice(params) {
    const subscription = this.byKey.get(stringifyJson(params.subscription));
    if (!subscription) return;
    const notice = readNotice(params);
    if (!notice) return;
    if (notice.type === "item") subscription.deliverItem(notice.item, notice.position);
    else if (notice.type === "ended" || notice.type === "closed") this.endSubscription(subscription, notice);
    else if (notice.type === "lagged") subscription.lagged(notice.missed);
    else subscription.push(notice);
  }
  onResponse(message) {
    const id = message.id;
    if (id === null || id === void 0) {
      if (hasOwn(message, "error")) this.onUnmatchedError(rpcErrorFromWire(message.error));
      return;
    }
    if (typeof id !== "number") return;
    const call = this.inFlight.get(id);
    if (!call) {
      const undo = this.abandoned.get(id);
      if (undo === void 0) return;
      this.abandoned.delete(id);
      if (!hasOwn(message, "error") && hasOwn(message, "result")) this.call(undo, [message.result]).catch(() => void 0);
      return;
    }
    if (hasOwn(message, "error")) call.reject(rpcErrorFromWire(message.error));
    else call.resolve(message.result);
  }
  onResponses(messages) {
    const frames = /* @__PURE__ */ new Set();
    let unmatched;
    for (const message of messages) {
      if (!isObject(message)) continue;
      if (message.id === null || message.id === void 0) {
        if (hasOwn(message, "error")) unmatched ??= rpcErrorFromWire(message.error);
        continue;
      }
      const call = typeof message.id === "number" ? this.inFlight.get(message.id) : void 0;
      const frame = call && this.batchOf.get(call);
      if (frame) frames.add(frame);
      this.onResponse(message);
    }
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
  onUnmatchedError(error) {
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
  attach(subscription, id) {
    subscription.serverId = id;
    this.byKey.set(subscription.key, subscription);
  }
  detach(subscription) {
    const key2 = subscription.key;
    if (key2 !== void 0 && this.byKey.get(key2) === subscription) this.byKey.delete(key2);
    subscription.serverId = void 0;
  }
  endSubscription(subscription, event) {
    subscription.push(event);
    this.detach(subscription);
    this.subscriptions.delete(subscription);
  }
};
function jobSettled(job) {
  switch (job.kind) {
    case "call":
      return job.call.settled;
    case "write":
      return job.write.settled;
    case "batch":
      return job.entries.every((entry) => !("call" in entry) || entry.call.settled);
  }
}

// ../../examples/chat/web/chat_api.ts
var CHAT_IDEMPOTENT = [];
function trimmed(params) {
  let end = params.length;
  while (end > 0 && params[end - 1] === void 0) end -= 1;
  return params.slice(0, end);
}
function isChatJoinError(error) {
  return error instanceof RpcError && [1001, 1002, 1003, 1004].includes(error.code);
}
var ChatClient = class _ChatClient {
  /** The connection the calls go through. */
  rpc;
  constructor(rpc) {
    this.rpc = rpc;
  }
  /** Connects to `url`, sending the idempotent methods again after a cut. */
  static async connect(url, options = {}) {
    const rpc = await Client.connect(url, { idempotent: CHAT_IDEMPOTENT, ...options });
    return new _ChatClient(rpc);
  }
  /**
   * Joins `room` as `name` on this connection; answers who is in the room, on every node. A name is taken once per room across nodes; `key`, a secret the page keeps, lets it take its name again after a reconnect (on any node) before the old connection's end is noticed.
   *
   * @throws {@link ChatJoinError} when the server answers with one of its errors
   */
  chatJoin(room2, name, key2, options) {
    return this.rpc.call("chat_join", trimmed([room2, name, key2]), options);
  }
  /**
   * Says `text` in `room` (joined first); answers the message id, unique in the room across nodes.
   *
   * @throws {@link ChatSendError} when the server answers with one of its errors
   */
  chatSend(room2, text, options) {
    return this.rpc.call("chat_send", [room2, text], options);
  }
  /**
   * Who is in `room`, on every node.
   *
   * @throws {@link ChatUsersError} when the server answers with one of its errors
   */
  chatUsers(room2, options) {
    return this.rpc.call("chat_users", [room2], options);
  }
  /**
   * Messages and presence changes of `room`, live.
   */
  chatSubscribe(room2, options) {
    return this.rpc.subscribe("chat_subscribe", [room2], "chat_unsubscribe", options);
  }
};

// ../../examples/chat/web/app.ts
var $ = (id) => {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`the page has no #${id}`);
  return element;
};
var field = (id) => $(id);
var scheme = location.protocol === "https:" ? "wss" : "ws";
var chat = new ChatClient(
  new Client(`${scheme}://${location.host}/rpc`, {
    idempotent: CHAT_IDEMPOTENT,
    reconnect: { maxDelay: 5e3 }
  })
);
var key = Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
var me = null;
var room = null;
var wasOpen = false;
var users = /* @__PURE__ */ new Set();
chat.rpc.on("state", (state, detail) => {
  const open = state === "open";
  $("dot").classList.toggle("on", open);
  $("conn").textContent = open ? "connected" : state === "closed" ? "disconnected" : `reconnecting\u2026 (attempt ${detail?.attempt ?? 1})`;
  field("joinbtn").disabled = !open || room !== null;
  if (open && wasOpen) void rejoin();
  if (open) wasOpen = true;
});
async function rejoin() {
  if (room === null || me === null) return;
  for (let tries = 0; tries < 20; tries += 1) {
    try {
      showUsers(await chat.chatJoin(room, me, key));
      return;
    } catch (err) {
      if (!(isChatJoinError(err) && err.code === 1002)) {
        note(`could not rejoin: ${describe(err)}`);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  note("could not rejoin: the name stayed taken");
}
function showUsers(present) {
  users.clear();
  for (const name of present) users.add(name);
  renderUsers();
}
function renderUsers() {
  $("users").replaceChildren(
    ...[...users].sort().map((name) => {
      const li = document.createElement("li");
      li.textContent = name === me ? `${name} (you)` : name;
      return li;
    })
  );
}
function addLine(node) {
  $("log").append(node);
  $("log").scrollTop = $("log").scrollHeight;
}
function note(text) {
  const div = document.createElement("div");
  div.className = "note";
  div.textContent = text;
  addLine(div);
}
function describe(err) {
  return err instanceof Error ? err.message : String(err);
}
function show(event, id) {
  switch (event.kind) {
    case "message": {
      const div = document.createElement("div");
      div.className = "msg" + (event.from === me ? " mine" : "");
      if (id !== void 0) div.dataset.id = id;
      const from = document.createElement("div");
      from.className = "from";
      from.textContent = event.from;
      const text = document.createElement("div");
      text.className = "text";
      text.textContent = event.text;
      div.append(from, text);
      addLine(div);
      break;
    }
    case "joined":
      users.add(event.name);
      renderUsers();
      note(`${event.name} joined`);
      break;
    case "left":
      users.delete(event.name);
      renderUsers();
      note(`${event.name} left`);
      break;
  }
}
async function follow(events) {
  for await (const event of events) {
    switch (event.type) {
      case "item":
        show(event.item, event.position === void 0 ? void 0 : String(event.position.offset));
        break;
      case "lagged":
        note(`missed ${event.missed} events`);
        break;
      case "resumed":
        note("reconnected: nothing missed");
        break;
      case "gap":
        note(`missed ${event.missed} events while away`);
        break;
      case "restarted":
        $("log").replaceChildren();
        users.clear();
        renderUsers();
        note("the server restarted: the room was reloaded, earlier messages are gone");
        break;
      case "resubscribed":
        note("reconnected; events while away may be missing");
        break;
      case "ended":
        note("the room closed");
        break;
      case "closed":
        note(`room closed: ${event.error.message}`);
        break;
    }
  }
}
$("join").addEventListener("submit", async (e) => {
  e.preventDefault();
  $("joinerror").textContent = "";
  const name = field("name").value.trim();
  const wanted = field("roomname").value.trim();
  let events = null;
  try {
    events = await chat.chatSubscribe(wanted);
    const present = await chat.chatJoin(wanted, name, key);
    me = name;
    room = wanted;
    showUsers(present);
    void follow(events);
    $("join").style.display = "none";
    $("room").classList.add("open");
    $("where").textContent = `#${room} as ${me}`;
    field("text").focus();
  } catch (err) {
    if (events !== null) events.unsubscribe().catch(() => {
    });
    const what = err instanceof RpcError ? err.data?.what : void 0;
    $("joinerror").textContent = what ?? describe(err);
  }
});
$("sendform").addEventListener("submit", async (e) => {
  e.preventDefault();
  const text = field("text").value;
  if (!text.trim() || room === null) return;
  field("text").value = "";
  try {
    await chat.chatSend(room, text);
  } catch (err) {
    note(`not sent: ${describe(err)}`);
  }
});
