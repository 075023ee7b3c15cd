// fal.stream: server-sent events from POST https://fal.run/<app>/stream.

import assert from "node:assert/strict";
import { test } from "node:test";
import { createClient, useServer, within } from "../lib/harness.mjs";

const server = useServer();

test("stream fal-ai/any-llm yields partial events, then a final one", async () => {
  const log = [];
  const fal = createClient(server, { log });
  const stream = await fal.stream("fal-ai/any-llm", {
    input: { prompt: "Say hello to the conformance suite.", model: "google/gemini-flash-1.5" },
  });

  const events = [];
  await within(60_000, "the stream", (async () => {
    for await (const event of stream) events.push(event);
  })());
  const done = await stream.done();

  assert.ok(events.length >= 2, `want at least 2 events, got ${JSON.stringify(events)}`);
  const last = events.at(-1);
  assert.equal(last.partial, false, `the last event should have partial: false: ${JSON.stringify(last)}`);
  for (const e of events.slice(0, -1)) assert.equal(e.partial, true, `an earlier event is not partial: ${JSON.stringify(e)}`);
  assert.deepEqual(done, last, "done() should resolve with the last event");
  assert.equal(typeof last.output, "string");
  assert.notEqual(last.output, "", "the final output is empty");
  assert.ok(stream.requestId, "x-fal-request-id header missing from the stream response");

  assert.equal(log.length, 1);
  assert.equal(`${log[0].method} ${log[0].url}`, "POST https://fal.run/fal-ai/any-llm/stream");
});

test(
  "stream in client mode authenticates with ?fal_jwt_token= instead of the key",
  async (t) => {
    // The default token provider warns that it is deprecated; keep the output clean.
    t.mock.method(console, "warn", () => {});
    const log = [];
    const fal = createClient(server, { log });
    const stream = await fal.stream("fal-ai/any-llm", {
      input: { prompt: "Stream with a temporary token." },
      connectionMode: "client",
    });
    const last = await within(60_000, "the client-mode stream", stream.done());
    assert.equal(last.partial, false, `last event: ${JSON.stringify(last)}`);

    // A token from POST /tokens/ (sent with the key), then the stream with
    // the token in the query and no Authorization header.
    assert.equal(`${log[0].method} ${log[0].url}`, "POST https://rest.fal.ai/tokens/");
    const streamCall = log[1];
    assert.match(streamCall.url, /^https:\/\/fal\.run\/fal-ai\/any-llm\/stream\?fal_jwt_token=./);
    assert.equal(streamCall.headers.Authorization, undefined);
  },
);
