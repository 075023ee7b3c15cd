// The page's script: generates an image with fal-ai/flux/schnell through the
// server's fal proxy (@fal-ai/client's proxyUrl), showing the queue position,
// the app's logs and the image. Bundled by build.mjs into static/app.js.
//
// The page holds no fal key: every call goes to /api/fal/proxy on this origin,
// which checks the visitor's session cookie and adds the key on the server.
// The result image is loaded from fal's CDN (faltest's, under falgo local).

import { createFalClient } from "@fal-ai/client";

const MODEL = "fal-ai/flux/schnell";
const fal = createFalClient({ proxyUrl: "/api/fal/proxy" });

const $ = (id) => document.getElementById(id);
const form = $("form");
const button = $("generate");
const statusLine = $("status");
const timeline = $("timeline");
const logs = $("logs");
const errorBox = $("error");
const result = $("result");
const image = $("image");
const caption = $("caption");

/** Shows where the request is; state is also put in data-state for tests. */
function setStatus(state, text) {
  statusLine.dataset.state = state;
  statusLine.textContent = text;
}

/** Describes one queue status for a person. */
function describe(update) {
  switch (update.status) {
    case "IN_QUEUE":
      return `In queue, position ${update.queue_position ?? "?"}`;
    case "IN_PROGRESS":
      return "Running";
    case "COMPLETED":
      return "Completed";
    default:
      return String(update.status);
  }
}

/** Adds an update to the timeline unless it repeats the last one. */
function addToTimeline(update) {
  const text = describe(update);
  if (timeline.lastElementChild?.textContent === text) return;
  const item = document.createElement("li");
  item.textContent = text;
  item.dataset.status = update.status;
  timeline.append(item);
}

/** Shows a queue status and the logs it carries (all lines so far). */
function showUpdate(update) {
  addToTimeline(update);
  setStatus(update.status, describe(update));
  if (Array.isArray(update.logs)) {
    logs.textContent = update.logs.map((l) => `${l.level ?? "INFO"} ${l.message}`).join("\n");
  }
}

function reset() {
  timeline.replaceChildren();
  logs.textContent = "";
  errorBox.hidden = true;
  errorBox.textContent = "";
  result.hidden = true;
  image.removeAttribute("src");
  caption.textContent = "";
}

/** Loads the generated image and waits until the browser has decoded it. */
async function showImage(file, requestId) {
  image.alt = `Generated image: ${$("prompt").value}`;
  image.src = file.url;
  await image.decode();
  image.dataset.width = String(image.naturalWidth);
  image.dataset.height = String(image.naturalHeight);
  caption.textContent = `${image.naturalWidth}×${image.naturalHeight} · request ${requestId}`;
  result.hidden = false;
}

async function generate(prompt) {
  reset();
  setStatus("submitting", "Submitting…");
  const job = await fal.queue.submit(MODEL, { input: { prompt, num_images: 1 } });
  result.dataset.requestId = job.request_id;
  showUpdate(job); // the submit answer: IN_QUEUE with the queue position
  await fal.queue.subscribeToStatus(MODEL, {
    requestId: job.request_id,
    mode: "streaming",
    logs: true,
    onQueueUpdate: showUpdate,
  });
  const { data } = await fal.queue.result(MODEL, { requestId: job.request_id });
  const file = data?.images?.[0];
  if (!file?.url) throw new Error("the app answered without an image");
  setStatus("loading", "Loading the image…");
  await showImage(file, job.request_id);
  setStatus("done", "Done");
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const prompt = $("prompt").value.trim();
  if (!prompt) return;
  button.disabled = true;
  generate(prompt)
    .catch((err) => {
      setStatus("error", "Failed");
      errorBox.hidden = false;
      errorBox.textContent = err?.message ? String(err.message) : String(err);
    })
    .finally(() => {
      button.disabled = false;
    });
});

setStatus("ready", "Ready");
