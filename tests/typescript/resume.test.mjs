// The TypeScript client's exactly-once resume against examples/ticker (a
// topic published without pause, each item equal to its offset) behind a
// proxy that cuts with RST, stalls and refuses: every item once and in
// order with one "resumed" per cut, "restarted" after a server restart,
// and the exact gap after an outage longer than the topic's history.

import assert from "node:assert/strict";
import { test } from "node:test";

import WebSocket from "../../clients/typescript/node_modules/ws/wrapper.mjs";
import { Client } from "../../clients/typescript/dist/index.js";
import { example, startProxy, startServer } from "./servers.mjs";

const ticker = () => example("WIRECALL_TICKER");
const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const options = {
  WebSocket,
  callTimeout: 10_000,
  reconnect: { initialDelay: 20, maxDelay: 200 },
};

/** Reads events until `done(state)` says stop, checking order as it goes. */
async function readUntil(ticks, state, done) {
  while (!done(state)) {
    const { value: event, done: over } = await ticks.next();
    assert.ok(!over, "the subscription ended early");
    switch (event.type) {
      case "item": {
        const n = Number(event.item);
        // Each item is its own offset, so order and exactly-once are one check.
        assert.equal(BigInt(event.position.offset), BigInt(event.item));
        if (state.last !== null && !state.expectJump) {
          assert.equal(n, state.last + 1, `item ${n} after ${state.last}`);
        }
        if (state.expectJump && state.gapSize !== null) state.jumps.push([state.last, n, state.gapSize]);
        state.expectJump = false;
        state.gapSize = null;
        state.last = n;
        state.items += 1;
        break;
      }
      case "resumed":
        state.resumed += 1;
        break;
      case "gap":
        state.gaps.push(event.missed);
        state.expectJump = true;
        state.gapSize = event.missed;
        break;
      case "restarted":
        state.restarted += 1;
        state.expectJump = true;
        break;
      default:
        assert.fail(`unexpected ${JSON.stringify(event)}`);
    }
  }
}

const fresh = () => ({
  last: null,
  items: 0,
  resumed: 0,
  restarted: 0,
  gaps: [],
  jumps: [],
  gapSize: null,
  expectJump: false,
});

/**
 * Runs `cleanup` after test `t`, whether it passed or not, last registered
 * first: the client closes before the proxy it reconnects through, and the
 * proxy before its server.
 */
function later(t, cleanup) {
  if (!t.cleanups) {
    t.cleanups = [];
    t.after(async () => {
      for (const step of t.cleanups.reverse()) await step();
    });
  }
  t.cleanups.push(cleanup);
}

/** A ticker started with `args`, a proxy before it, and a client following its ticks through the proxy. */
async function following(t, args) {
  const server = await startServer(ticker(), args);
  later(t, () => server.stop());
  const proxy = await startProxy(server.port);
  later(t, () => proxy.close());
  const client = await Client.connect(proxy.url, options);
  later(t, () => client.close());
  const ticks = await client.subscribe("subscribe_ticks", undefined, "unsubscribe_ticks");
  return { server, proxy, ticks };
}

test("20 000 items across 10 cuts arrive exactly once, in order", { timeout: 120_000 }, async (t) => {
  const { proxy, ticks } = await following(t, ["--rate", "8000", "--history", "100000"]);
  const state = fresh();
  const cuts = 10;
  for (let cut = 0; cut < cuts; cut += 1) {
    await readUntil(ticks, state, (s) => s.items >= (cut + 1) * 2_000);
    // Each cut is a TCP reset; some come after a stall, some are followed by refusals.
    if (cut % 3 === 1) await proxy.stall(150);
    if (cut % 3 === 2) proxy.refuse(150);
    proxy.cut();
  }
  await readUntil(ticks, state, (s) => s.items >= 20_000 && s.resumed >= cuts);
  assert.equal(state.resumed, cuts, "one resumed per cut");
  assert.deepEqual(state.gaps, []);
  assert.equal(state.restarted, 0);
  await ticks.unsubscribe();
});

test("a server restart gives restarted, then the new epoch's items", { timeout: 60_000 }, async (t) => {
  const { server: first, proxy, ticks } = await following(t, ["--rate", "2000"]);
  const state = fresh();
  await readUntil(ticks, state, (s) => s.items >= 200);
  const second = await startServer(ticker(), ["--rate", "2000"]);
  later(t, () => second.stop());
  proxy.retarget(second.port);
  await first.stop();
  proxy.cut();
  await readUntil(ticks, state, (s) => s.restarted === 1 && s.items >= 400);
  assert.equal(state.resumed, 0);
});

test("an outage longer than the history gives the exact gap", { timeout: 60_000 }, async (t) => {
  const { proxy, ticks } = await following(t, ["--rate", "5000", "--history", "500"]);
  const state = fresh();
  await readUntil(ticks, state, (s) => s.items >= 500);
  // Nothing gets through for 600 ms (3 000 items at this rate), then a reset.
  proxy.refuse(600);
  proxy.cut();
  await pause(600);
  await readUntil(ticks, state, (s) => s.gaps.length === 1 && s.items >= 1_000);
  // The first item after the gap is exactly `missed` past the last one before it.
  const [missed] = state.gaps;
  assert.ok(missed > 0);
  assert.equal(state.jumps.length, 1);
  const [[from, to, gap]] = state.jumps;
  assert.equal(to - from - 1, gap, `after ${from} came ${to}, told of a gap of ${gap}`);
});
