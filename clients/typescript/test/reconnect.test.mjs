import assert from "node:assert/strict";
import test from "node:test";
import { ClosedError, Client, ConnectError, DisconnectedError, parseJson } from "../dist/index.js";
import { WebSocket, connected, startServer, until } from "../test-support/fake-server.mjs";

const limit = { timeout: 5000 };
const quick = { initialDelay: 10, maxDelay: 20 };

async function take(subscription, n) {
  const events = [];
  for (let i = 0; i < n; i++) events.push((await subscription.next()).value);
  return events;
}

test("a cut fails a call in flight with DisconnectedError and sends an idempotent one again", limit, async () => {
  const { server, client, peer, done } = await connected(Client, { reconnect: quick, idempotent: ["get"] });
  try {
    const states = [];
    client.on("state", (state, detail) => states.push([state, detail]));
    const write = client.call("put", ["k", 1]);
    const read = client.call("get", ["k"]);
    const putRequest = await peer.next();
    const getRequest = await peer.next();
    peer.cut();
    await assert.rejects(write, DisconnectedError);
    const again = await server.connection();
    const resent = await again.next();
    assert.deepEqual(resent, getRequest);
    again.reply(resent.id, 1);
    assert.equal(await read, 1);
    assert.equal(putRequest.method, "put");
    const reconnecting = states.find(([state]) => state === "reconnecting");
    assert.equal(reconnecting[1].attempt, 1);
    assert.ok(reconnecting[1].delay >= 5 && reconnecting[1].delay <= 10);
    assert.equal(states.at(-1)[0], "open");
  } finally {
    await done();
  }
});

test("calls made while reconnecting wait and go out on the new connection", limit, async () => {
  const { server, client, peer, done } = await connected(Client, { reconnect: quick });
  try {
    peer.cut();
    await until(() => client.state === "reconnecting");
    const answer = client.call("echo", ["later"]);
    const again = await server.connection();
    const request = await again.next();
    assert.equal(request.method, "echo");
    again.reply(request.id, "later");
    assert.equal(await answer, "later");
    assert.equal(client.state, "open");
  } finally {
    await done();
  }
});

test("a subscription with positions resumes after the last delivered one and drops repeats", limit, async () => {
  const { server, client, peer, done } = await connected(Client, { reconnect: quick });
  try {
    const pending = client.subscribe("topic", { name: "t" }, "untopic");
    peer.reply((await peer.next()).id, "old");
    const subscription = await pending;
    // An offset past 2^53 must survive the trip exactly.
    peer.send('{"jsonrpc":"2.0","method":"n","params":{"subscription":"old","result":"a","position":{"epoch":"E","offset":9007199254740993}}}');
    const [first] = await take(subscription, 1);
    assert.deepEqual(first, { type: "item", item: "a", position: { epoch: "E", offset: 9007199254740993n } });
    peer.cut();

    const again = await server.connection();
    const text = await again.nextText();
    const resume = parseJson(text);
    assert.equal(resume.method, "rpc.resume");
    assert.deepEqual(resume.params, { method: "topic", params: { name: "t" }, epoch: "E", offset: 9007199254740993n });
    assert.match(text, /"offset":9007199254740993[,}]/);
    again.reply(resume.id, "new");
    again.send('{"jsonrpc":"2.0","method":"n","params":{"subscription":"new","resumed":{"missed":0}}}');
    // The item already delivered comes again around the cut: dropped.
    again.send('{"jsonrpc":"2.0","method":"n","params":{"subscription":"new","result":"a","position":{"epoch":"E","offset":9007199254740993}}}');
    again.send('{"jsonrpc":"2.0","method":"n","params":{"subscription":"new","result":"b","position":{"epoch":"E","offset":9007199254740994}}}');
    assert.deepEqual(await take(subscription, 2), [
      { type: "resumed" },
      { type: "item", item: "b", position: { epoch: "E", offset: 9007199254740994n } },
    ]);
  } finally {
    await done();
  }
});

test("binding comes before the calls that waited for the connection", limit, async () => {
  const { server, client, peer, done } = await connected(Client, { reconnect: quick });
  try {
    const pending = client.subscribe("topic", undefined, "untopic");
    peer.reply((await peer.next()).id, 1);
    const subscription = await pending;
    peer.notice("n", { subscription: 1, result: "x", position: { epoch: "E", offset: 4 } });
    await take(subscription, 1);
    peer.cut();
    await until(() => client.state === "reconnecting");
    const waiting = client.call("after");
    const again = await server.connection();
    const resume = await again.next();
    assert.deepEqual(resume.params, { method: "topic", epoch: "E", offset: 4 });
    again.reply(resume.id, 2);
    const call = await again.next();
    assert.equal(call.method, "after");
    again.reply(call.id, "ok");
    assert.equal(await waiting, "ok");
  } finally {
    await done();
  }
});

