// The generated spec client (wirecall-cli/tests/codegen/spec.ts, written by
// `wirecall codegen typescript`) against examples/spec run as a
// process: the typed functions send what the server reads, and its error
// guard recognizes the typed error.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";

import esbuild from "../../clients/typescript/node_modules/esbuild/lib/main.js";
import WebSocket from "../../clients/typescript/node_modules/ws/wrapper.mjs";
import { example, startServer } from "./servers.mjs";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
let scratch;
let server;
let spec;
let generated;

before(async () => {
  // The generated TypeScript, bundled with the client as a page would.
  scratch = mkdtempSync(path.join(tmpdir(), "wirecall-generated-"));
  const bundle = path.join(scratch, "spec.mjs");
  await esbuild.build({
    entryPoints: [path.join(repo, "wirecall-cli/tests/codegen/spec.ts")],
    bundle: true,
    format: "esm",
    platform: "node",
    outfile: bundle,
    alias: { "@wirecall/client": path.join(repo, "clients/typescript/src/index.ts") },
    logLevel: "warning",
  });
  generated = await import(pathToFileURL(bundle).href);
  server = await startServer(example("WIRECALL_SPEC_SERVER"));
  spec = await generated.SpecClient.connect(server.url, { WebSocket });
});

after(async () => {
  await spec?.rpc.close();
  await server?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

test("typed functions call by position, leaving out trailing params", async () => {
  assert.equal(await spec.subtract(42, 23), 19);
  assert.equal(await spec.sum(1), 1);
  assert.equal(await spec.sum(1, 2, 3), 6);
  assert.deepEqual(await spec.getData(), ["hello", 5]);
  await spec.notifyHello(7);
});

test("the typed error is recognized by its guard", async () => {
  await assert.rejects(spec.divide(7, 0), (err) => {
    assert.ok(generated.isDivideError(err));
    assert.equal(err.code, 1001);
    assert.deepEqual(err.data, { dividend: 7 });
    return true;
  });
  // Another method's error is not one of divide's.
  await assert.rejects(spec.panic(), (err) => !generated.isDivideError(err) && err.code === -32603);
  assert.deepEqual(generated.SPEC_IDEMPOTENT, ["divide"]);
});

test("a typed subscription yields its items and its end", async () => {
  const seen = [];
  for await (const event of await spec.subscribeCounter(3)) {
    seen.push(event.type === "item" ? event.item : event.type);
  }
  assert.deepEqual(seen, [0, 1, 2, "ended"]);
});

test("a call from the server reaches the handler beside the typed client", async () => {
  const stop = spec.rpc.handle("client_answer", ([question]) => `${question} yes`);
  assert.equal(await spec.askClient("ready?"), "ready? yes");
  stop();
});
