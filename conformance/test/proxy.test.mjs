// The browser-app setup: @fal-ai/client with proxyUrl ({url, when: "always"})
// and no credentials → falproxy (the Go server-side proxy, run by
// conformance/proxyserver with the server's key) → falgo local.
//
// The client's fetch here plays the browser: it may reach the proxy and the
// local server's signed storage URLs (uploads go there directly), and
// throws for anything else, so a request that bypassed the proxy to a fal
// host fails the test. Every request also carries the app's own session
// (Authorization: Bearer <session>), which the proxy checks and never
// forwards.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, test } from "node:test";
import { ApiError, createFalClient } from "@fal-ai/client";
import { rewritingWebSocket, useServer, within } from "../lib/harness.mjs";
import { startProxy } from "../lib/proxy.mjs";

const server = useServer();

/** The running proxy (see startProxy), once proxyReady() has resolved. */
const proxy = {};
let starting;
/**
 * Starts the proxy on first use. It cannot be a second top-level before
 * hook: Node 20 starts those without waiting for the previous one, and the
 * proxy needs the server useServer's hook provides.
 */
function proxyReady() {
  starting ??= startProxy(server).then((p) => Object.assign(proxy, p));
  return starting;
}
after(async () => {
  if (starting) await starting.then(() => proxy.stop(), () => {});
});

const MiB = 1024 * 1024;

/**
 * A fetch that allows only the proxy and URLs on the local server (signed
 * upload URLs, stored files), recording { method, url, target, headers }.
 */
function browserFetch(log) {
  return async (input, init = {}) => {
    const href = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    const url = new URL(href);
    if (href !== proxy.url && url.origin !== server.origin) {
      throw new Error(`browser fetch: ${href} is neither the proxy nor a storage URL of the local server; the client bypassed the proxy`);
    }
    const headers = { ...(init.headers ?? {}) };
    log?.push({ method: (init.method ?? "GET").toUpperCase(), url: href, target: headers["x-fal-target-url"], headers });
    return fetch(input, init);
  };
}

/** The client as a browser app configures it: proxyUrl, no credentials, its own session header. */
function browserClient({ log, session = proxy.session } = {}) {
  return createFalClient({
    proxyUrl: { url: proxy.url, when: "always" },
    credentials: () => undefined,
    fetch: browserFetch(log),
    requestMiddleware: async (req) => (session ? { ...req, headers: { ...(req.headers ?? {}), Authorization: `Bearer ${session}` } } : req),
  });
}

/** Checks that every call went to the proxy, without a fal key, and returns the targets. */
function proxiedTargets(log) {
  for (const r of log) {
    assert.equal(r.url, proxy.url, `${r.method} ${r.url} did not go to the proxy`);
    const auth = r.headers.Authorization ?? r.headers.authorization ?? "";
    assert.ok(!/^Key /.test(auth), `the browser sent a fal key: ${auth}`);
  }
  return log.map((r) => `${r.method} ${r.target}`);
}

