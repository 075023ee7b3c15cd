// The queue: subscribe (submit + polling + result), and submit, status,
// streamStatus, result and cancel called one by one.

import assert from "node:assert/strict";
import { createServer } from "node:http";
import { test } from "node:test";
import { ApiError, isQueueStatus } from "@fal-ai/client";
import { createClient, useServer, within } from "../lib/harness.mjs";

const server = useServer();

/** A text-to-image demo app, called by its full id (owner/alias/path). */
const WORKING_APP = "fal-ai/flux/schnell";
const WORKING_INPUT = { prompt: "queue conformance", num_images: 1 };

/**
 * falgo/echo returns its input; "_logs" lines are logged first and
 * "_sleep_ms" keeps it running for that long (see the faltest docs). 1.5 s is
 * far longer than the 50 ms poll interval, so the pending state is seen.
 */
const LOGGING_ECHO_INPUT = { text: "subscribe", _logs: ["echo: starting", "echo: working"], _sleep_ms: 1500 };

/** An input that keeps falgo/echo busy far longer than any test waits. */
const SLOW_ECHO_INPUT = { text: "slow", _sleep_ms: 600_000 };

const STATUS_ORDER = ["IN_QUEUE", "IN_PROGRESS", "COMPLETED"];

/** Checks the fields every QueueStatus must carry for this request. */
function assertStatusShape(status, requestId) {
  assert.ok(isQueueStatus(status), `not a QueueStatus: ${JSON.stringify(status)}`);
  assert.ok(STATUS_ORDER.includes(status.status), `unknown status ${status.status}`);
  assert.equal(status.request_id, requestId, "request_id");
  if (status.status === "IN_QUEUE") {
    assert.equal(typeof status.queue_position, "number", `IN_QUEUE without queue_position: ${JSON.stringify(status)}`);
  }
}

/** Checks one log entry has the fields of the client's RequestLog type. */
function assertLogEntry(entry) {
  assert.equal(typeof entry.message, "string", `log message: ${JSON.stringify(entry)}`);
  assert.ok(["STDERR", "STDOUT", "ERROR", "INFO", "WARN", "DEBUG"].includes(entry.level), `log level: ${JSON.stringify(entry)}`);
  assert.equal(typeof entry.timestamp, "string", `log timestamp: ${JSON.stringify(entry)}`);
  assert.ok(!Number.isNaN(Date.parse(entry.timestamp)), `log timestamp is not a date: ${entry.timestamp}`);
}

test("subscribe with logs reports queue updates with logs, then the result", async () => {
  const log = [];
  const fal = createClient(server, { log });
  const updates = [];
  let enqueued;

  const result = await within(
    60_000,
    "subscribe",
    fal.subscribe("falgo/echo", {
      input: LOGGING_ECHO_INPUT,
      logs: true,
      pollInterval: 50,
      onEnqueue: (id) => {
        enqueued = id;
      },
      onQueueUpdate: (update) => updates.push(update),
    }),
  );

  assert.equal(typeof enqueued, "string", "onEnqueue was not called with a request id");
  assert.equal(result.requestId, enqueued, "result.requestId (x-fal-request-id of the result) vs the submitted id");
  assert.deepEqual(result.data, LOGGING_ECHO_INPUT, "the result is the echoed input");

  assert.ok(updates.length >= 2, `want at least one pending update and COMPLETED, got ${JSON.stringify(updates)}`);
  for (const u of updates) assertStatusShape(u, enqueued);
  const order = updates.map((u) => STATUS_ORDER.indexOf(u.status));
  assert.deepEqual(order, [...order].sort(), `statuses went backwards: ${updates.map((u) => u.status)}`);
  assert.ok(updates.slice(0, -1).some((u) => u.status !== "COMPLETED"), "never saw IN_QUEUE or IN_PROGRESS");
  assert.equal(updates.at(-1).status, "COMPLETED");

  const withLogs = updates.filter((u) => u.status !== "IN_QUEUE" && Array.isArray(u.logs) && u.logs.length > 0);
  assert.ok(withLogs.length > 0, `no update carried logs: ${JSON.stringify(updates)}`);
  for (const u of withLogs) u.logs.forEach(assertLogEntry);
  const completed = updates.at(-1);
  assert.deepEqual(
    completed.logs?.map((l) => l.message),
    LOGGING_ECHO_INPUT._logs,
    "COMPLETED with logs=1 should list the app's log lines",
  );

  // The polls asked for logs, as the client does: ?logs=1.
  const polls = log.filter((r) => r.method === "GET" && r.url.includes("/status"));
  assert.ok(polls.length >= 2);
  for (const p of polls) assert.match(p.url, /\/requests\/[^/]+\/status\?logs=1$/);
});

