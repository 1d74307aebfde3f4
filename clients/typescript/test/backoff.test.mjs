import assert from "node:assert/strict";
import test from "node:test";
import { backoffDelay, resolveBackoff } from "../dist/backoff.js";

test("the wait doubles up to maxDelay, its upper half random", () => {
  const backoff = resolveBackoff({ initialDelay: 100, maxDelay: 1000 });
  assert.equal(backoffDelay(backoff, 1, () => 0), 50);
  assert.equal(backoffDelay(backoff, 1, () => 1), 100);
  assert.equal(backoffDelay(backoff, 3, () => 1), 400);
  assert.equal(backoffDelay(backoff, 10, () => 0.5), 750);
  assert.deepEqual(resolveBackoff(), { initialDelay: 250, maxDelay: 30_000, maxAttempts: Infinity });
});
