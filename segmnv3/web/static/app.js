// segmnv3 serve: segments photos, video files and the camera on this device's CPU with
// onnxruntime-web (WASM SIMD; threads when the page is cross-origin isolated; WebGPU on
// request). Everything comes from the server that sent this page: no CDN.
// URL options: ?threads=N (WASM threads), ?ep=webgpu, ?max_model_mb=M (memory budget).
import { cropLabels, drawInput, drawView, snapshot } from "./frame.js";
import { Progress, createSession, fetchSettings, hasWebGPU } from "./load.js";
import { argmax, packPalette, paintLabels, resizeNearest, toBase64, toInput } from "./pixels.js";
import { encodeGrayPng } from "./png.js";
import { openCamera, openVideo } from "./sources.js";
import { saveBlob, showModel, showProgress, showStats } from "./show.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const state = {
  meta: null, ort: null, session: null, provider: "", threads: 0, running: null, paused: false,
  frames: 0, stamps: [], stats: {}, messages: [], photo: null, last: null, name: "segmnv3",
};
const view = $("view");
const net = document.createElement("canvas"); // the frame at network size, letterboxed
const netContext = net.getContext("2d", { willReadFrequently: true });
const overlay = document.createElement("canvas"); // labels in class colours, network size
const overlayContext = overlay.getContext("2d");
const CONTROLS = ["choose", "file", "camera", "alpha"]; // usable once the model is ready
window.segmnv3 = { state, bench, exportLast, openFile, startCamera, stop, pause };

function message(text, kind = "error") {
  const line = document.createElement("p");
  line.className = kind;
  line.textContent = text;
  $("messages").replaceChildren(line);
  state.messages.push({ kind, text });
}

window.addEventListener("unhandledrejection", (event) => {
  event.preventDefault(); // shown on the page instead of as an uncaught error
  message(`unexpected error: ${event.reason?.message ?? event.reason}`);
});

function memoryBudgetMB() {
  const asked = Number(params.get("max_model_mb"));
  if (asked > 0) return asked;
  return ((navigator.deviceMemory || 4) * 1024) / 4; // a quarter of the device's memory
}

async function loadModel() {
  const [settings, meta, gpu] = await Promise.all([
    fetchSettings(), fetch("model.json").then((response) => response.json()), hasWebGPU(),
  ]);
  state.meta = meta;
  [net.height, net.width] = meta.size;
  [overlay.height, overlay.width] = meta.size;
  showModel(meta);
  const megabytes = meta.bytes / 1e6;
  if (megabytes > memoryBudgetMB()) {
    message(`model too large for this device: ${megabytes.toFixed(1)} MB, budget ` +
      `${memoryBudgetMB().toFixed(1)} MB; serve a smaller model or a lower --resolution`);
    return false;
  }
  const webgpu = params.get("ep") === "webgpu";
  $("webgpu").checked = webgpu;
  $("webgpu").disabled = !gpu && !webgpu;
  if (webgpu && !gpu) message("this browser has no WebGPU adapter: using WASM", "info");
  const threads = Number(params.get("threads")) || settings.threads ||
    Math.min(4, navigator.hardwareConcurrency || 1);
  return startSession(settings, webgpu && gpu ? "webgpu" : "wasm", threads);
}

async function startSession(settings, provider, threads) {
  const progress = new Progress(showProgress);
  try {
    Object.assign(state, await createSession(settings, provider, threads, progress));
  } catch (error) {
    if (provider === "webgpu") {
      message(`WebGPU failed (${error.message}): using WASM`, "info");
      return startSession(settings, "wasm", threads);
    }
    const text = String(error?.message ?? error);
    const memory = /memory|allocation|RangeError|too large/i.test(text);
    message(memory ? `model too large for this device (${text}); serve a lower --resolution`
      : `cannot load the model: ${text}`);
    return false;
  }
  const { ort } = state;
  const webgpu = provider === "webgpu";
  state.provider = webgpu ? "webgpu" : "wasm (SIMD)";
  state.threads = webgpu ? 0 : ort.env.wasm.numThreads;
  const isolated = self.crossOriginIsolated ? "cross-origin isolated" : "not cross-origin isolated";
  $("provider").textContent = state.provider;
  $("threads").textContent = webgpu ? "GPU" : `${state.threads}`;
  $("runtime").textContent = `onnxruntime-web ${ort.env.versions?.web ?? ""}: ${state.provider}, ` +
    `${webgpu ? "GPU" : `${state.threads} thread(s)`}, ${isolated}`;
  await infer(new Float32Array(3 * net.width * net.height)); // warm-up
  $("loading").hidden = true;
  for (const id of CONTROLS) $(id).disabled = false;
  return true;
}

