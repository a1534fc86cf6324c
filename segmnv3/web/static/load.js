// Loading the model with as few bytes as a phone can afford: the server's /settings.json
// names the current version of each vendor file and of the model, which go into their URLs
// (?v=...): the server marks such URLs immutable, so a reload fetches none of them again.
// The WASM and the model are fetched here (not by onnxruntime-web) to show a byte progress
// bar; WebGPU's larger WASM is fetched only when the browser gives a GPU adapter.

/** The server's settings ({threads, files: {path: {version, bytes}}}); defaults without. */
export async function fetchSettings() {
  try {
    const response = await fetch("settings.json");
    if (response.ok) return await response.json();
  } catch {
    // an older or a plain server: unversioned URLs, the page's own thread count
  }
  return { threads: null, files: {} };
}

/** A URL of `path` (e.g. "vendor/x.wasm") that names its current version, when known. */
export function versioned(settings, path) {
  const version = settings.files[`/${path}`]?.version;
  return new URL(version ? `${path}?v=${version}` : path, location.href).href;
}

/** Counts the bytes of several downloads against their (uncompressed) sizes. */
export class Progress {
  constructor(onChange) { this.done = new Map(); this.total = new Map(); this.onChange = onChange; }
  expect(key, bytes) { this.total.set(key, bytes); this.done.set(key, 0); this.report(); }
  add(key, bytes) { this.done.set(key, (this.done.get(key) ?? 0) + bytes); this.report(); }
  report() {
    const sum = (map) => [...map.values()].reduce((a, b) => a + b, 0);
    this.onChange(sum(this.done), sum(this.total));
  }
}

/** The body of `url` as bytes, reporting each chunk to `progress` under `key`. */
export async function fetchBytes(url, progress, key, expected) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  const length = Number(response.headers.get("Content-Length")) || 0;
  const encoded = response.headers.get("Content-Encoding");
  progress.expect(key, expected || (encoded ? 0 : length));
  if (!response.body) return new Uint8Array(await response.arrayBuffer());
  const reader = response.body.getReader();
  const chunks = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.length;
    progress.add(key, value.length);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) { bytes.set(chunk, offset); offset += chunk.length; }
  return bytes;
}

/** Whether WebGPU can run here: an API and an adapter (a software-less browser has none). */
export async function hasWebGPU() {
  if (!navigator.gpu) return false;
  try {
    return Boolean(await navigator.gpu.requestAdapter());
  } catch {
    return false;
  }
}

const BUILDS = {
  wasm: { module: "vendor/ort.wasm.min.mjs", mjs: "vendor/ort-wasm-simd-threaded.mjs",
    wasm: "vendor/ort-wasm-simd-threaded.wasm" },
  webgpu: { module: "vendor/ort.webgpu.min.mjs", mjs: "vendor/ort-wasm-simd-threaded.asyncify.mjs",
    wasm: "vendor/ort-wasm-simd-threaded.asyncify.wasm" },
};

/** An onnxruntime-web session of the model ({ort, session}); its WASM and model fetched
 * here with `progress`. Throws what onnxruntime-web throws. */
export async function createSession(settings, provider, threads, progress) {
  const build = BUILDS[provider];
  const size = (path) => settings.files[`/${path}`]?.bytes ?? 0;
  const [ort, wasm, model] = await Promise.all([
    import(versioned(settings, build.module)),
    fetchBytes(versioned(settings, build.wasm), progress, "wasm", size(build.wasm)),
    fetchBytes(versioned(settings, "model.onnx"), progress, "model", size("model.onnx")),
  ]);
  ort.env.wasm.wasmPaths = { mjs: versioned(settings, build.mjs) };
  ort.env.wasm.wasmBinary = wasm;
  ort.env.logLevel = "error";
  ort.env.wasm.numThreads = self.crossOriginIsolated ? threads : 1;
  const session = await ort.InferenceSession.create(model, {
    executionProviders: [provider], graphOptimizationLevel: "all",
  });
  return { ort, session };
}