test("run through the proxy: the app gets the input and sees the proxy's header", async () => {
  await proxyReady();
  const log = [];
  const fal = browserClient({ log });
  const input = { text: "hello through falproxy", nested: { n: 1 }, _headers: true };

  const result = await fal.run("falgo/echo", { input });

  assert.equal(result.data.text, input.text);
  assert.deepEqual(result.data.nested, input.nested);
  assert.match(result.data._request.headers["X-Fal-Client-Proxy"] ?? "", /^falgo\//, "X-Fal-Client-Proxy did not reach the app");
  assert.match(result.data._request.headers["User-Agent"] ?? "", /@fal-ai\/client/, "the client's User-Agent did not reach the app");
  assert.ok(result.requestId, "x-fal-request-id did not come back through the proxy");
  assert.deepEqual(proxiedTargets(log), ["POST https://fal.run/falgo/echo"]);
});

test("subscribe (polling) through the proxy: queue updates with logs, then the result", async () => {
  await proxyReady();
  const log = [];
  const fal = browserClient({ log });
  const input = { text: "queued via proxy", _logs: ["proxy: step 1", "proxy: step 2"], _sleep_ms: 500 };
  const updates = [];
  let enqueued;

  const result = await within(60_000, "subscribe", fal.subscribe("falgo/echo", {
    input,
    logs: true,
    pollInterval: 50,
    onEnqueue: (id) => {
      enqueued = id;
    },
    onQueueUpdate: (u) => updates.push(u),
  }));

  assert.deepEqual(result.data, input);
  assert.equal(result.requestId, enqueued);
  assert.equal(updates.at(-1).status, "COMPLETED");
  assert.ok(updates.some((u) => u.status !== "COMPLETED"), "never saw the request pending");
  const messages = updates.flatMap((u) => u.logs ?? []).map((l) => l.message);
  assert.ok(messages.includes("proxy: step 2"), `logs seen: ${JSON.stringify(messages)}`);

  const targets = proxiedTargets(log);
  assert.equal(targets[0], "POST https://queue.fal.run/falgo/echo");
  assert.ok(targets.slice(1, -1).every((t) => t.startsWith(`GET https://queue.fal.run/falgo/echo/requests/${enqueued}/status?logs=1`)), targets.join("\n"));
  assert.equal(targets.at(-1), `GET https://queue.fal.run/falgo/echo/requests/${enqueued}`);
});

test("subscribe (streaming) through the proxy: the status stream is passed through", async () => {
  await proxyReady();
  const log = [];
  const fal = browserClient({ log });
  const input = { text: "status stream via proxy", _logs: ["sse: a", "sse: b"], _sleep_ms: 300 };
  const updates = [];

  const result = await within(60_000, "subscribe", fal.subscribe("falgo/echo", {
    input,
    logs: true,
    mode: "streaming",
    onQueueUpdate: (u) => updates.push(u),
  }));

  assert.deepEqual(result.data, input);
  assert.equal(updates.at(-1)?.status, "COMPLETED", JSON.stringify(updates));
  const messages = updates.at(-1).logs.map((l) => l.message);
  assert.deepEqual(messages.filter((m) => m.startsWith("sse:")), ["sse: a", "sse: b"]);
  assert.ok(proxiedTargets(log).some((t) => /^GET https:\/\/queue\.fal\.run\/falgo\/echo\/requests\/[^/]+\/status\/stream\?logs=1$/.test(t)), proxiedTargets(log).join("\n"));
});

test("stream through the proxy: partial events, then the final one", async () => {
  await proxyReady();
  const log = [];
  const fal = browserClient({ log });
  const stream = await fal.stream("fal-ai/any-llm", { input: { prompt: "Stream through falproxy." } });
  const events = [];
  await within(60_000, "the stream", (async () => {
    for await (const e of stream) events.push(e);
  })());
  const done = await stream.done();

  assert.ok(events.length >= 2, `want at least 2 events, got ${JSON.stringify(events)}`);
  for (const e of events.slice(0, -1)) assert.equal(e.partial, true);
  assert.equal(events.at(-1).partial, false);
  assert.deepEqual(done, events.at(-1));
  assert.ok(stream.requestId, "x-fal-request-id missing from the proxied stream");
  assert.deepEqual(proxiedTargets(log), ["POST https://fal.run/fal-ai/any-llm/stream"]);
  assert.match(log[0].headers.accept ?? "", /text\/event-stream/);
});

test("upload a small Blob: initiate through the proxy, the PUT straight to storage", async () => {
  await proxyReady();
  const log = [];
  const fal = browserClient({ log });
  const bytes = new TextEncoder().encode("uploaded by a browser app through falproxy\n");

  const url = await fal.storage.upload(new Blob([bytes], { type: "text/plain" }));

  const res = await fetch(url);
  assert.equal(res.status, 200);
  assert.deepEqual(new Uint8Array(await res.arrayBuffer()), bytes);
  assert.equal(log.length, 2, JSON.stringify(log.map((r) => r.url)));
  assert.deepEqual(proxiedTargets(log.slice(0, 1)), ["POST https://rest.fal.ai/storage/upload/initiate?storage_type=fal-cdn-v3"]);
  assert.equal(log[1].method, "PUT");
  assert.equal(new URL(log[1].url).origin, server.origin, "the file itself must go to the signed URL, not the proxy");
  assert.equal(log[1].headers["x-fal-target-url"], undefined);
});

test("upload above 90 MiB: initiate-multipart through the proxy (which @fal-ai/server-proxy refuses)", { timeout: 300_000 }, async () => {
  await proxyReady();
  const size = 91 * MiB;
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i += 4096) data[i] = (i / 4096) & 0xff;
  const want = createHash("sha256").update(data).digest("hex");
  const log = [];
  const fal = browserClient({ log });

  const url = await within(240_000, "the multipart upload", fal.storage.upload(new Blob([data], { type: "application/octet-stream" })));

  const res = await fetch(url);
  assert.equal(res.status, 200);
  const got = new Uint8Array(await res.arrayBuffer());
  assert.equal(createHash("sha256").update(got).digest("hex"), want, "downloaded bytes differ");
  assert.deepEqual(proxiedTargets(log.slice(0, 1)), ["POST https://rest.fal.ai/storage/upload/initiate-multipart?storage_type=fal-cdn-v3"]);
  const direct = log.slice(1);
  assert.equal(direct.length, Math.ceil(size / (10 * MiB)) + 1, "parts and completion");
  for (const r of direct) assert.equal(new URL(r.url).origin, server.origin, `${r.method} ${r.url} should go straight to storage`);
});

