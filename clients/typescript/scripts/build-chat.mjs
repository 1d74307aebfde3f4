// Bundles the chat page's script (examples/chat/web/app.ts, its generated
// stubs and this client) into examples/chat/app.js, the one file the page
// loads: the chat runs with no npm step. `--check` builds in memory and
// fails when the committed file differs from what the build gives.

import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";

import { build } from "esbuild";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "../../..");
const entry = path.join(repo, "examples/chat/web/app.ts");
const output = path.join(repo, "examples/chat/app.js");

const result = await build({
  entryPoints: [entry],
  bundle: true,
  format: "esm",
  target: "es2022",
  write: false,
  legalComments: "none",
  alias: { "@wirecall/client": path.join(here, "../src/index.ts") },
  banner: {
    js: "// Built from examples/chat/web/ by `npm run chat` in clients/typescript; do not edit.",
  },
  logLevel: "warning",
});
const bundle = result.outputFiles[0].text;

if (process.argv.includes("--check")) {
  const committed = readFileSync(output, "utf8");
  if (committed !== bundle) {
    console.error(`${path.relative(repo, output)} is not what the build gives: run \`npm run chat\` in clients/typescript`);
    process.exit(1);
  }
  console.log(`${path.relative(repo, output)} matches its build`);
} else {
  writeFileSync(output, bundle);
  console.log(`wrote ${path.relative(repo, output)} (${bundle.length} bytes)`);
}
