// The TypeScript client against examples/spec run as a process:
// calls by position and by name, a batch, notifications, a typed error, a
// subscription with its normal end, a call from the server, and integers
// past 2^53.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import WebSocket from "../../clients/typescript/node_modules/ws/wrapper.mjs";
import { Client, RpcError } from "../../clients/typescript/dist/index.js";
import { example, startServer } from "./servers.mjs";

let server;
let client;

before(async () => {
  server = await startServer(example("WIRECALL_SPEC_SERVER"));
  client = await Client.connect(server.url, { WebSocket, idempotent: ["divide"] });
});

after(async () => {
  await client.close();
  await server.stop();
});

test("calls by position and by name", async () => {
  assert.equal(await client.call("subtract", [42, 23]), 19);
  assert.equal(await client.call("subtract", { subtrahend: 23, minuend: 42 }), 19);
  assert.equal(await client.call("sum", [1]), 1);
  assert.deepEqual(await client.call("get_data"), ["hello", 5]);
});

test("a batch answers each call, and its notification is not answered", async () => {
  const batch = client.batch();
  const difference = batch.call("subtract", [10, 4]);
  const total = batch.call("sum", { a: 1, b: 2, c: 3 });
  batch.notify("notify_hello", [7]);
  const unknown = batch.call("no_such_method", []);
  const data = batch.call("get_data");
  await batch.send();
  assert.equal(await difference, 6);
  assert.equal(await total, 6);
  assert.deepEqual(await data, ["hello", 5]);
  await assert.rejects(unknown, (err) => err instanceof RpcError && err.code === -32601);
});

test("notifications are written and answered by nothing", async () => {
  await client.notify("update", [1, 2, 3, 4, 5]);
  await client.notify("notify_sum", { a: 1, b: 2, c: 3 });
  // The connection is still good for calls after them.
  assert.equal(await client.call("subtract", [2, 1]), 1);
});

test("a typed error carries its code, message and data", async () => {
  await assert.rejects(client.call("divide", [7, 0]), (err) => {
    assert.ok(err instanceof RpcError);
    assert.equal(err.code, 1001);
    assert.equal(err.message, "division by zero");
    assert.deepEqual(err.data, { dividend: 7 });
    return true;
  });
  await assert.rejects(client.call("subtract", ["a", 1]), (err) => err.code === -32602);
  await assert.rejects(client.call("panic"), (err) => err.code === -32603);
});

test("a subscription yields its items, then a normal end", async () => {
  const counter = await client.subscribe("subscribe_counter", [5], "unsubscribe_counter");
  const seen = [];
  for await (const event of counter) seen.push(event.type === "item" ? event.item : event.type);
  assert.deepEqual(seen, [0, 1, 2, 3, 4, "ended"]);
});

test("unsubscribing part way stops the items on the server", async () => {
  // Its own connection, whose incoming frames are counted below.
  let frames = 0;
  class Counting extends WebSocket {
    constructor(...args) {
      super(...args);
      this.on("message", () => {
        frames += 1;
      });
    }
  }
  const alone = await Client.connect(server.url, { WebSocket: Counting });
  const counter = await alone.subscribe("subscribe_counter", [1_000_000_000], "unsubscribe_counter");
  let items = 0;
  for await (const event of counter) {
    if (event.type === "item") items += 1;
    if (items === 10) break;
  }
  assert.equal(items, 10);
  // Once the unsubscribe has reached the server, no more items come.
  await new Promise((resolve) => setTimeout(resolve, 200));
  const before = frames;
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(frames, before, "items kept coming after the unsubscribe");
  await alone.close();
});

test("a call from the server is answered by a registered handler", async () => {
  const stop = client.handle("client_answer", (params) => `you asked: ${params[0]}`);
  assert.equal(await client.call("ask_client", ["why?"]), "you asked: why?");
  stop();
  await assert.rejects(client.call("ask_client", ["again?"]), (err) => {
    assert.ok(err instanceof RpcError);
    assert.match(err.message, /method not found|client_answer/);
    return true;
  });
});

test("integers past 2^53 arrive and leave exactly, as bigint", async () => {
  const big = 9_223_372_036_854_775_807n; // i64::MAX
  const answer = await client.call("subtract", [big, 0]);
  assert.equal(typeof answer, "bigint");
  assert.equal(answer, big);
  assert.equal(await client.call("subtract", [9_007_199_254_740_993n, 1]), 9_007_199_254_740_992n);
  // Within the safe range they stay numbers.
  assert.equal(await client.call("subtract", [2 ** 52, 0]), 2 ** 52);
});
