// Bundles src/app.js (and @fal-ai/client) into static/app.js, the script the
// Go server embeds and serves. The bundle is committed, so running the example
// needs no Node.js; rebuild it after changing src/ or the dependencies:
//
//   npm ci && npm run build
//
// `node build.mjs --check` builds in memory and exits 1 if static/app.js
// differs from what the sources and the locked dependencies give (the Go
// test TestBundleUpToDate runs it).

import { build } from "esbuild";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const outfile = path.join(here, "static", "app.js");

const out = await build({
  entryPoints: [path.join(here, "src", "app.js")],
  absWorkingDir: here,
  bundle: true,
  format: "esm",
  platform: "browser",
  target: "es2020",
  minify: true,
  legalComments: "eof",
  charset: "utf8",
  write: false,
  logLevel: "warning",
  outfile,
});
const code = out.outputFiles[0].contents;

if (process.argv.includes("--check")) {
  let committed;
  try {
    committed = await readFile(outfile);
  } catch (err) {
    console.error(`static/app.js cannot be read (${err.code ?? err.message}): run \`npm run build\` in examples/webapp`);
    process.exit(1);
  }
  if (!Buffer.from(code).equals(committed)) {
    console.error("static/app.js is out of date: run `npm run build` in examples/webapp and commit it");
    process.exit(1);
  }
  console.log("static/app.js is up to date");
} else {
  await writeFile(outfile, code);
  console.log(`wrote static/app.js (${code.length} bytes)`);
}
