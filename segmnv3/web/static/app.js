// segmnv3 serve: segments photos, video files and the camera on this device's CPU with
// onnxruntime-web (WASM SIMD; threads when the page is cross-origin isolated; WebGPU on
// request). Everything comes from the server that sent this page: no CDN.
// URL options: ?threads=N (WASM threads), ?ep=webgpu, ?max_model_mb=M (memory budget).
import { argmax, packPalette, paintLabels, resizeNearest, toBase64, toInput } from "./pixels.js";
import { encodeGrayPng } from "./png.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const state = {
  meta: null, ort: null, session: null, provider: "", threads: 0, running: null,
  frames: 0, stamps: [], stats: {}, messages: [], photo: null, last: null,
};
const view = $("view");
const viewContext = view.getContext("2d");
const net = document.createElement("canvas"); // the frame at network size
const netContext = net.getContext("2d", { willReadFrequently: true });
const overlay = document.createElement("canvas"); // labels in class colours, network size
const overlayContext = overlay.getContext("2d");
window.segmnv3 = { state, bench, exportLast, openFile, startCamera, stop };

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
  const meta = await (await fetch("model.json")).json();
  state.meta = meta;
  const [height, width] = meta.size;
  net.width = overlay.width = width;
  net.height = overlay.height = height;
  $("model-name").textContent = meta.name;
  $("size").textContent = `${width} × ${height}`;
  $("parity").textContent = `ONNX parity with PyTorch: ${meta.parity.passed ? "PASS" : "FAIL"}, ` +
    `argmax agreement ${(100 * meta.parity.agreement).toFixed(3)}%`;
  $("legend").replaceChildren(...meta.classes.map(({ name, color }) => {
    const item = document.createElement("li");
    const swatch = document.createElement("span");
    swatch.style.background = `rgb(${color.join(",")})`;
    item.append(swatch, name);
    return item;
  }));
  const megabytes = meta.bytes / 1e6;
  if (megabytes > memoryBudgetMB()) {
    message(`model too large for this device: ${megabytes.toFixed(1)} MB, budget ` +
      `${memoryBudgetMB().toFixed(1)} MB; serve a smaller model or a lower --resolution`);
    return false;
  }
  const webgpu = params.get("ep") === "webgpu";
  $("webgpu").checked = webgpu;
  if (webgpu && !navigator.gpu) {
    message("this browser has no WebGPU: using WASM", "info");
  }
  return createSession(webgpu && Boolean(navigator.gpu));
}

async function createSession(webgpu) {
  const ort = await import(webgpu ? "./vendor/ort.webgpu.min.mjs" : "./vendor/ort.wasm.min.mjs");
  ort.env.wasm.wasmPaths = new URL("vendor/", location.href).href;
  ort.env.logLevel = "error";
  const wanted = Number(params.get("threads")) || Math.min(4, navigator.hardwareConcurrency || 1);
  ort.env.wasm.numThreads = self.crossOriginIsolated ? wanted : 1;
  const provider = webgpu ? "webgpu" : "wasm";
  try {
    state.session = await ort.InferenceSession.create("model.onnx", {
      executionProviders: [provider], graphOptimizationLevel: "all",
    });
  } catch (error) {
    if (webgpu) {
      message(`WebGPU failed (${error.message}): using WASM`, "info");
      return createSession(false);
    }
    const text = String(error?.message ?? error);
    const memory = /memory|allocation|RangeError|too large/i.test(text);
    message(memory ? `model too large for this device (${text}); serve a lower --resolution`
      : `cannot load the model: ${text}`);
    return false;
  }
  state.ort = ort;
  state.provider = webgpu ? "webgpu" : "wasm (SIMD)";
  state.threads = webgpu ? 0 : ort.env.wasm.numThreads;
  const isolated = self.crossOriginIsolated ? "cross-origin isolated" : "not cross-origin isolated";
  $("provider").textContent = state.provider;
  $("threads").textContent = webgpu ? "GPU" : `${state.threads}`;
  $("runtime").textContent = `onnxruntime-web ${ort.env.versions?.web ?? ""}: ${state.provider}, ` +
    `${webgpu ? "GPU" : `${state.threads} thread(s)`}, ${isolated}`;
  await infer(new Float32Array(3 * net.width * net.height)); // warm-up
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
  if (!state.last) return;
  const { source, width, height } = state.last;
  if (view.width !== width || view.height !== height) { view.width = width; view.height = height; }
  viewContext.globalAlpha = 1;
  viewContext.drawImage(source, 0, 0, width, height);
  viewContext.globalAlpha = Number($("alpha").value) / 100;
  viewContext.imageSmoothingEnabled = false; // labels drawn back at the source size, nearest
  viewContext.drawImage(overlay, 0, 0, width, height);
  viewContext.imageSmoothingEnabled = true;
  viewContext.globalAlpha = 1;
}

