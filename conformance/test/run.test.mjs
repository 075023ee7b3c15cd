// fal.run: synchronous calls through POST https://fal.run/<app>.

import assert from "node:assert/strict";
import { test } from "node:test";
import { PNG_SIGNATURE, createClient, useServer } from "../lib/harness.mjs";

const server = useServer();

test("run falgo/echo sends the input and returns the output with the request id", async () => {
  const log = [];
  const fal = createClient(server, { log });
  const input = { text: "hello from @fal-ai/client", count: 3, nested: { ok: true, list: [1, "two"] } };

  const result = await fal.run("falgo/echo", { input });

  assert.deepEqual(result.data, input, "falgo/echo returns its input");
  assert.equal(typeof result.requestId, "string");
  assert.notEqual(result.requestId, "", "x-fal-request-id header missing from the run response");
  assert.deepEqual(
    log.map((r) => `${r.method} ${r.url}`),
    ["POST https://fal.run/falgo/echo"],
    "the client should make exactly one call",
  );
});

test("run fal-ai/flux/schnell returns an image URL that serves a PNG", async () => {
  const fal = createClient(server);
  const result = await fal.run("fal-ai/flux/schnell", {
    input: { prompt: "a lighthouse at dusk, conformance test", image_size: "square", num_images: 1 },
  });

  const images = result.data.images;
  assert.ok(Array.isArray(images) && images.length === 1, `want images: [one image], got ${JSON.stringify(result.data)}`);
  const image = images[0];
  assert.equal(typeof image.url, "string");
  assert.ok(image.url.startsWith(`${server.origin}/`), `image URL ${image.url} is not absolute under ${server.origin}`);

  // Fetch it the way an app using the client would: a plain GET, no key.
  const res = await fetch(image.url);
  assert.equal(res.status, 200, `GET ${image.url}`);
  assert.match(res.headers.get("content-type") ?? "", /^image\/png/);
  const bytes = new Uint8Array(await res.arrayBuffer());
  assert.deepEqual(bytes.subarray(0, 8), PNG_SIGNATURE, "the image does not start with the PNG signature");
  if (image.content_type !== undefined) assert.equal(image.content_type, "image/png");
  // The PNG header's size must match the size the app reports.
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (image.width !== undefined) assert.equal(view.getUint32(16), image.width, "PNG width vs images[0].width");
  if (image.height !== undefined) assert.equal(view.getUint32(20), image.height, "PNG height vs images[0].height");
});
