// The @fal-ai/client side of falgo's benchmark harness.
//
// `go run ./bench` starts this script once per measurement as
//
//	node bench.mjs '<params JSON>'
//
// with FAL_KEY and the FAL_*_HOST variables `falgo local` printed in the
// environment. It runs one workload with the official JS client and writes JSON
// lines to stdout: {"enqueued": "<request id>"} as requests enter the queue
// (the harness watches their status to learn when each job finishes on the
// server), then one {"done": {...}} with the figures, or {"error": "..."}.
// The fields mirror the Go harness's childResult; times are CLOCK_MONOTONIC
// nanoseconds (process.hrtime.bigint), the same clock the Go side reads.

import { openSync, readSync, openAsBlob } from "node:fs";
import { createFalClient } from "@fal-ai/client";

const params = JSON.parse(process.argv[2] ?? "{}");
const env = process.env;
for (const name of ["FAL_KEY", "FAL_RUN_HOST", "FAL_QUEUE_RUN_HOST", "FAL_REST_HOST", "FAL_CDN_HOST"]) {
  if (!env[name]) fail(`${name} is not set: this script is started by \`go run ./bench\`, which sets it`);
}

// The JS client hard-codes fal's hosts; its one seam is the fetch option.
// This fetch maps them onto the local server with plain string prefixes (no
// URL parsing, to keep the harness's own cost per request small) and refuses
// any other host, so nothing leaves 127.0.0.1.
const localOrigin = new URL(env.FAL_RUN_HOST).origin + "/";
const hostMap = [
  ["https://fal.run/", env.FAL_RUN_HOST + "/"],
  ["https://queue.fal.run/", env.FAL_QUEUE_RUN_HOST + "/"],
  ["https://rest.fal.ai/", env.FAL_REST_HOST + "/"],
  ["https://v3.fal.media/", env.FAL_CDN_HOST + "/"],
];
function rewrite(href) {
  if (href.startsWith(localOrigin)) return href;
  for (const [from, to] of hostMap) {
    if (href.startsWith(from)) return to + href.slice(from.length);
  }
  throw new Error(`bench: the client asked for ${href}, which is neither a fal host nor the local server`);
}
function localFetch(input, init) {
  if (typeof input === "string") return fetch(rewrite(input), init);
  if (input instanceof URL) return fetch(rewrite(input.href), init);
  return fetch(new Request(rewrite(input.url), input), init);
}

const fal = createFalClient({ credentials: env.FAL_KEY, fetch: localFetch });

const mono = () => Number(process.hrtime.bigint());

function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

function fail(message) {
  process.stdout.write(JSON.stringify({ error: message }) + "\n");
  process.exit(1);
}

// peakRSSKiB reads the process's high-water resident set (VmHWM) from Linux's
// /proc, the figure the Go side reports for itself too. The file is opened
// now: at the end of a workload every descriptor may be in use.
const statusFD = openSync("/proc/self/status", "r");
function peakRSSKiB() {
  const buf = Buffer.alloc(16 << 10);
  const n = readSync(statusFD, buf, 0, buf.length, 0);
  const m = /^VmHWM:\s+(\d+) kB$/m.exec(buf.toString("utf8", 0, n));
  return m ? Number(m[1]) : 0;
}

function cpuSeconds(start) {
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1e6;
}

// Counts failures and keeps the first message; the harness reports both.
const errors = { count: 0, first: "" };
function noteError(err) {
  errors.count++;
  if (!errors.first) errors.first = String(err?.message ?? err) + (err?.body ? ` ${JSON.stringify(err.body)}` : "");
}

// run: sync fal.run of falgo/echo from `concurrency` loops, first for
// params.warmup seconds (connections, JIT), then measured for
// params.duration seconds or params.max_requests requests.
async function runWorkload() {
  const input = params.input;
  const loop = async (until, counter) => {
    while (mono() < until && counter.n < params.max_requests) {
      counter.n++;
      try {
        await fal.run("falgo/echo", { input });
        counter.ok++;
      } catch (err) {
        noteError(err);
      }
    }
  };
  const many = (until, counter) => Promise.all(Array.from({ length: params.concurrency }, () => loop(until, counter)));
  await many(mono() + params.warmup * 1e9, { n: 0, ok: 0 });
  errors.count = 0;
  errors.first = "";
  const counter = { n: 0, ok: 0 };
  const cpu0 = process.cpuUsage();
  const t0 = mono();
  await many(t0 + params.duration * 1e9, counter);
  const seconds = (mono() - t0) / 1e9;
  return { requests: counter.ok, errors: errors.count, seconds, cpu_seconds: cpuSeconds(cpu0) };
}

// subscribe: params.sleeps_ms.length jobs of falgo/echo, each sleeping its
// given time on the server, through fal.subscribe (polling every 500 ms by
// default, or mode "streaming"), params.concurrency at a time. Records
// when each result is in hand.
async function subscribeWorkload() {
  const finished = {};
  let next = 0;
  const worker = async () => {
    while (next < params.sleeps_ms.length) {
      const i = next++;
      try {
        const res = await fal.subscribe("falgo/echo", {
          input: { job: i, _sleep_ms: params.sleeps_ms[i] },
          mode: params.variant === "js-stream" ? "streaming" : "polling",
          onEnqueue: (id) => emit({ enqueued: id }),
        });
        finished[res.requestId] = mono();
      } catch (err) {
        noteError(err);
      }
    }
  };
  await Promise.all(Array.from({ length: params.concurrency }, worker));
  return { requests: Object.keys(finished).length, errors: errors.count, finished };
}

// inflight: params.jobs Subscribes started at once, each job sleeping
// params.sleep_ms on the server; records the time until the last result
// and the most jobs that were in the queue at the same moment.
async function inflightWorkload() {
  let inflight = 0;
  let peak = 0;
  let ok = 0;
  const t0 = mono();
  const one = async (i) => {
    let entered = false;
    try {
      await fal.subscribe("falgo/echo", {
        input: { job: i, _sleep_ms: params.sleep_ms },
        mode: params.variant === "js-stream" ? "streaming" : "polling",
        onEnqueue: () => {
          entered = true;
          inflight++;
          if (inflight > peak) peak = inflight;
        },
      });
      ok++;
    } catch (err) {
      noteError(err);
    } finally {
      if (entered) inflight--;
    }
  };
  await Promise.all(Array.from({ length: params.jobs }, (_, i) => one(i)));
  return { requests: ok, errors: errors.count, seconds: (mono() - t0) / 1e9, peak_inflight: peak };
}

// upload: fal.storage.upload of the file at params.file, read through a
// file-backed Blob (fs.openAsBlob), so the bytes are not held in memory
// before the client reads them.
async function uploadWorkload() {
  const blob = await openAsBlob(params.file, { type: "application/octet-stream" });
  const t0 = mono();
  const url = await fal.storage.upload(blob);
  const seconds = (mono() - t0) / 1e9;
  return { requests: 1, seconds, bytes: blob.size, url };
}

const workloads = { run: runWorkload, subscribe: subscribeWorkload, inflight: inflightWorkload, upload: uploadWorkload };

try {
  const work = workloads[params.workload];
  if (!work) fail(`unknown workload ${JSON.stringify(params.workload)}`);
  const result = await work();
  result.first_error = errors.first;
  result.peak_rss_kib = peakRSSKiB();
  emit({ done: result });
  process.exit(0);
} catch (err) {
  fail(String(err?.stack ?? err));
}
