import assert from "node:assert/strict";
import test from "node:test";
import { AbortError, Client, RpcError, TimeoutError } from "../dist/index.js";
import { connected } from "../test-support/fake-server.mjs";

const limit = { timeout: 5000 };

/** Subscribes and answers the subscribe call with `id`. */
async function subscribe(client, peer, id, params = ["topic"]) {
  const pending = client.subscribe("sub", params, "unsub");
  const request = await peer.next();
  assert.equal(request.method, "sub");
  assert.deepEqual(request.params, params);
  peer.reply(request.id, id);
  return pending;
}

function notice(peer, subscription, body) {
  peer.notice("item", { subscription, ...body });
}

/** Reads n events. */
async function take(subscription, n) {
  const events = [];
  for (let i = 0; i < n; i++) {
    const { value, done } = await subscription.next();
    assert.equal(done, false);
    events.push(value);
  }
  return events;
}

/** A round trip after some notices, so the client has surely read them. */
async function settle(client, peer) {
  const ping = client.call("ping");
  peer.reply((await peer.next()).id, true);
  await ping;
}

test("items, lagged and resume notices map to events; ended finishes the stream", limit, async () => {
  const { client, peer, done } = await connected(Client);
  try {
    const subscription = await subscribe(client, peer, "s1");
    assert.equal(subscription.method, "sub");
    notice(peer, "s1", { result: { n: 1 } });
    notice(peer, "s1", { result: 2, position: { epoch: "e1", offset: 1 } });
    notice(peer, "other", { result: "not ours" });
    notice(peer, "s1", { lagged: 4 });
    notice(peer, "s1", { resumed: { missed: 0 } });
    notice(peer, "s1", { resumed: { missed: 3 } });
    notice(peer, "s1", { resumed: { reset: true } });
    notice(peer, "s1", { ended: true });
    notice(peer, "s1", { result: "after the end" });
    assert.deepEqual(await take(subscription, 7), [
      { type: "item", item: { n: 1 } },
      { type: "item", item: 2, position: { epoch: "e1", offset: 1 } },
      { type: "lagged", missed: 4 },
      { type: "resumed" },
      { type: "gap", missed: 3 },
      { type: "restarted" },
      { type: "ended" },
    ]);
    assert.deepEqual(await subscription.next(), { value: undefined, done: true });
  } finally {
    await done();
  }
});

test("the old -32000 error notice is a normal end", limit, async () => {
  const { client, peer, done } = await connected(Client);
  try {
    const subscription = await subscribe(client, peer, 7);
    notice(peer, 7, { error: { code: -32000, message: "subscription ended" } });
    assert.deepEqual(await take(subscription, 1), [{ type: "ended" }]);
    assert.equal((await subscription.next()).done, true);
  } finally {
    await done();
  }
});

test("an error notice closes the subscription with that error", limit, async () => {
  const { client, peer, done } = await connected(Client);
  try {
    const subscription = await subscribe(client, peer, "s");
    notice(peer, "s", { error: { code: -32001, message: "slow subscriber", data: { dropped: 9 } } });
    const [event] = await take(subscription, 1);
    assert.equal(event.type, "closed");
    assert.ok(event.error instanceof RpcError);
    assert.equal(event.error.code, -32001);
    assert.deepEqual(event.error.data, { dropped: 9 });
    assert.equal((await subscription.next()).done, true);
  } finally {
    await done();
  }
});

test("ids are compared by their JSON text: 1 and \"1\" differ", limit, async () => {
  const { client, peer, done } = await connected(Client);
  try {
    const numeric = await subscribe(client, peer, 1);
    const textual = await subscribe(client, peer, "1");
    notice(peer, "1", { result: "to the string id" });
    notice(peer, 1, { result: "to the number id" });
    assert.deepEqual(await take(numeric, 1), [{ type: "item", item: "to the number id" }]);
    assert.deepEqual(await take(textual, 1), [{ type: "item", item: "to the string id" }]);
  } finally {
    await done();
  }
});

test("unsubscribe calls the unsubscribe method with [id] and ends the stream", limit, async () => {
  const { client, peer, done } = await connected(Client);
  try {
    const subscription = await subscribe(client, peer, "abc");
    const waiting = subscription.next();
    const unsubscribed = subscription.unsubscribe();
    const request = await peer.next();
    assert.equal(request.method, "unsub");
    assert.deepEqual(request.params, ["abc"]);
    peer.reply(request.id, true);
    await unsubscribed;
    assert.equal((await waiting).done, true);
    // Notices still on their way are dropped.
    notice(peer, "abc", { result: 1 });
    await settle(client, peer);
    assert.equal((await subscription.next()).done, true);
  } finally {
    await done();
  }
});

test("breaking out of for await unsubscribes", limit, async () => {
  const { client, peer, done } = await connected(Client);
  try {
    const subscription = await subscribe(client, peer, "loop");
    notice(peer, "loop", { result: 1 });
    notice(peer, "loop", { result: 2 });
    const answering = (async () => {
      const request = await peer.next();
      peer.reply(request.id, true);
      return request;
    })();
    const seen = [];
    for await (const event of subscription) {
      seen.push(event.item);
      if (seen.length === 1) break;
    }
    const request = await answering;
    assert.deepEqual(seen, [1]);
    assert.equal(request.method, "unsub");
    assert.deepEqual(request.params, ["loop"]);
  } finally {
    await done();
  }
});

