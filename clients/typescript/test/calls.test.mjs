import assert from "node:assert/strict";
import test from "node:test";
import { AbortError, Client, ClosedError, ConnectError, RpcError, TimeoutError, WirecallError } from "../dist/index.js";
import { WebSocket, connected, startServer } from "../test-support/fake-server.mjs";

const limit = { timeout: 5000 };

test("Client.connect resolves once open; calls by position and by name", limit, async () => {
  const server = await startServer();
  const client = await Client.connect(server.url, { WebSocket });
  const peer = await server.connection();
  try {
    assert.equal(client.state, "open");
    const sum = client.call("add", [1, 2]);
    const first = await peer.next();
    assert.deepEqual(first, { jsonrpc: "2.0", id: 1, method: "add", params: [1, 2] });
    peer.reply(first.id, 3);
    assert.equal(await sum, 3);

    const named = client.call("greet", { name: "ada" });
    const second = await peer.next();
    assert.deepEqual(second, { jsonrpc: "2.0", id: 2, method: "greet", params: { name: "ada" } });
    peer.reply(second.id, "hi ada");
    assert.equal(await named, "hi ada");

    const bare = client.call("ping");
    const third = await peer.next();
    assert.equal("params" in third, false);
    peer.reply(third.id, null);
    assert.equal(await bare, null);
  } finally {
    await client.close();
    await server.close();
  }
});

test("an error answer becomes an RpcError with code and data", limit, async () => {
  const { client, peer, done } = await connected(Client);
  try {
    const answer = client.call("div", [1, 0]);
    const request = await peer.next();
    peer.send({ jsonrpc: "2.0", id: request.id, error: { code: -32602, message: "division by zero", data: { arg: 1 } } });
    await assert.rejects(answer, (error) => {
      assert.ok(error instanceof RpcError);
      assert.ok(error instanceof WirecallError);
      assert.equal(error.name, "RpcError");
      assert.equal(error.code, -32602);
      assert.equal(error.message, "division by zero");
      assert.deepEqual(error.data, { arg: 1 });
      return true;
    });
  } finally {
    await done();
  }
});

test("notify writes a notification without an id", limit, async () => {
  const { client, peer, done } = await connected(Client);
  try {
    await client.notify("log", ["hello"]);
    assert.deepEqual(await peer.next(), { jsonrpc: "2.0", method: "log", params: ["hello"] });
  } finally {
    await done();
  }
});

test("a batch goes out as one frame and matches answers out of order", limit, async () => {
  const { client, peer, done } = await connected(Client);
  try {
    const batch = client.batch();
    const a = batch.call("a", [1]);
    batch.notify("n", { x: 1 });
    const b = batch.call("b");
    const sent = batch.send();
    const frame = await peer.next();
    assert.ok(Array.isArray(frame));
    assert.deepEqual(frame.map((m) => m.method), ["a", "n", "b"]);
    assert.equal("id" in frame[1], false);
    const [ca, , cb] = frame;
    peer.send([
      { jsonrpc: "2.0", id: cb.id, error: { code: 7, message: "no b" } },
      { jsonrpc: "2.0", id: ca.id, result: "A" },
    ]);
    await sent;
    assert.equal(await a, "A");
    await assert.rejects(b, (error) => error instanceof RpcError && error.code === 7);
  } finally {
    await done();
  }
});

test("an id-null error refusing a whole batch fails each of its calls", limit, async () => {
  const { client, peer, done } = await connected(Client);
  try {
    const batch = client.batch();
    const calls = [batch.call("a"), batch.call("b")];
    const sent = batch.send();
    await peer.next();
    peer.send({ jsonrpc: "2.0", id: null, error: { code: -32600, message: "a batch of 2 exceeds the limit of 1" } });
    await sent;
    for (const call of calls) {
      await assert.rejects(call, (error) => error instanceof RpcError && error.code === -32600);
    }
  } finally {
    await done();
  }
});

test("a batch of only notifications resolves once written", limit, async () => {
  const { client, peer, done } = await connected(Client);
  try {
    const batch = client.batch();
    batch.notify("x");
    batch.notify("y", [1]);
    await batch.send();
    const frame = await peer.next();
    assert.deepEqual(frame, [
      { jsonrpc: "2.0", method: "x" },
      { jsonrpc: "2.0", method: "y", params: [1] },
    ]);
  } finally {
    await done();
  }
});

test("calls from the server reach registered handlers", limit, async () => {
  const { client, peer, done } = await connected(Client);
  try {
    client.handle("double", (params) => params[0] * 2);
    client.handle("fails", () => {
      throw new Error("boom");
    });
    client.handle("refuses", async () => {
      throw new RpcError(-32099, "not now", { retry: 5 });
    });
    peer.send({ jsonrpc: "2.0", id: "s1", method: "double", params: [21] });
    assert.deepEqual(await peer.next(), { jsonrpc: "2.0", id: "s1", result: 42 });
    peer.send({ jsonrpc: "2.0", id: 2, method: "missing" });
    assert.deepEqual(await peer.next(), { jsonrpc: "2.0", id: 2, error: { code: -32601, message: "method not found: missing" } });
    peer.send({ jsonrpc: "2.0", id: 3, method: "fails" });
    assert.deepEqual(await peer.next(), { jsonrpc: "2.0", id: 3, error: { code: -32603, message: "boom" } });
    peer.send({ jsonrpc: "2.0", id: 4, method: "refuses" });
    assert.deepEqual(await peer.next(), { jsonrpc: "2.0", id: 4, error: { code: -32099, message: "not now", data: { retry: 5 } } });
  } finally {
    await done();
  }
});