test("queue submit, status, streamStatus and result", async () => {
  const log = [];
  const fal = createClient(server, { log });

  const enq = await fal.queue.submit(WORKING_APP, { input: WORKING_INPUT });
  assert.equal(enq.status, "IN_QUEUE", `submit response: ${JSON.stringify(enq)}`);
  const requestId = enq.request_id;
  assert.equal(typeof requestId, "string");
  assert.equal(typeof enq.queue_position, "number", "submit response without queue_position");
  for (const field of ["response_url", "status_url", "cancel_url"]) {
    assert.ok(
      typeof enq[field] === "string" && enq[field].startsWith(`${server.origin}/`),
      `${field} = ${enq[field]}, want an absolute URL under ${server.origin}`,
    );
  }

  const status = await fal.queue.status(WORKING_APP, { requestId, logs: true });
  assertStatusShape(status, requestId);

  const stream = await fal.queue.streamStatus(WORKING_APP, { requestId, logs: true });
  const events = [];
  stream.on("data", (d) => events.push(d));
  const last = await within(60_000, "streamStatus", stream.done());
  assert.equal(last.status, "COMPLETED", `status stream ended with ${JSON.stringify(last)}`);
  assert.ok(events.length >= 1);
  for (const e of events) assertStatusShape(e, requestId);
  assert.equal(events.at(-1).status, "COMPLETED");

  const result = await fal.queue.result(WORKING_APP, { requestId });
  assert.equal(result.requestId, requestId, "x-fal-request-id of the result");
  assert.ok(Array.isArray(result.data.images) && result.data.images.length === 1, JSON.stringify(result.data));

  // Status, stream and result use owner/alias without the app's sub-path.
  const urls = log.map((r) => `${r.method} ${r.url}`);
  assert.deepEqual(urls, [
    "POST https://queue.fal.run/fal-ai/flux/schnell",
    `GET https://queue.fal.run/fal-ai/flux/requests/${requestId}/status?logs=1`,
    `GET https://queue.fal.run/fal-ai/flux/requests/${requestId}/status/stream?logs=1`,
    `GET https://queue.fal.run/fal-ai/flux/requests/${requestId}`,
  ]);
});

test("queue cancel stops a slow request", async () => {
  const fal = createClient(server);
  const app = "falgo/echo";
  const { request_id: requestId } = await fal.queue.submit(app, { input: SLOW_ECHO_INPUT });

  // The request must really be pending, or the cancel proves nothing.
  const before = await fal.queue.status(app, { requestId });
  assert.notEqual(before.status, "COMPLETED", `the slow request finished at once: ${JSON.stringify(before)}`);

  await fal.queue.cancel(app, { requestId });

  // After the cancel the request ends soon, long before its delay is up...
  const final = await within(
    30_000,
    "the cancelled request to complete",
    fal.queue.subscribeToStatus(app, { requestId, pollInterval: 20 }),
  );
  assert.equal(final.status, "COMPLETED");
  // ... and it has no output: the result is an error, not the echo.
  await assert.rejects(fal.queue.result(app, { requestId }), (err) => {
    assert.ok(err instanceof ApiError, `want ApiError, got ${err}`);
    assert.ok(err.status >= 400 && err.status < 500, `result of a cancelled request: status ${err.status}`);
    return true;
  });
});

