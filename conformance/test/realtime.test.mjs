// fal.realtime.connect: a token from POST https://rest.fal.ai/tokens/, then a
// WebSocket to wss://fal.run/<app>/realtime?fal_jwt_token=<token> carrying
// msgpack frames both ways.

import assert from "node:assert/strict";
import { after, test } from "node:test";
import { PNG_SIGNATURE, createClient, rewritingWebSocket, useServer, within } from "../lib/harness.mjs";

const server = useServer();

/** The app the messages go to; falgo/echo answers each message with its input. */
const REALTIME_APP = "falgo/echo";

const connections = [];
after(() => {
  // Never leave a socket (or the client's token refresh timer) keeping the
  // test process alive after a failure.
  for (const c of connections) c.close();
});

test("realtime connect: two sends, two results", async (t) => {
  const wsLog = [];
  // The client uses the global WebSocket (Node 20 has none): install ws with
  // the host rewrite, for this test file's process only.
  globalThis.WebSocket = rewritingWebSocket(server, wsLog);
  // The default token provider warns that it is deprecated; keep the output clean.
  t.mock.method(console, "warn", () => {});

  const log = [];
  const fal = createClient(server, { log });
  const results = [];
  const errors = [];
  let notify = () => {};
  const connection = fal.realtime.connect(REALTIME_APP, {
    // The default 128 ms throttle drops sends made within the window; the
    // test sends one message per result, so no throttling is needed.
    throttleInterval: 0,
    onResult: (result) => {
      results.push(result);
      notify();
    },
    onError: (error) => {
      errors.push(error);
      notify();
    },
  });
  connections.push(connection);

  const waitForResults = (n) =>
    within(30_000, `realtime result ${n}`, new Promise((resolve, reject) => {
      const check = () => {
        if (errors.length > 0) reject(new Error(`onError: ${errors.map((e) => `${e.status} ${e.message}`).join("; ")}`));
        else if (results.length >= n) resolve();
      };
      notify = check;
      check();
    }));

  // The client keeps one pending message while it connects, so send the
  // second only once the first has been answered.
  connection.send({ text: "first realtime message", n: 1 });
  await waitForResults(1);
  connection.send({ text: "second realtime message", n: 2 });
  await waitForResults(2);

  assert.equal(results.length, 2, `results: ${JSON.stringify(results)}`);
  assert.match(JSON.stringify(results[0]), /first realtime message/);
  assert.match(JSON.stringify(results[1]), /second realtime message/);

  // One token request, then one socket carrying that token.
  const tokenCalls = log.filter((r) => r.url === "https://rest.fal.ai/tokens/");
  assert.equal(tokenCalls.length, 1, `token requests: ${JSON.stringify(log.map((r) => r.url))}`);
  assert.equal(wsLog.length, 1, "the client should open one socket for both sends");
  const wsUrl = new URL(wsLog[0].url);
  assert.equal(`${wsUrl.origin}${wsUrl.pathname}`, `wss://fal.run/${REALTIME_APP}/realtime`);
  assert.ok(wsUrl.searchParams.get("fal_jwt_token"), "no fal_jwt_token on the socket URL");

  connection.close();
});

test("realtime text-to-image: fal-ai/fast-lcm-diffusion answers with an image", async (t) => {
  globalThis.WebSocket = rewritingWebSocket(server);
  t.mock.method(console, "warn", () => {});
  const fal = createClient(server);
  const answer = new Promise((resolve, reject) => {
    const connection = fal.realtime.connect("fal-ai/fast-lcm-diffusion", {
      throttleInterval: 0,
      onResult: resolve,
      onError: (e) => reject(new Error(`onError: ${e.status} ${e.message}`)),
    });
    connections.push(connection);
    connection.send({ prompt: "a realtime conformance cat", image_size: "square", num_inference_steps: 2 });
  });
  const result = await within(30_000, "the realtime image", answer);
  const url = result.images?.[0]?.url;
  assert.equal(typeof url, "string", `result: ${JSON.stringify(result).slice(0, 500)}`);
  const res = await fetch(url);
  assert.equal(res.status, 200);
  assert.deepEqual(new Uint8Array(await res.arrayBuffer()).subarray(0, 8), PNG_SIGNATURE);
  connections.at(-1).close();
});
