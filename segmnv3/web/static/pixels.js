// Pure pixel functions of the page: network input, argmax, colours, nearest resizing.

/** RGBA bytes (plane = H * W pixels) -> NCHW float32, (value - 255 mean) / (255 std). */
export function toInput(rgba, plane, mean, std) {
  const input = new Float32Array(3 * plane);
  for (let c = 0; c < 3; c++) {
    const scale = 1 / (255 * std[c]);
    const shift = 255 * mean[c];
    for (let p = 0; p < plane; p++) input[c * plane + p] = (rgba[4 * p + c] - shift) * scale;
  }
  return input;
}

/** NHWC logits (pixels * classes) -> train ids (the first maximum, as NumPy's argmax). */
export function argmax(logits, classes) {
  const labels = new Uint8Array(logits.length / classes);
  for (let p = 0, base = 0; p < labels.length; p++, base += classes) {
    let best = 0;
    let value = logits[base];
    for (let c = 1; c < classes; c++) if (logits[base + c] > value) { value = logits[base + c]; best = c; }
    labels[p] = best;
  }
  return labels;
}

/** Class colours [[r, g, b], ...] -> opaque RGBA packed per class (the platform's order). */
export function packPalette(colors) {
  const bytes = new Uint8Array(4 * colors.length);
  colors.forEach((color, index) => bytes.set([...color, 255], 4 * index));
  return new Uint32Array(bytes.buffer);
}

/** Writes each label's colour into `image` (ImageData of the labels' size). */
export function paintLabels(image, labels, palette) {
  const pixels = new Uint32Array(image.data.buffer);
  for (let p = 0; p < labels.length; p++) pixels[p] = palette[labels[p]];
}

/** Labels (height x width) -> (toHeight x toWidth), nearest pixel centre. */
export function resizeNearest(labels, width, height, toWidth, toHeight) {
  const out = new Uint8Array(toWidth * toHeight);
  const columns = Array.from({ length: toWidth }, (_, x) =>
    Math.min(width - 1, Math.floor(((x + 0.5) * width) / toWidth)));
  for (let y = 0; y < toHeight; y++) {
    const row = Math.min(height - 1, Math.floor(((y + 0.5) * height) / toHeight)) * width;
    for (let x = 0; x < toWidth; x++) out[y * toWidth + x] = labels[row + columns[x]];
  }
  return out;
}

/** Bytes -> base64 (in chunks: spreading a large array overflows the call stack). */
export function toBase64(bytes) {
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}