test("server notifications reach the handler registered for their method", limit, async () => {
  const { client, peer, done } = await connected(Client);
  try {
    const seen = [];
    const off = client.onNotification("tick", (params) => seen.push(params));
    peer.notice("tick", [1]);
    peer.notice("other", [2]);
    // A call answered after the notices proves they were all read.
    const ping = client.call("ping");
    peer.reply((await peer.next()).id, true);
    await ping;
    assert.deepEqual(seen, [[1]]);
    off();
    peer.notice("tick", [3]);
    const again = client.call("ping");
    peer.reply((await peer.next()).id, true);
    await again;
    assert.deepEqual(seen, [[1]]);
  } finally {
    await done();
  }
});

test("a call with no answer times out, and its late answer is ignored", limit, async () => {
  const { client, peer, done } = await connected(Client, { callTimeout: 50 });
  try {
    const slow = client.call("slow");
    const request = await peer.next();
    await assert.rejects(slow, TimeoutError);
    peer.reply(request.id, "late");
    const quick = client.call("quick", [], { timeout: 1000 });
    peer.reply((await peer.next()).id, "ok");
    assert.equal(await quick, "ok");
  } finally {
    await done();
  }
});

test("an AbortSignal fails the call with AbortError keeping the reason", limit, async () => {
  const { client, peer, done } = await connected(Client);
  try {
    const controller = new AbortController();
    const call = client.call("slow", [], { signal: controller.signal });
    await peer.next();
    const reason = new Error("user left");
    controller.abort(reason);
    await assert.rejects(call, (error) => error instanceof AbortError && error.cause === reason);
    const early = client.call("x", [], { signal: AbortSignal.abort("gone") });
    await assert.rejects(early, (error) => error instanceof AbortError && error.cause === "gone");
  } finally {
    await done();
  }
});

test("without a WebSocket class the constructor says what to do", () => {
  const saved = globalThis.WebSocket;
  delete globalThis.WebSocket;
  try {
    assert.throws(() => new Client("ws://127.0.0.1:1"), /WebSocket/);
  } finally {
    if (saved) globalThis.WebSocket = saved;
  }
});

test("calls made before the first connection opens wait for it", limit, async () => {
  const server = await startServer();
  const client = new Client(server.url, { WebSocket });
  try {
    assert.equal(client.state, "connecting");
    const early = client.call("early", [1]);
    const note = client.notify("hello");
    const peer = await server.connection();
    const first = await peer.next();
    assert.equal(first.method, "early");
    assert.deepEqual(await peer.next(), { jsonrpc: "2.0", method: "hello" });
    await note;
    peer.reply(first.id, "ok");
    assert.equal(await early, "ok");
  } finally {
    await client.close();
    await server.close();
  }
});

test("closing before the connection opens fails waiting calls with ClosedError", limit, async () => {
  const server = await startServer();
  const client = new Client(server.url, { WebSocket });
  try {
    const early = client.call("early");
    const states = [];
    client.on("state", (state) => states.push(state));
    await client.close();
    await assert.rejects(early, ClosedError);
    assert.deepEqual(states, ["closed"]);
    assert.throws(() => new Client("not a url", { WebSocket }), ConnectError);
  } finally {
    await server.close();
  }
});

test("calls, notifications and batches that time out or are aborted while waiting leave the queue", limit, async () => {
  const server = await startServer();
  const url = server.url;
  await server.close();
  // Nothing listens and the next attempt is far off: everything waits.
  const client = new Client(url, { WebSocket, callTimeout: 5, reconnect: { initialDelay: 60_000, maxDelay: 60_000 } });
  try {
    const calls = [];
    for (let i = 0; i < 1000; i++) calls.push(assert.rejects(client.call("c", [i], { timeout: 5 }), TimeoutError));
    for (let i = 0; i < 10; i++) calls.push(assert.rejects(client.notify("n", [i]), TimeoutError));
    const batch = client.batch();
    const inBatch = batch.call("b");
    calls.push(assert.rejects(inBatch, TimeoutError), batch.send({ timeout: 5 }));
    const controller = new AbortController();
    const aborted = client.call("a", [], { timeout: 60_000, signal: controller.signal });
    controller.abort();
    calls.push(assert.rejects(aborted, AbortError));
    await Promise.all(calls);
    assert.equal(client.waiting.length, 0);
    // A live one stays queued.
    const live = client.call("live", [], { timeout: 60_000 });
    assert.equal(client.waiting.length, 1);
    await client.close();
    await assert.rejects(live, ClosedError);
  } finally {
    await client.close();
  }
});

test("a call written to a closing socket waits for the next connection instead of failing", limit, async () => {
  const server = await startServer();
  const sockets = [];
  class Tracked extends WebSocket {
    constructor(...args) {
      super(...args);
      sockets.push(this);
    }
  }
  const client = await Client.connect(server.url, { WebSocket: Tracked, reconnect: { initialDelay: 10, maxDelay: 20 } });
  try {
    await server.connection();
    sockets[0].close(); // CLOSING until the server answers the close
    const answer = client.call("echo", ["x"]);
    const notified = client.notify("note");
    const batch = client.batch();
    const batched = batch.call("inbatch");
    const batchSent = batch.send();
    const again = await server.connection();
    const request = await again.next();
    assert.equal(request.method, "echo");
    again.reply(request.id, "x");
    assert.equal(await answer, "x");
    assert.equal((await again.next()).method, "note");
    await notified;
    const [inBatch] = await again.next();
    assert.equal(inBatch.method, "inbatch");
    again.send([{ jsonrpc: "2.0", id: inBatch.id, result: 7 }]);
    assert.equal(await batched, 7);
    await batchSent;
  } finally {
    await client.close();
    await server.close();
  }
});