test(
  "streamStatus in client mode authenticates with ?fal_jwt_token= instead of the key",
  async (t) => {
    t.mock.method(console, "warn", () => {});
    const log = [];
    const fal = createClient(server, { log });
    const { request_id: requestId } = await fal.queue.submit("falgo/echo", { input: { text: "jwt status" } });
    const stream = await fal.queue.streamStatus("falgo/echo", { requestId, connectionMode: "client" });
    const last = await within(60_000, "the client-mode status stream", stream.done());
    assert.equal(last.status, "COMPLETED", `status stream ended with ${JSON.stringify(last)}`);
    const call = log.find((r) => r.url.includes("/status/stream"));
    assert.match(call.url, /\/requests\/[^/]+\/status\/stream\?logs=0&fal_jwt_token=./);
    assert.equal(call.headers.Authorization, undefined);
  },
);

test("subscribe in streaming mode accumulates the logs of the status stream", async () => {
  const log = [];
  const fal = createClient(server, { log });
  const updates = [];
  const result = await within(
    60_000,
    "subscribe (streaming)",
    fal.subscribe("falgo/echo", {
      input: LOGGING_ECHO_INPUT,
      logs: true,
      mode: "streaming",
      onQueueUpdate: (update) => updates.push(update),
    }),
  );

  assert.deepEqual(result.data, LOGGING_ECHO_INPUT);
  assert.equal(updates.at(-1)?.status, "COMPLETED", `updates: ${JSON.stringify(updates)}`);
  // The client concatenates each event's logs, so every line must be sent
  // exactly once over the stream.
  assert.deepEqual(updates.at(-1).logs.map((l) => l.message), LOGGING_ECHO_INPUT._logs);
  assert.ok(
    log.some((r) => /\/requests\/[^/]+\/status\/stream\?logs=1$/.test(r.url)),
    "the client did not use the status stream",
  );
});

test("submit passes priority, hint, start timeout and custom headers to the app", async () => {
  const fal = createClient(server);
  const result = await within(
    60_000,
    "subscribe with headers",
    fal.subscribe("falgo/echo", {
      input: { text: "headers", _headers: true },
      priority: "low",
      hint: "conformance-hint",
      startTimeout: 30,
      headers: { "X-Fal-Conformance": "yes" },
      pollInterval: 20,
    }),
  );
  const headers = result.data._request?.headers;
  assert.ok(headers, `no _request.headers in ${JSON.stringify(result.data)}`);
  assert.equal(headers["X-Fal-Queue-Priority"], "low");
  assert.equal(headers["X-Fal-Runner-Hint"], "conformance-hint");
  assert.equal(headers["X-Fal-Request-Timeout"], "30");
  assert.equal(headers["X-Fal-Conformance"], "yes");
  assert.match(headers["User-Agent"] ?? "", /^@fal-ai\/client\/1\.10\.1/);
});

test("submit with webhookUrl delivers the result to the webhook", async () => {
  const deliveries = [];
  let delivered;
  const gotOne = new Promise((resolve) => {
    delivered = resolve;
  });
  const hook = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      deliveries.push({ method: req.method, url: req.url, headers: req.headers, body });
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
      delivered();
    });
  });
  await new Promise((resolve) => hook.listen(0, "127.0.0.1", resolve));
  try {
    const webhookUrl = `http://127.0.0.1:${hook.address().port}/fal-hook?source=conformance`;
    const fal = createClient(server);
    const input = { text: "webhook" };
    const { request_id: requestId } = await fal.queue.submit("falgo/echo", { input, webhookUrl });

    await within(30_000, "the webhook delivery", gotOne);
    const d = deliveries[0];
    assert.equal(d.method, "POST");
    assert.equal(d.url, "/fal-hook?source=conformance", "the webhook URL (with its query) is called as given");
    const body = JSON.parse(d.body);
    assert.equal(body.request_id, requestId);
    assert.equal(body.status, "OK");
    assert.deepEqual(body.payload, input);
  } finally {
    hook.closeAllConnections();
    await new Promise((resolve) => hook.close(resolve));
  }
});
