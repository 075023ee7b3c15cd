// Builds and runs conformance/proxyserver: falproxy (the Go server-side
// proxy) in front of the `falgo local` server under test, standing in for
// the backend of a browser app that uses @fal-ai/client's proxyUrl.
//
// startProxy(server) builds the program into a temporary folder, starts it
// on a free loopback port with the server's exports (FAL_KEY and the host
// URLs) in its environment and a random session token, and resolves once it
// has printed its URL. stop() ends it; an exit hook kills it if the caller
// never gets there.

import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { repoRoot } from "./falgo.mjs";

const execFileAsync = promisify(execFile);

/** How long to wait for the proxy to print its URL. */
const START_TIMEOUT_MS = 60_000;

/**
 * Starts the proxy for server (as returned by useServer or startFalgo).
 * Resolves to { url, origin, session, logs(), stop() }: url is the proxyUrl
 * to give the client, session the bearer token the proxy wants from
 * callers, logs() the proxy's stderr so far.
 */
export async function startProxy(server) {
  const tmp = await mkdtemp(path.join(tmpdir(), "falgo-proxy-"));
  let child;
  const killNow = () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  };
  process.on("exit", killNow);
  const cleanupTmp = () => rm(tmp, { recursive: true, force: true });
  try {
    const bin = path.join(tmp, process.platform === "win32" ? "proxyserver.exe" : "proxyserver");
    try {
      await execFileAsync("go", ["build", "-o", bin, "./conformance/proxyserver"], { cwd: repoRoot, maxBuffer: 16 << 20 });
    } catch (err) {
      throw new Error(`go build ./conformance/proxyserver failed in ${repoRoot}:\n${err.stderr || err.message}`);
    }
    const session = randomBytes(16).toString("hex");
    child = spawn(bin, ["-addr", "127.0.0.1:0", "-session", session], {
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env,
        // The proxy finds the key the way a deployed backend does: FAL_KEY in
        // its environment, read by falproxy's default credential chain.
        FAL_KEY: server.key,
        FAL_RUN_HOST: server.runHost,
        FAL_QUEUE_RUN_HOST: server.queueHost,
        FAL_REST_HOST: server.restHost,
      },
    });
    let stderr = "";
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
      if (stderr.length > 65536) stderr = stderr.slice(-65536);
    });
    const url = await readProxyURL(child, () => stderr);
    return {
      url,
      origin: new URL(url).origin,
      session,
      logs: () => stderr,
      stop: async () => {
        await stopChild(child);
        process.off("exit", killNow);
        await cleanupTmp();
      },
    };
  } catch (err) {
    killNow();
    process.off("exit", killNow);
    await cleanupTmp();
    throw err;
  }
}

/** Reads the PROXY_URL=<url> line the proxy prints once it listens. */
function readProxyURL(child, stderr) {
  return new Promise((resolve, reject) => {
    let stdout = "";
    const timer = setTimeout(() => fail(new Error(`proxyserver printed no URL within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
    const fail = (err) => {
      clearTimeout(timer);
      reject(new Error(`${err.message}\nstdout: ${JSON.stringify(stdout)}\nstderr: ${stderr()}`));
    };
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
      const line = stdout.split("\n")[0];
      if (!stdout.includes("\n")) return;
      const m = /^PROXY_URL=(http:\/\/127\.0\.0\.1:\d+\/\S*)$/.exec(line);
      if (!m) return fail(new Error(`proxyserver printed an unexpected line: ${JSON.stringify(line)}`));
      clearTimeout(timer);
      resolve(m[1]);
    });
    child.on("error", (err) => fail(new Error(`cannot run proxyserver: ${err.message}`)));
    child.on("exit", (code, signal) => fail(new Error(`proxyserver exited early (code ${code}, signal ${signal})`)));
  });
}

/** Stops the child with SIGTERM, then SIGKILL if it lingers. */
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