async function infer(input) {
  const { ort, session, meta } = state;
  const tensor = new ort.Tensor("float32", input, [1, 3, net.height, net.width]);
  const outputs = await session.run({ [meta.input.name]: tensor });
  return outputs[meta.output.name]; // labels (1, H, W) uint8, or NHWC logits (1, h, w, C)
}

// Imported here, beside its one use, to keep this change apart from the page's layout.
import { labelsFromLogits } from "./pixels.js";

/** Train ids at the network's size of a graph's output: as they are (argmax inside), argmax
 * in JS, or from stride-8 logits (labelsFromLogits: Python's labels_from_logits rule). */
function labelsOf(output) {
  const { name, align_corners: alignCorners } = state.meta.output;
  state.output = output; // the last graph output (tests: segmnv3.lastOutput)
  if (name === "labels") return output.data;
  if (name !== "head_logits") return argmax(output.data, state.meta.classes.length);
  const [, rows, cols, classes] = output.dims;
  return labelsFromLogits(output.data, classes, rows, cols, net.height, net.width, alignCorners);
}

/** For tests: the last graph output (dims, type, data as base64 bytes). */
window.segmnv3.lastOutput = () => {
  const { dims, type, data } = state.output;
  return { dims, type, data: toBase64(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)) };
};

let palette = null; // class -> packed RGBA

function paintOverlay(labels) {
  palette ??= packPalette(state.meta.classes.map((item) => item.color));
  const image = overlayContext.createImageData(net.width, net.height);
  paintLabels(image, labels, palette);
  overlayContext.putImageData(image, 0, 0);
}

function redraw() {
  if (state.last) drawView(view, state.last, overlay, Number($("alpha").value) / 100);
}

/** Segments one frame (image, bitmap or video) of width x height; draws its overlay on it. */
async function segment(source, width, height) {
  const start = performance.now();
  const frame = await snapshot(source); // the overlay goes on this frame, not a later one
  const box = drawInput(netContext, frame, width, height, state.meta.mean);
  const rgba = netContext.getImageData(0, 0, net.width, net.height).data;
  const input = toInput(rgba, net.width * net.height, state.meta.mean, state.meta.std);
  const prepared = performance.now();
  const labels = labelsOf(await infer(input));
  const inferred = performance.now();
  paintOverlay(labels);
  if (state.last && state.last.frame !== frame) state.last.frame.close(); // shown no more
  state.last = { frame, width, height, box, rgba, labels };
  redraw();
  $("save").disabled = false;
  const drawn = performance.now();
  state.frames += 1;
  state.stamps = [...state.stamps, drawn].filter((t) => drawn - t < 2000);
  const span = (state.stamps.at(-1) - state.stamps[0]) / 1000;
  const fps = state.stamps.length > 1 && span > 0 ? (state.stamps.length - 1) / span : 0;
  state.stats = { pre: prepared - start, inference: inferred - prepared, draw: drawn - inferred, fps };
  showStats(state.stats, width, height);
  return labels;
}

function stop() {
  state.running = null;
  const video = $("video");
  video.pause();
  if (video.srcObject) video.srcObject.getTracks().forEach((track) => track.stop());
  video.srcObject = null;
  setPaused(false);
  $("stop").disabled = $("pause").disabled = true;
}

function setPaused(paused) {
  state.paused = paused;
  $("pause").textContent = paused ? "Resume" : "Pause";
  $("pause").setAttribute("aria-pressed", String(paused));
}

/** Pause or resume the running video or camera (the last frame and overlay stay shown). */
function pause() {
  if (!state.running) return;
  const video = $("video");
  setPaused(!state.paused);
  if (state.paused) video.pause(); else video.play().catch(() => {});
}

