// Builds and runs `falgo local`, the fal-compatible server under test.
//
// startFalgo() builds cmd/falgo from the repository root (the parent of this
// conformance/ folder) into a temporary folder, spawns
// `falgo local --addr 127.0.0.1:0`, and reads the `export NAME=value` lines it
// prints first. The returned object's stop() kills the process and removes the
// temporary folder; an exit hook kills it too if the caller never gets there.

import { spawn, execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

/** The conformance/ folder and the repository root above it. */
export const conformanceDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const repoRoot = path.resolve(conformanceDir, "..");

/** The settings `falgo local` exports, in the order it prints them. */
export const EXPORT_NAMES = ["FAL_KEY", "FAL_RUN_HOST", "FAL_QUEUE_RUN_HOST", "FAL_REST_HOST", "FAL_CDN_HOST"];

/** How long to wait for `falgo local` to print its exports. */
const START_TIMEOUT_MS = 60_000;

/**
 * Parses one `export NAME=value` line as printed by `falgo local`: the value is
 * either a bare word or single-quoted with '\'' for an embedded quote.
 * Returns undefined for any other line.
 */
export function parseExportLine(line) {
  const m = /^export ([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
  if (!m) return undefined;
  let value = m[2];
  if (value.startsWith("'")) {
    if (!value.endsWith("'") || value.length < 2) return undefined;
    value = value.slice(1, -1).replaceAll("'\\''", "'");
  }
  return { name: m[1], value };
}

/**
 * Builds cmd/falgo with the Go toolchain into dir and returns the binary path.
 */
export async function buildFalgo(dir) {
  const bin = path.join(dir, process.platform === "win32" ? "falgo.exe" : "falgo");
  try {
    await execFileAsync("go", ["build", "-o", bin, "./cmd/falgo"], { cwd: repoRoot, maxBuffer: 16 << 20 });
  } catch (err) {
    throw new Error(`go build ./cmd/falgo failed in ${repoRoot} (Go must be installed and the module must compile):\n${err.stderr || err.message}`);
  }
  return bin;
}

/**
 * Starts `falgo local` on a free loopback port and resolves once it has
 * printed its environment. Set FALGO_BIN to use an already built binary.
 *
 * Resolves to { env, key, runHost, queueHost, restHost, cdnHost, origin, stop }.
 */
export async function startFalgo() {
  const tmp = await mkdtemp(path.join(tmpdir(), "falgo-conformance-"));
  let child;
  const killNow = () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  };
  process.on("exit", killNow);
  const cleanupTmp = () => rm(tmp, { recursive: true, force: true });
  try {
    const bin = process.env.FALGO_BIN || (await buildFalgo(tmp));
    child = spawn(bin, ["local", "--addr", "127.0.0.1:0"], { stdio: ["ignore", "pipe", "pipe"] });
    const env = await readExports(child);
    const server = {
      env,
      key: env.FAL_KEY,
      runHost: env.FAL_RUN_HOST,
      queueHost: env.FAL_QUEUE_RUN_HOST,
      restHost: env.FAL_REST_HOST,
      cdnHost: env.FAL_CDN_HOST,
      origin: new URL(env.FAL_RUN_HOST).origin,
      stop: async () => {
        await stopChild(child);
        process.off("exit", killNow);
        await cleanupTmp();
      },
    };
    return server;
  } catch (err) {
    killNow();
    process.off("exit", killNow);
    await cleanupTmp();
    throw err;
  }
}

/** Reads the export lines from the child's stdout. */
function readExports(child) {
  return new Promise((resolve, reject) => {
    const env = {};
    let stdout = "";
    let stderr = "";
    const timer = setTimeout(() => fail(new Error(`falgo local printed no environment within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
    const fail = (err) => {
      clearTimeout(timer);
      reject(new Error(`${err.message}\nstdout so far: ${JSON.stringify(stdout)}\nstderr: ${stderr}`));
    };
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
      // Keep the tail only: enough to explain a failure.
      if (stderr.length > 8192) stderr = stderr.slice(-8192);
    });
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
      const lines = stdout.split("\n");
      for (const line of lines.slice(0, -1)) {
        const kv = parseExportLine(line);
        if (!kv) return fail(new Error(`falgo local printed a line that is not an export: ${JSON.stringify(line)}`));
        env[kv.name] = kv.value;
      }
      if (EXPORT_NAMES.every((name) => name in env)) {
        clearTimeout(timer);
        resolve(env);
      }
    });
    child.on("error", (err) => fail(new Error(`cannot run falgo: ${err.message}`)));
    child.on("exit", (code, signal) => fail(new Error(`falgo local exited early (code ${code}, signal ${signal})`)));
  });
}

/** Stops the child with SIGTERM (a clean stop), then SIGKILL if it lingers. */
function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill("SIGTERM");
  });
}
