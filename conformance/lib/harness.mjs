// Points the official @fal-ai/client at the local falgo server.
//
// The JS client hard-codes fal's hosts (https://fal.run, https://queue.fal.run,
// https://rest.fal.ai, wss://fal.run) and has no setting to change them. Its
// one seam is the `fetch` option (every HTTP call, including upload PUTs, goes
// through config.fetch) and, for realtime, the global WebSocket class. Both
// are replaced here by versions that rewrite fal's hosts to the prefixes of
// the local server and refuse any other host, so a test can never reach the
// internet.

import { after, before } from "node:test";
import { createFalClient } from "@fal-ai/client";
import WS from "ws";
import { startFalgo } from "./falgo.mjs";

/** Environment variables through which run-tests.mjs hands its server to the test files. */
export const SERVER_ENV = {
  key: "FALGO_CONFORMANCE_KEY",
  runHost: "FALGO_CONFORMANCE_RUN_HOST",
  queueHost: "FALGO_CONFORMANCE_QUEUE_RUN_HOST",
  restHost: "FALGO_CONFORMANCE_REST_HOST",
  cdnHost: "FALGO_CONFORMANCE_CDN_HOST",
};

/** The environment that hands server to child processes. */
export function serverEnv(server) {
  return Object.fromEntries(Object.entries(SERVER_ENV).map(([field, name]) => [name, server[field]]));
}

/**
 * Returns an object that holds the server once the file's `before` hook has
 * run: the one started by run-tests.mjs (npm test), or, when a test file is
 * run on its own (`node --test test/run.test.mjs`), one started for this file
 * and stopped in its `after` hook.
 */
export function useServer() {
  const server = {};
  let stop;
  before(async () => {
    if (process.env[SERVER_ENV.runHost]) {
      for (const [field, name] of Object.entries(SERVER_ENV)) server[field] = process.env[name];
    } else {
      const started = await startFalgo();
      stop = started.stop;
      Object.assign(server, started);
    }
    server.origin = new URL(server.runHost).origin;
  });
  after(async () => {
    if (stop) await stop();
  });
  return server;
}

/**
 * Maps a URL the JS client built to the local server: https://fal.run/X goes
 * to <run host>/X, https://queue.fal.run/X to <queue host>/X,
 * https://rest.fal.ai/X to <rest host>/X, https://v3.fal.media/X to
 * <cdn host>/X; URLs on the local server stay as they are. Anything else
 * throws, naming the URL.
 */
export function rewriteHttpUrl(server, href) {
  const url = new URL(href);
  if (url.origin === server.origin) return url.href;
  const hosts = {
    "fal.run": server.runHost,
    "queue.fal.run": server.queueHost,
    "rest.fal.ai": server.restHost,
    "v3.fal.media": server.cdnHost,
  };
  const base = url.protocol === "https:" ? hosts[url.host] : undefined;
  if (!base) {
    throw new Error(`conformance harness: the client asked for ${url.origin}, which is neither a fal host nor the local server`);
  }
  return `${base}${url.pathname}${url.search}`;
}

/** Maps wss://fal.run/X?Q to ws://<local run host>/X?Q; anything else throws. */
export function rewriteWebSocketUrl(server, href) {
  const url = new URL(href);
  if (url.protocol !== "wss:" || url.host !== "fal.run") {
    throw new Error(`conformance harness: the client opened a WebSocket to ${url.origin}, not wss://fal.run`);
  }
  const base = new URL(server.runHost);
  base.protocol = base.protocol === "https:" ? "wss:" : "ws:";
  return `${base.href.replace(/\/$/, "")}${url.pathname}${url.search}`;
}

/**
 * Returns a fetch that rewrites fal's hosts (see rewriteHttpUrl) and records
 * each call as { method, url, target, headers } in log, when log is given.
 */
export function rewritingFetch(server, log) {
  return async (input, init = {}) => {
    const href = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    const target = rewriteHttpUrl(server, href);
    log?.push({ method: (init.method ?? "GET").toUpperCase(), url: href, target, headers: { ...(init.headers ?? {}) } });
    if (typeof input !== "string" && !(input instanceof URL)) {
      return fetch(new Request(target, input), init);
    }
    return fetch(target, init);
  };
}

/**
 * Returns a WebSocket class (the `ws` package, which Node 20 lacks as a
 * global) whose constructor rewrites wss://fal.run to the local server and
 * records each URL in log, when given.
 */
export function rewritingWebSocket(server, log) {
  return class FalgoWebSocket extends WS {
    constructor(url, protocols, options) {
      const target = rewriteWebSocketUrl(server, String(url));
      log?.push({ url: String(url), target });
      super(target, protocols, options);
    }
  };
}

/**
 * Creates an @fal-ai/client talking to the local server.
 *
 * options.key overrides the server's key (for the 401 scenario); options.log
 * collects every HTTP call the client makes.
 */
export function createClient(server, { key = server.key, log } = {}) {
  return createFalClient({
    credentials: key,
    fetch: rewritingFetch(server, log),
    suppressLocalCredentialsWarning: true,
  });
}

/** Rejects with a clear message when promise does not settle within ms. */
export function within(ms, what, promise) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The first bytes of every PNG file. */
export const PNG_SIGNATURE = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
