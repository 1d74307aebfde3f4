// The client's size as a page pays for it: bundled, minified, gzipped.

import { gzipSync } from "node:zlib";
import { fileURLToPath } from "node:url";
import path from "node:path";

import { build } from "esbuild";

const here = path.dirname(fileURLToPath(import.meta.url));
const entry = process.argv[2] ?? path.join(here, "../src/index.ts");
const result = await build({
  entryPoints: [entry],
  bundle: true,
  minify: true,
  format: "esm",
  target: "es2022",
  write: false,
  legalComments: "none",
});
const code = result.outputFiles[0].contents;
const gzipped = gzipSync(code, { level: 9 }).length;
console.log(`${path.basename(entry)}: ${code.length} bytes minified, ${gzipped} bytes gzipped`);
