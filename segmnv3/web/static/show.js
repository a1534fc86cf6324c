// What the page shows and saves: loading progress, the model's card, timings, downloads.

const $ = (id) => document.getElementById(id);

/** The byte progress bar: `done` of `total` bytes (uncompressed) of the WASM and model. */
export function showProgress(done, total) {
  const mb = (bytes) => (bytes / 1e6).toFixed(1);
  $("progress").max = Math.max(total, done, 1);
  $("progress").value = done;
  $("progress-text").textContent = total ? `${mb(done)} / ${mb(total)} MB` : `${mb(done)} MB`;
}

/** The model's name, input size, parity line and class legend. */
export function showModel(meta) {
  const [height, width] = meta.size;
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
}

/** The last frame's timings (ms), FPS and source size. */
export function showStats(stats, width, height) {
  $("pre").textContent = `${stats.pre.toFixed(1)} ms`;
  $("inf").textContent = `${stats.inference.toFixed(1)} ms`;
  $("draw").textContent = `${stats.draw.toFixed(1)} ms`;
  $("fps").textContent = stats.fps ? stats.fps.toFixed(1) : "–";
  $("source-size").textContent = `${width} × ${height}`;
}

/** Hands `blob` to the browser as a download named `name`. */
export function saveBlob(blob, name) {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = name;
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
}
