// fal.storage.upload: the single upload (initiate + PUT) up to 90 MiB and the
// multipart upload (initiate-multipart + 10 MiB part PUTs + complete) above,
// plus the automatic upload of Blob inputs.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { createClient, useServer, within } from "../lib/harness.mjs";

const server = useServer();

const MiB = 1024 * 1024;

/** GETs url with a plain fetch (no key, as a browser would) and returns the response and its bytes. */
async function download(url) {
  assert.ok(url.startsWith(`${server.origin}/`), `file URL ${url} is not absolute under ${server.origin}`);
  const res = await fetch(url);
  assert.equal(res.status, 200, `GET ${url}`);
  return { res, bytes: new Uint8Array(await res.arrayBuffer()) };
}

test("upload a small Blob and download the same bytes", async () => {
  const log = [];
  const fal = createClient(server, { log });
  const bytes = new TextEncoder().encode("hello, falgo storage: small upload ✓\n");

  const url = await fal.storage.upload(new Blob([bytes], { type: "text/plain" }));

  const got = await download(url);
  assert.deepEqual(got.bytes, bytes);
  assert.match(got.res.headers.get("content-type") ?? "", /^text\/plain/);

  assert.equal(log.length, 2, JSON.stringify(log.map((r) => r.url)));
  assert.equal(`${log[0].method} ${log[0].url}`, "POST https://rest.fal.ai/storage/upload/initiate?storage_type=fal-cdn-v3");
  assert.equal(log[1].method, "PUT");
  assert.ok(log[1].url.startsWith(`${server.origin}/`), `upload_url ${log[1].url} is not under ${server.origin}`);
});

test("upload with a lifecycle sends X-Fal-Object-Lifecycle and is accepted", async () => {
  const log = [];
  const fal = createClient(server, { log });
  const bytes = new TextEncoder().encode("expires in an hour");
  const url = await fal.storage.upload(new Blob([bytes], { type: "text/plain" }), { lifecycle: { expiresIn: "1h" } });
  assert.equal(log[0].headers["X-Fal-Object-Lifecycle"], JSON.stringify({ expiration_duration_seconds: 3600 }));
  assert.deepEqual((await download(url)).bytes, bytes);
});

test("upload above 90 MiB goes multipart and downloads the same bytes", { timeout: 300_000 }, async () => {
  const size = 95 * MiB;
  const data = pseudoRandomBytes(size, 0x5eed);
  const want = createHash("sha256").update(data).digest("hex");
  const log = [];
  const fal = createClient(server, { log });

  const url = await within(240_000, "the multipart upload", fal.storage.upload(new Blob([data], { type: "application/octet-stream" })));

  const got = await download(url);
  assert.equal(got.bytes.length, size);
  assert.equal(createHash("sha256").update(got.bytes).digest("hex"), want, "downloaded bytes differ from the upload");

  const calls = log.map((r) => `${r.method} ${r.url}`);
  assert.equal(calls[0], "POST https://rest.fal.ai/storage/upload/initiate-multipart?storage_type=fal-cdn-v3");
  const parts = log.filter((r) => r.method === "PUT");
  assert.equal(parts.length, Math.ceil(size / (10 * MiB)), `part PUTs: ${calls.join(", ")}`);
  parts.forEach((p, i) => assert.match(new URL(p.url).pathname, new RegExp(`/${i + 1}$`), `part ${i + 1} URL`));
  assert.match(calls.at(-1), /^POST .*\/complete(\?|$)/, "the last call completes the upload");
  assert.equal(calls.length, parts.length + 2, "each part is sent once (no retries) between initiate and complete");
});

test("a Blob anywhere in the input is uploaded and replaced by its URL", async () => {
  const fal = createClient(server);
  const bytes = new TextEncoder().encode("auto-uploaded input file");
  const result = await fal.run("falgo/echo", {
    input: { text: "with a file", files: [{ doc: new Blob([bytes], { type: "text/plain" }) }] },
  });
  // falgo/echo returns its input: what the client sent after the upload.
  const url = result.data.files?.[0]?.doc;
  assert.equal(typeof url, "string", `the Blob was not replaced by a URL: ${JSON.stringify(result.data)}`);
  const got = await download(url);
  assert.deepEqual(got.bytes, bytes);
});

/** Returns n deterministic pseudo-random bytes (xorshift32), fast enough for ~100 MiB. */
function pseudoRandomBytes(n, seed) {
  const buf = new Uint8Array(n);
  const words = new Uint32Array(buf.buffer, 0, Math.floor(n / 4));
  let x = seed >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    words[i] = x;
  }
  for (let i = words.length * 4; i < n; i++) buf[i] = i & 0xff;
  return buf;
}