function loop(video, what) {
  const token = {};
  state.running = token;
  state.stamps = [];
  $("stop").disabled = $("pause").disabled = false;
  $("download").disabled = true;
  state.photo = null;
  (async () => {
    while (state.running === token) {
      if (!state.paused && video.readyState >= 2 && video.videoWidth > 0) {
        await segment(video, video.videoWidth, video.videoHeight);
      }
      await new Promise((resolve) => setTimeout(resolve, state.paused ? 100 : 0));
    }
  })().catch((error) => message(`${what} stopped: ${error.message}`));
}

async function openFile(file) {
  if (!state.session) return message("the model is not loaded (see above)");
  stop();
  $("hint").hidden = true;
  state.name = file.name.replace(/\.[^.]*$/, "");
  if (file.type.startsWith("video/")) return playVideo(file);
  let bitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    return message(`cannot decode ${file.name}: not an image (or a video) this browser can read`);
  }
  state.photo = { name: state.name, width: bitmap.width, height: bitmap.height };
  await segment(bitmap, bitmap.width, bitmap.height);
  $("download").disabled = false;
  message(`${file.name}: ${bitmap.width} × ${bitmap.height}, segmented at ${net.width} × ${net.height}`, "info");
}

async function playVideo(file) {
  const video = $("video");
  const failure = await openVideo(video, file);
  if (failure) return message(failure);
  video.onerror = () => { stop(); message(`${file.name}: decoding failed while playing`); };
  message(`${file.name}: playing`, "info");
  loop(video, "video");
}

async function startCamera() {
  if (!state.session) return message("the model is not loaded (see above)");
  stop();
  const failure = await openCamera($("video"));
  if (failure) {
    stop();
    return message(failure);
  }
  $("hint").hidden = true;
  state.name = "camera";
  message("camera on", "info");
  loop($("video"), "camera");
}

async function downloadMask() {
  if (!state.photo) return;
  const { width, height } = state.photo;
  const { labels, box } = state.last;
  const inside = resizeNearest(cropLabels(labels, net.width, box), box.w, box.h, width, height);
  saveBlob(await encodeGrayPng(inside, width, height), `${state.photo.name}_trainids.png`);
}

/** The frame as shown, with its overlay, as a PNG (what the user sees, at source size). */
function saveOverlay() {
  if (!state.last) return;
  view.toBlob((blob) => saveBlob(blob, `${state.name}_overlay.png`), "image/png");
}

/** For tests: the last frame's network input (RGBA), labels and letterbox, base64. */
function exportLast() {
  const { rgba, labels, box } = state.last;
  return { width: net.width, height: net.height, box, rgba: toBase64(new Uint8Array(rgba.buffer)), labels: toBase64(labels) };
}

/** Median / min ms of `iterations` inferences to labels on a fixed input, after a warm-up of
 * at least `warmup` runs and `warmupMs` ms (the browser compiles hot WASM code again). */
async function bench(iterations = 20, warmup = 3, warmupMs = 3000) {
  const input = new Float32Array(3 * net.width * net.height).map((_, i) => Math.sin(i) * 2);
  const started = performance.now();
  for (let i = 0; i < warmup || (performance.now() - started < warmupMs && i < 200); i++) {
    labelsOf(await infer(input));
  }
  const times = [];
  for (let i = 0; i < iterations; i++) {
    const start = performance.now();
    labelsOf(await infer(input));
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(times.length / 2)], min: times[0], iterations,
    provider: state.provider, threads: state.threads, isolated: self.crossOriginIsolated };
}

function wire() {
  $("choose").addEventListener("click", () => $("file").click());
  $("file").addEventListener("change", (event) => event.target.files[0] && openFile(event.target.files[0]));
  $("camera").addEventListener("click", startCamera);
  $("stop").addEventListener("click", stop);
  $("pause").addEventListener("click", pause);
  $("download").addEventListener("click", downloadMask);
  $("save").addEventListener("click", saveOverlay);
  $("alpha").addEventListener("input", () => { if (!state.running || state.paused) redraw(); });
  $("webgpu").addEventListener("change", (event) => {
    if (event.target.checked) params.set("ep", "webgpu"); else params.delete("ep");
    location.search = params.toString();
  });
  const drop = $("drop");
  drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    const file = event.dataTransfer.files[0];
    if (file) openFile(file);
  });
}

wire();
window.segmnv3.ready = loadModel().catch((error) => {
  message(`cannot start: ${error.message}`);
  return false;
});
