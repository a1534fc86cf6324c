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

// Labels from stride-8 logits: the rule of segmnv3.deploy.inference.upsample_labels, in the
// same float32 arithmetic (Math.fround after every operation), so the page's labels equal
// Python's labels_from_logits. A cell whose four corners share an argmax is that class; in
// the others only channels not beaten at all four corners by a corner's winner are mixed.
const f32 = Math.fround;

/** Torch's bilinear sampling along one axis: [index0, index1, weight1] per output position. */
export function sourceCoordinates(inSize, outSize, alignCorners) {
  const index0 = new Int32Array(outSize), index1 = new Int32Array(outSize);
  const weight1 = new Float32Array(outSize);
  const scale = alignCorners ? (outSize > 1 ? f32(f32(inSize - 1) / f32(outSize - 1)) : 0) : f32(f32(inSize) / f32(outSize));
  for (let i = 0; i < outSize; i++) {
    const source = alignCorners ? f32(scale * i) : Math.max(f32(f32(scale * f32(i + 0.5)) - 0.5), 0);
    const low = Math.min(Math.trunc(source), inSize - 1);
    index0[i] = low;
    index1[i] = low < inSize - 1 ? low + 1 : low;
    weight1[i] = Math.min(Math.max(f32(source - low), 0), 1);
  }
  return [index0, index1, weight1];
}

/** NHWC logits (rows * cols * classes, float32) -> (height * width) train ids: bilinear
 * upsample (alignCorners as the model's) then argmax (ties: the first class), exact. */
export function labelsFromLogits(logits, classes, rows, cols, height, width, alignCorners = false) {
  const best = argmax(logits, classes); // the winner of each logit pixel
  const [y0, y1, wy] = sourceCoordinates(rows, height, alignCorners);
  const [x0, x1, wx] = sourceCoordinates(cols, width, alignCorners);
  const starts = [0]; // runs of output columns that share a cell column
  for (let j = 1; j < width; j++) if (x0[j] !== x0[j - 1]) starts.push(j);
  starts.push(width);
  const labels = new Uint8Array(height * width);
  let cells = [];
  for (let i = 0; i < height; i++) {
    const row = labels.subarray(i * width, (i + 1) * width);
    if (i === 0 || y0[i] !== y0[i - 1]) cells = classify(logits, best, classes, cols, y0[i], y1[i], x0, x1, starts, row);
    else row.set(labels.subarray((i - 1) * width, i * width)); // agreeing cells repeat the row above
    mixRow(wy[i], wx, starts, cells, row);
  }
  return labels;
}

/** Writes the agreeing cells of a band's first row; returns the others: [run, channels,
 * corner values (00, 01, 10, 11 per channel)] of the channels that can win there. */
function classify(logits, best, classes, cols, ya, yb, x0, x1, starts, row) {
  const cells = [];
  for (let r = 0; r + 1 < starts.length; r++) {
    const xa = x0[starts[r]], xb = x1[starts[r]];
    const at = [(ya * cols + xa) * classes, (ya * cols + xb) * classes, (yb * cols + xa) * classes, (yb * cols + xb) * classes];
    const winners = [best[ya * cols + xa], best[ya * cols + xb], best[yb * cols + xa], best[yb * cols + xb]];
    if (winners.every((w) => w === winners[0])) { row.fill(winners[0], starts[r], starts[r + 1]); continue; }
    const channels = [], corners = [];
    for (let c = 0; c < classes; c++) { // not beaten at all four corners by one corner's winner
      if (winners.some((a) => at.every((base) => logits[base + a] > logits[base + c]))) continue;
      channels.push(c);
      corners.push(logits[at[0] + c], logits[at[1] + c], logits[at[2] + c], logits[at[3] + c]);
    }
    cells.push([r, channels, corners]);
  }
  return cells;
}

/** The labels of one output row (row weight t) in a band's disagreeing cells. */
function mixRow(t, wx, starts, cells, row) {
  const s = f32(1 - t);
  for (const [r, channels, v] of cells) {
    const begin = starts[r], end = starts[r + 1];
    if (channels.length === 2) { // one boundary: the sign of the difference
      const a = f32(f32(s * f32(v[4] - v[0])) + f32(t * f32(v[6] - v[2])));
      const b = f32(f32(s * f32(v[5] - v[1])) + f32(t * f32(v[7] - v[3])));
      const slope = f32(b - a), [c, d] = channels;
      for (let j = begin; j < end; j++) row[j] = f32(a + f32(slope * wx[j])) > 0 ? d : c;
      continue;
    }
    for (let j = begin; j < end; j++) {
      let label = 0, top = 0;
      for (let k = 0; k < channels.length; k++) { // a running max, channel by channel
        const a = f32(f32(s * v[4 * k]) + f32(t * v[4 * k + 2]));
        const slope = f32(f32(f32(s * v[4 * k + 1]) + f32(t * v[4 * k + 3])) - a);
        const value = f32(a + f32(slope * wx[j]));
        if (k === 0 || value > top) { top = value; label = channels[k]; }
      }
      row[j] = label;
    }
  }
}
