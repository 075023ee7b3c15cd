// Drives the example page in Debian's headless Chromium with puppeteer-core,
// for the Go test TestBrowser (browser_test.go), which starts the servers,
// runs this script and checks what it reports.
//
//   node browser.mjs --url http://127.0.0.1:PORT/ --report report.json \
//     --screenshot artifacts/screenshot.png [--chromium /usr/bin/chromium] [--timeout-ms 90000]
//
// It loads the page, clicks Generate, waits for the page to say it is done
// (or failed), and writes a JSON report: the page's state, timeline, logs and
// image; the bytes of the image the browser received (base64) and the SHA-256
// of the RGBA pixels Chromium decodes from them; every request the browser
// made, with its headers (as sent on the wire) and body; the bodies of the
// page's document, scripts and style sheets; localStorage, sessionStorage and
// cookies; console messages and page errors. It saves a full-page screenshot.
//
// Chromium runs with a fresh profile in a temporary folder, removed at the
// end; nothing is downloaded. Every wait is bounded; past --timeout-ms the
// browser is killed and the script exits 2.

import puppeteer from "puppeteer-core";
import { mkdtemp, rm, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";

const { values: args } = parseArgs({
  options: {
    url: { type: "string" },
    report: { type: "string" },
    screenshot: { type: "string" },
    chromium: { type: "string", default: "/usr/bin/chromium" },
    "timeout-ms": { type: "string", default: "90000" },
  },
});
if (!args.url || !args.report || !args.screenshot) {
  console.error("usage: node browser.mjs --url URL --report FILE --screenshot FILE [--chromium PATH] [--timeout-ms N]");
  process.exit(64);
}
const timeoutMs = Number(args["timeout-ms"]);
const stepMs = Math.max(1000, Math.floor(timeoutMs / 2));

/** The flags Chromium runs with: headless, no sandbox (CI runs as root), no
 *  background traffic of its own. */
const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-dev-shm-usage",
  "--window-size=900,1100",
];

const profile = await mkdtemp(path.join(tmpdir(), "webapp-chromium-"));
let browser;
const watchdog = setTimeout(() => {
  console.error(`browser.mjs: gave up after ${timeoutMs} ms`);
  browser?.process()?.kill("SIGKILL");
  rm(profile, { recursive: true, force: true }).finally(() => process.exit(2));
}, timeoutMs);

// pending holds the body reads started by the response listener.
const pending = [];
// images holds the bodies of image responses, by URL.
const images = new Map();

const report = {
  requests: [],
  wire: [],
  resources: [],
  console: [],
  pageErrors: [],
};

try {
  browser = await puppeteer.launch({
    executablePath: args.chromium,
    headless: false, // --headless is in CHROMIUM_FLAGS, so the flags are exactly these
    ignoreDefaultArgs: true,
    args: [...CHROMIUM_FLAGS, `--user-data-dir=${profile}`, "--remote-debugging-pipe", "about:blank"],
    pipe: true,
    timeout: stepMs,
    protocolTimeout: stepMs,
    defaultViewport: { width: 900, height: 1100 },
  });
  const [page] = await browser.pages();
  page.setDefaultTimeout(stepMs);
  await record(page);

  await page.goto(args.url, { waitUntil: "load" });
  await page.waitForSelector('#status[data-state="ready"]');
  await page.click("#generate");
  await page.waitForSelector('#status[data-state="done"], #status[data-state="error"]');
  Object.assign(report, await page.evaluate(readPage));

  if (report.state === "done") {
    const res = report.resources.find((r) => r.url === report.image.src);
    const bytes = await imageBytes(report.image.src);
    report.image.bytesBase64 = bytes.toString("base64");
    report.image.responseStatus = res?.status ?? null;
    report.image.decoded = await page.evaluate(decodePixels, report.image.bytesBase64);
  }
  report.html = await page.content();
  report.storage = await page.evaluate(readStorage);
  report.cookies = (await browser.cookies()).map(({ name, value, domain, path, httpOnly, sameSite }) => ({ name, value, domain, path, httpOnly, sameSite }));
  await mkdir(path.dirname(args.screenshot), { recursive: true });
  await page.screenshot({ path: args.screenshot, fullPage: true });
  await settleResources();
  await writeFile(args.report, JSON.stringify(report, null, 1));
} catch (err) {
  console.error(`browser.mjs: ${err?.stack ?? err}`);
  process.exitCode = 1;
} finally {
  clearTimeout(watchdog);
  await browser?.close().catch(() => browser?.process()?.kill("SIGKILL"));
  await rm(profile, { recursive: true, force: true });
}

