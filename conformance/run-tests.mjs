// `npm test`: builds falgo, starts ONE `falgo local` for the whole suite, runs
// every test/*.test.mjs file against it with Node's test runner, and stops the
// server afterwards, also when the tests fail or this script is interrupted.
// Arguments are passed on to `node --test` (for example --test-name-pattern).

import { spawn } from "node:child_process";
import { readdir } from "node:fs/promises";
import path from "node:path";
import { conformanceDir, startFalgo } from "./lib/falgo.mjs";
import { serverEnv } from "./lib/harness.mjs";

const testDir = path.join(conformanceDir, "test");
const files = (await readdir(testDir)).filter((f) => f.endsWith(".test.mjs")).sort().map((f) => path.join(testDir, f));
if (files.length === 0) {
  console.error(`no test files in ${testDir}`);
  process.exit(1);
}

console.error("conformance: building and starting falgo local ...");
let server;
try {
  server = await startFalgo();
} catch (err) {
  console.error(`conformance: ${err.message}`);
  process.exit(1);
}
console.error(`conformance: falgo local is serving on ${server.origin}`);

let runner;
let stopping;
const stopAll = async () => {
  stopping ??= server.stop();
  await stopping;
};
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, async () => {
    runner?.kill(sig);
    await stopAll();
    process.exit(130);
  });
}

let code = 1;
try {
  code = await new Promise((resolve, reject) => {
    // One file at a time: the suite is mostly waiting on the server, and the
    // large multipart upload should not compete with timing-sensitive flows.
    runner = spawn(process.execPath, ["--test", "--test-concurrency=1", "--test-timeout=120000", ...process.argv.slice(2), ...files], {
      stdio: "inherit",
      env: { ...process.env, ...serverEnv(server) },
    });
    runner.on("error", reject);
    runner.on("exit", (exitCode, signal) => resolve(exitCode ?? (signal ? 1 : 0)));
  });
} finally {
  await stopAll();
}
process.exit(code);