test("a reader that falls behind loses the oldest items and is told exactly how many", limit, async () => {
  const { client, peer, done } = await connected(Client, { subscriptionBuffer: 3 });
  try {
    const subscription = await subscribe(client, peer, "fast");
    for (let i = 1; i <= 10; i++) notice(peer, "fast", { result: i });
    await settle(client, peer);
    assert.deepEqual(await take(subscription, 4), [
      { type: "lagged", missed: 7 },
      { type: "item", item: 8 },
      { type: "item", item: 9 },
      { type: "item", item: 10 },
    ]);
    // Reading freed the queue: the next item comes through whole.
    notice(peer, "fast", { result: 11 });
    assert.deepEqual(await take(subscription, 1), [{ type: "item", item: 11 }]);
  } finally {
    await done();
  }
});

test("close ends subscriptions with closed(-32003)", limit, async () => {
  const { client, peer, done } = await connected(Client);
  try {
    const subscription = await subscribe(client, peer, "s");
    await client.close();
    const [event] = await take(subscription, 1);
    assert.equal(event.type, "closed");
    assert.equal(event.error.code, -32003);
    assert.equal(event.error.message, "connection closed");
    assert.equal((await subscription.next()).done, true);
  } finally {
    await done();
  }
});

test("a long backlog keeps its order and its exact lagged count", limit, async () => {
  const { client, peer, done } = await connected(Client, { subscriptionBuffer: 1000 });
  try {
    const subscription = await subscribe(client, peer, "many");
    for (let i = 1; i <= 5000; i++) notice(peer, "many", { result: i, position: { epoch: "e", offset: i } });
    notice(peer, "many", { ended: true });
    await settle(client, peer);
    const [lagged] = await take(subscription, 1);
    assert.deepEqual(lagged, { type: "lagged", missed: 4000 });
    const items = (await take(subscription, 1000)).map((event) => event.item);
    assert.deepEqual(items, Array.from({ length: 1000 }, (_, i) => 4001 + i));
    assert.deepEqual(await take(subscription, 1), [{ type: "ended" }]);
    assert.equal((await subscription.next()).done, true);
  } finally {
    await done();
  }
});

/** The next frame, or null when none comes within `ms`. */
function nextWithin(peer, ms) {
  return Promise.race([peer.next(), new Promise((resolve) => setTimeout(() => resolve(null), ms))]);
}

test("a subscribe answered after its timeout or abort is unsubscribed on the server", limit, async () => {
  const { client, peer, done } = await connected(Client);
  try {
    const late = client.subscribe("sub", ["a"], "unsub", { timeout: 20 });
    const request = await peer.next();
    await assert.rejects(late, TimeoutError);
    peer.reply(request.id, "late-1");
    const undo = await nextWithin(peer, 1000);
    assert.equal(undo?.method, "unsub");
    assert.deepEqual(undo.params, ["late-1"]);
    peer.reply(undo.id, true);

    const controller = new AbortController();
    const aborted = client.subscribe("sub", ["b"], "unsub", { signal: controller.signal });
    const second = await peer.next();
    controller.abort();
    await assert.rejects(aborted, AbortError);
    peer.reply(second.id, "late-2");
    const undo2 = await nextWithin(peer, 1000);
    assert.equal(undo2?.method, "unsub");
    assert.deepEqual(undo2.params, ["late-2"]);
    peer.reply(undo2.id, true);

    // A late error answer needs nothing undone.
    const refused = client.subscribe("sub", ["c"], "unsub", { timeout: 20 });
    const third = await peer.next();
    await assert.rejects(refused, TimeoutError);
    peer.send({ jsonrpc: "2.0", id: third.id, error: { code: -32000, message: "no" } });
    assert.equal(await nextWithin(peer, 100), null);
  } finally {
    await done();
  }
});

test("lagged notices for a stalled reader add up into one event before the next item", limit, async () => {
  const { client, peer, done } = await connected(Client, { subscriptionBuffer: 8 });
  try {
    const subscription = await subscribe(client, peer, "lag");
    notice(peer, "lag", { result: 1 });
    for (let i = 0; i < 1000; i++) notice(peer, "lag", { lagged: 2 });
    notice(peer, "lag", { result: 2 });
    notice(peer, "lag", { lagged: 5 });
    notice(peer, "lag", { lagged: 6 });
    notice(peer, "lag", { result: 3 });
    await settle(client, peer);
    assert.deepEqual(await take(subscription, 5), [
      { type: "item", item: 1 },
      { type: "lagged", missed: 2000 },
      { type: "item", item: 2 },
      { type: "lagged", missed: 11 },
      { type: "item", item: 3 },
    ]);
  } finally {
    await done();
  }
});

test("control events count against the subscription buffer", limit, async () => {
  const { client, peer, done } = await connected(Client, { subscriptionBuffer: 4 });
  try {
    const subscription = await subscribe(client, peer, "ctl");
    for (let i = 0; i < 1000; i++) notice(peer, "ctl", { resumed: { missed: 0 } });
    notice(peer, "ctl", { result: "x" });
    notice(peer, "ctl", { ended: true });
    await settle(client, peer);
    const events = [];
    for await (const event of subscription) events.push(event);
    assert.ok(events.length <= 5, `${events.length} events queued`);
    assert.deepEqual(events.slice(-2), [{ type: "item", item: "x" }, { type: "ended" }]);
  } finally {
    await done();
  }
});
