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
  const labels = new Uint8Array(height * width);
  const value = (y, x, c) => logits[(y * cols + x) * classes + c];
  let band = -1, cells = new Map(); // the candidates of the band's disagreeing cells
  for (let i = 0; i < height; i++) {
    const ya = y0[i], yb = y1[i], t = wy[i], s = f32(1 - t);
    if (ya !== band) { band = ya; cells = new Map(); }
    for (let j = 0; j < width; j++) {
      const xa = x0[j], xb = x1[j], c00 = best[ya * cols + xa];
      if (c00 === best[ya * cols + xb] && c00 === best[yb * cols + xa] && c00 === best[yb * cols + xb]) {
        labels[i * width + j] = c00;
        continue;
      }
      if (!cells.has(xa)) cells.set(xa, candidates(value, best, cols, classes, ya, yb, xa, xb));
      const picked = cells.get(xa), u = wx[j];
      const corner = (c) => [value(ya, xa, c), value(ya, xb, c), value(yb, xa, c), value(yb, xb, c)];
      let label;
      if (picked.length === 2) { // one boundary: the sign of the difference
        const [c, d] = picked, p = corner(c), q = corner(d);
        const a = f32(f32(s * f32(q[0] - p[0])) + f32(t * f32(q[2] - p[2])));
        const b = f32(f32(s * f32(q[1] - p[1])) + f32(t * f32(q[3] - p[3])));
        label = f32(a + f32(f32(b - a) * u)) > 0 ? d : c;
      } else {
        let top = -Infinity;
        for (const c of picked) {
          const v = corner(c), a = f32(f32(s * v[0]) + f32(t * v[2]));
          const slope = f32(f32(f32(s * v[1]) + f32(t * v[3])) - a);
          const mixed = f32(a + f32(slope * u));
          if (label === undefined || mixed > top) { top = mixed; label = c; }
        }
      }
      labels[i * width + j] = label;
    }
  }
  return labels;
}

/** Channels that can win somewhere in a cell: not beaten at its four corners by one winner. */
function candidates(value, best, cols, classes, ya, yb, xa, xb) {
  const winners = [best[ya * cols + xa], best[ya * cols + xb], best[yb * cols + xa], best[yb * cols + xb]];
  const corners = [[ya, xa], [ya, xb], [yb, xa], [yb, xb]];
  const picked = [];
  for (let c = 0; c < classes; c++) {
    const beaten = winners.some((a) => corners.every(([y, x]) => value(y, x, a) > value(y, x, c)));
    if (!beaten) picked.push(c);
  }
  return picked;
}