/** Records every request (with the headers Chromium put on the wire, cookies
 *  included, from the DevTools protocol's ExtraInfo events), every response
 *  status, and the bodies of documents, scripts, style sheets and images. */
async function record(page) {
  page.on("request", (req) => {
    report.requests.push({
      url: req.url(),
      method: req.method(),
      resourceType: req.resourceType(),
      headers: req.headers(),
      postData: req.postData() ?? null,
    });
  });
  const cdp = await page.createCDPSession();
  await cdp.send("Network.enable");
  const urls = new Map();
  cdp.on("Network.requestWillBeSent", (e) => urls.set(e.requestId, e.request.url));
  cdp.on("Network.requestWillBeSentExtraInfo", (e) => {
    // The headers as Chromium sent them, Cookie included.
    report.wire.push({ requestId: e.requestId, url: urls.get(e.requestId) ?? null, headers: e.headers });
  });
  page.on("response", (res) => {
    const type = res.request().resourceType();
    const entry = { url: res.url(), status: res.status(), type, headers: res.headers(), body: null };
    report.resources.push(entry);
    if (type === "document" || type === "script" || type === "stylesheet") {
      pending.push(res.text().then((t) => { entry.body = t; }, () => {}));
    } else if (type === "image") {
      pending.push(res.buffer().then((b) => { images.set(res.url(), b); }, () => {}));
    }
  });
  page.on("console", (m) => report.console.push(`${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => report.pageErrors.push(String(e?.message ?? e)));
}

/** Waits for the body reads the listener started. */
async function settleResources() {
  await Promise.all(pending);
}

/** The bytes of an image the browser received. */
async function imageBytes(url) {
  await settleResources();
  const b = images.get(url);
  if (!b) throw new Error(`the browser received no image body for ${url}`);
  return b;
}

/** Runs in the page: what it shows. */
function readPage() {
  const img = document.getElementById("image");
  return {
    state: document.getElementById("status").dataset.state,
    statusText: document.getElementById("status").textContent,
    timeline: [...document.querySelectorAll("#timeline li")].map((li) => ({ status: li.dataset.status, text: li.textContent })),
    logs: document.getElementById("logs").textContent,
    error: document.getElementById("error").textContent,
    requestId: document.getElementById("result").dataset.requestId ?? null,
    image: {
      src: img.currentSrc || img.src,
      complete: img.complete,
      naturalWidth: img.naturalWidth,
      naturalHeight: img.naturalHeight,
      visible: !document.getElementById("result").hidden && img.getBoundingClientRect().width > 0,
      caption: document.getElementById("caption").textContent,
    },
  };
}

/** Runs in the page: decodes PNG bytes with Chromium's decoder and hashes the
 *  RGBA pixels (non-premultiplied, no colour conversion). */
async function decodePixels(b64) {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const bitmap = await createImageBitmap(new Blob([bytes], { type: "image/png" }), {
    colorSpaceConversion: "none",
    premultiplyAlpha: "none",
  });
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = canvas.getContext("2d", { colorSpace: "srgb" });
  ctx.drawImage(bitmap, 0, 0);
  const { data } = ctx.getImageData(0, 0, bitmap.width, bitmap.height);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
  return {
    width: bitmap.width,
    height: bitmap.height,
    rgbaSHA256: [...digest].map((b) => b.toString(16).padStart(2, "0")).join(""),
  };
}

/** Runs in the page: everything in localStorage and sessionStorage. */
function readStorage() {
  const dump = (s) => Object.fromEntries(Array.from({ length: s.length }, (_, i) => [s.key(i), s.getItem(s.key(i))]));
  return { local: dump(localStorage), session: dump(sessionStorage) };
}
