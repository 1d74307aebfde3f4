import assert from "node:assert/strict";
import test from "node:test";
import { EventQueue } from "../dist/event-queue.js";

test("the event queue stays bounded and keeps the missed count exact", async () => {
  const queue = new EventQueue(8);
  const controls = [{ type: "resumed" }, { type: "gap", missed: 3 }, { type: "restarted" }, { type: "resubscribed" }];
  let sent = 0;
  let missedSent = 0;
  for (let i = 0; i < 5000; i++) {
    const r = (i * 7919) % 13;
    if (r < 6) {
      queue.push({ type: "item", item: sent++ });
    } else if (r < 10) {
      queue.lagged(r);
      missedSent += r;
    } else {
      const event = controls[i % controls.length];
      if (event.type === "gap") missedSent += event.missed;
      queue.push({ ...event });
    }
    assert.ok(queue.size <= 8, `size ${queue.size}`);
  }
  queue.push({ type: "ended" });
  const events = [];
  for (;;) {
    const { value, done } = await queue.next();
    if (done) break;
    events.push(value);
  }
  const items = events.filter((e) => e.type === "item").map((e) => e.item);
  assert.deepEqual(items, [...items].sort((a, b) => a - b));
  // Every item not delivered is counted, and so is every count the server sent.
  const missed = events.reduce((sum, e) => sum + (e.type === "lagged" || e.type === "gap" ? e.missed : 0), 0);
  assert.equal(missed, missedSent + sent - items.length);
  for (let i = 1; i < events.length; i++) assert.ok(!(events[i - 1].type === "lagged" && events[i].type === "lagged"), "two lagged in a row");
  assert.equal(events.at(-1).type, "ended");
});