test("realtime: the token comes through the proxy (which @fal-ai/server-proxy refuses)", async (t) => {
  await proxyReady();
  t.mock.method(console, "warn", () => {}); // the default token provider is deprecated
  const wsLog = [];
  // The socket goes from the browser to fal directly, with the token.
  globalThis.WebSocket = rewritingWebSocket(server, wsLog);
  const log = [];
  const fal = browserClient({ log });
  let connection;
  const answer = new Promise((resolve, reject) => {
    connection = fal.realtime.connect("falgo/echo", {
      throttleInterval: 0,
      onResult: resolve,
      onError: (e) => reject(new Error(`onError: ${e.status} ${e.message}`)),
    });
    connection.send({ text: "realtime via a proxied token" });
  });
  try {
    const result = await within(30_000, "the realtime answer", answer);
    assert.match(JSON.stringify(result), /realtime via a proxied token/);
  } finally {
    connection.close();
  }
  assert.deepEqual(proxiedTargets(log), ["POST https://rest.fal.ai/tokens/"]);
  assert.equal(wsLog.length, 1);
  assert.ok(new URL(wsLog[0].url).searchParams.get("fal_jwt_token"), "the socket carries no token");
});

test("the proxy refuses callers without the app's session, and targets outside fal", async () => {
  await proxyReady();
  const anonymous = browserClient({ session: null });
  await assert.rejects(anonymous.run("falgo/echo", { input: { x: 1 } }), (err) => {
    assert.ok(err instanceof ApiError, String(err));
    assert.equal(err.status, 401);
    assert.equal(err.message, "sign in to use the fal proxy");
    return true;
  });

  // An app id that is a URL is called as is; a look-alike host is refused.
  const fal = browserClient();
  await assert.rejects(fal.run("https://evilfal.run/steal", { input: { x: 1 } }), (err) => {
    assert.ok(err instanceof ApiError, String(err));
    assert.equal(err.status, 403);
    assert.match(err.message, /not allowed/);
    return true;
  });
  assert.doesNotMatch(proxy.logs(), new RegExp(server.key), "the key appears in the proxy's log");
});