/** Segments one frame (image, bitmap or video) shown at width x height. */
async function segment(source, width, height) {
  const start = performance.now();
  netContext.drawImage(source, 0, 0, net.width, net.height);
  const rgba = netContext.getImageData(0, 0, net.width, net.height).data;
  const input = toInput(rgba, net.width * net.height, state.meta.mean, state.meta.std);
  const prepared = performance.now();
  const labels = labelsOf(await infer(input));
  const inferred = performance.now();
  paintOverlay(labels);
  state.last = { source, width, height, rgba, labels };
  redraw();
  const drawn = performance.now();
  state.frames += 1;
  state.stamps = [...state.stamps, drawn].filter((t) => drawn - t < 2000);
  const span = (state.stamps.at(-1) - state.stamps[0]) / 1000;
  const fps = state.stamps.length > 1 && span > 0 ? (state.stamps.length - 1) / span : 0;
  state.stats = { pre: prepared - start, inference: inferred - prepared, draw: drawn - inferred, fps };
  $("pre").textContent = `${state.stats.pre.toFixed(1)} ms`;
  $("inf").textContent = `${state.stats.inference.toFixed(1)} ms`;
  $("draw").textContent = `${state.stats.draw.toFixed(1)} ms`;
  $("fps").textContent = fps ? fps.toFixed(1) : "–";
  $("source-size").textContent = `${width} × ${height}`;
  return labels;
}

function stop() {
  state.running = null;
  const video = $("video");
  video.pause();
  if (video.srcObject) video.srcObject.getTracks().forEach((track) => track.stop());
  video.srcObject = null;
  $("stop").disabled = true;
}

function loop(video, what) {
  const token = {};
  state.running = token;
  state.stamps = [];
  $("stop").disabled = false;
  $("download").disabled = true;
  state.photo = null;
  (async () => {
    while (state.running === token) {
      if (video.readyState >= 2 && video.videoWidth > 0) {
        await segment(video, video.videoWidth, video.videoHeight);
      }
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
  })().catch((error) => message(`${what} stopped: ${error.message}`));
}

async function openFile(file) {
  if (!state.session) return message("the model is not loaded (see above)");
  stop();
  $("hint").hidden = true;
  if (file.type.startsWith("video/")) return playVideo(file);
  let bitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    return message(`cannot decode ${file.name}: not an image (or a video) this browser can read`);
  }
  await segment(bitmap, bitmap.width, bitmap.height);
  state.photo = { name: file.name.replace(/\.[^.]*$/, ""), width: bitmap.width, height: bitmap.height };
  $("download").disabled = false;
  message(`${file.name}: ${bitmap.width} × ${bitmap.height}, segmented at ${net.width} × ${net.height}`, "info");
}

async function playVideo(file) {
  const video = $("video");
  video.srcObject = null;
  video.loop = true;
  const failed = new Promise((resolve) => { video.onerror = () => resolve(false); });
  video.src = URL.createObjectURL(file);
  const started = video.play().then(() => true, () => false);
  if (!(await Promise.race([started, failed]))) {
    const code = video.error ? ` (media error ${video.error.code})` : "";
    return message(`cannot play ${file.name}: this browser cannot decode it${code}; ` +
      "try an MP4 (H.264) or WebM (VP8 / VP9) file");
  }
  video.onerror = () => { stop(); message(`${file.name}: decoding failed while playing`); };
  message(`${file.name}: playing`, "info");
  loop(video, "video");
}

const CAMERA_ERRORS = {
  NotAllowedError: "camera access was denied: allow it in the browser's site settings and retry",
  NotFoundError: "no camera found on this device",
  NotReadableError: "the camera is in use by another program",
  OverconstrainedError: "no camera fits the request",
};

async function startCamera() {
  if (!state.session) return message("the model is not loaded (see above)");
  if (!navigator.mediaDevices?.getUserMedia) {
    return message("the camera needs a secure context: open the https:// address of " +
      "`segmnv3 serve --https`, or http://localhost on this machine");
  }
  stop();
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
  } catch (error) {
    return message(CAMERA_ERRORS[error.name] ?? `cannot open the camera: ${error.message}`);
  }
  const video = $("video");
  video.removeAttribute("src");
  video.srcObject = stream;
  try {
    await video.play();
  } catch (error) {
    stop();
    return message(`the camera stream does not play: ${error.message}`);
  }
  $("hint").hidden = true;
  message("camera on", "info");
  loop(video, "camera");
}

async function downloadMask() {
  if (!state.photo) return;
  const { width, height } = state.photo;
  const labels = resizeNearest(state.last.labels, net.width, net.height, width, height);
  const blob = await encodeGrayPng(labels, width, height);
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = `${state.photo.name}_trainids.png`;
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
}

/** For tests: the last frame's network input (RGBA) and labels, base64. */
function exportLast() {
  const { rgba, labels } = state.last;
  return { width: net.width, height: net.height, rgba: toBase64(new Uint8Array(rgba.buffer)), labels: toBase64(labels) };
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
  $("file").addEventListener("change", (event) => event.target.files[0] && openFile(event.target.files[0]));
  $("camera").addEventListener("click", startCamera);
  $("stop").addEventListener("click", stop);
  $("download").addEventListener("click", downloadMask);
  $("alpha").addEventListener("input", () => { if (!state.running) redraw(); });
  $("webgpu").disabled = !navigator.gpu;
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
