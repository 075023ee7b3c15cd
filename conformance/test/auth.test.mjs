// A wrong key must be refused with HTTP 401 on every host the client calls.

import assert from "node:assert/strict";
import { test } from "node:test";
import { ApiError } from "@fal-ai/client";
import { createClient, useServer } from "../lib/harness.mjs";

const server = useServer();

/** Asserts that promise rejects with the client's ApiError for HTTP 401. */
async function assertUnauthorized(promise, what) {
  await assert.rejects(promise, (err) => {
    assert.ok(err instanceof ApiError, `${what}: want ApiError, got ${err}`);
    assert.equal(err.status, 401, `${what}: status`);
    return true;
  });
}

test("a wrong key gets 401 from run, queue and storage", async () => {
  const fal = createClient(server, { key: `wrong-${server.key}` });
  await assertUnauthorized(fal.run("falgo/echo", { input: { text: "x" } }), "run");
  await assertUnauthorized(fal.queue.submit("falgo/echo", { input: { text: "x" } }), "queue.submit");
  await assertUnauthorized(fal.queue.status("falgo/echo", { requestId: "00000000-0000-0000-0000-000000000000" }), "queue.status");
  await assertUnauthorized(fal.storage.upload(new Blob(["x"], { type: "text/plain" })), "storage.upload");

  // The same calls work with the right key, so the 401s came from the key.
  const ok = createClient(server);
  await ok.run("falgo/echo", { input: { text: "x" } });
});

test("no key at all gets 401", async () => {
  const fal = createClient(server, { key: "" });
  await assertUnauthorized(fal.run("falgo/echo", { input: { text: "x" } }), "run without a key");
});