test("a subscription without positions is subscribed again and says so", limit, async () => {
  const { server, client, peer, done } = await connected(Client, { reconnect: quick });
  try {
    const pending = client.subscribe("ticks", [5], "unticks");
    peer.reply((await peer.next()).id, "t1");
    const subscription = await pending;
    peer.notice("tick", { subscription: "t1", result: 1 });
    await take(subscription, 1);
    peer.cut();
    const again = await server.connection();
    const request = await again.next();
    assert.equal(request.method, "ticks");
    assert.deepEqual(request.params, [5]);
    again.reply(request.id, "t2");
    again.notice("tick", { subscription: "t2", result: 2 });
    assert.deepEqual(await take(subscription, 2), [{ type: "resubscribed" }, { type: "item", item: 2 }]);
  } finally {
    await done();
  }
});

test("a subscription the new connection refuses ends closed with that error", limit, async () => {
  const { server, client, peer, done } = await connected(Client, { reconnect: quick });
  try {
    const pending = client.subscribe("ticks", [], "unticks");
    peer.reply((await peer.next()).id, "t1");
    const subscription = await pending;
    peer.cut();
    const again = await server.connection();
    const request = await again.next();
    again.send({ jsonrpc: "2.0", id: request.id, error: { code: -32601, message: "method not found: ticks" } });
    const [event] = await take(subscription, 1);
    assert.equal(event.type, "closed");
    assert.equal(event.error.code, -32601);
    assert.equal((await subscription.next()).done, true);
  } finally {
    await done();
  }
});

test("when the attempts run out the client closes: calls fail with ClosedError, subscriptions close", limit, async () => {
  const { server, client, peer } = await connected(Client, { reconnect: { ...quick, maxAttempts: 2 } });
  try {
    const pending = client.subscribe("s", undefined, "u");
    peer.reply((await peer.next()).id, 1);
    const subscription = await pending;
    const states = [];
    client.on("state", (state, detail) => states.push([state, detail?.attempt]));
    await server.close(); // every attempt from now on is refused
    await until(() => client.state !== "open");
    const call = client.call("never");
    await assert.rejects(call, ClosedError);
    assert.equal(client.state, "closed");
    assert.deepEqual(states.map(([state, attempt]) => `${state}${attempt ?? ""}`), ["reconnecting1", "reconnecting2", "closed"]);
    const [event] = await take(subscription, 1);
    assert.equal(event.type, "closed");
    assert.equal(event.error.code, -32003);
    await assert.rejects(client.call("after"), ClosedError);
  } finally {
    await client.close();
  }
});

test("with reconnect off a cut ends the client", limit, async () => {
  const { client, peer, done } = await connected(Client, { reconnect: false });
  try {
    const inFlight = client.call("x");
    await peer.next();
    peer.cut();
    await assert.rejects(inFlight, DisconnectedError);
    await until(() => client.state === "closed");
    await assert.rejects(client.call("y"), ClosedError);
  } finally {
    await done();
  }
});

test("Client.connect rejects with ConnectError when nothing listens and reconnect is off", limit, async () => {
  const server = await startServer();
  const url = server.url;
  await server.close();
  await assert.rejects(Client.connect(url, { WebSocket, reconnect: false }), ConnectError);
  await assert.rejects(Client.connect(url, { WebSocket, reconnect: { ...quick, maxAttempts: 1 } }), ConnectError);
});

test("Client.connect rejects when the first attempt fails even with reconnect on, and leaves nothing running", limit, async () => {
  const server = await startServer();
  const url = server.url;
  await server.close();
  const sockets = [];
  class Tracked extends WebSocket {
    constructor(...args) {
      super(...args);
      sockets.push(this);
    }
  }
  const outcome = await Promise.race([
    Client.connect(url, { WebSocket: Tracked, reconnect: quick }).then(
      () => "resolved",
      (error) => error,
    ),
    new Promise((resolve) => setTimeout(() => resolve("pending"), 2000)),
  ]);
  assert.ok(outcome instanceof ConnectError, String(outcome));
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(sockets.length, 1);

  // new Client keeps trying.
  const client = new Client(url, { WebSocket, reconnect: quick });
  try {
    const attempts = [];
    client.on("state", (state, detail) => attempts.push(detail?.attempt));
    await until(() => attempts.includes(2));
    assert.equal(client.state, "reconnecting");
  } finally {
    await client.close();
  }
});
