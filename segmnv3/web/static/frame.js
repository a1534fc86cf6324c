// Frames in and out of the network: a portrait or camera frame is letterboxed into the
// network's input (scaled to fit, centred, bars in the mean colour: zeros after
// normalisation) instead of stretched, and its labels are cut from the same box when they
// are drawn back or saved. Each overlay is drawn on the snapshot it was computed from.

/** The box {x, y, w, h} of a width x height frame fitted (centred) into netW x netH. */
export function letterbox(width, height, netW, netH) {
  const scale = Math.min(netW / width, netH / height);
  const w = Math.max(1, Math.min(netW, Math.round(width * scale)));
  const h = Math.max(1, Math.min(netH, Math.round(height * scale)));
  return { x: Math.floor((netW - w) / 2), y: Math.floor((netH - h) / 2), w, h };
}

/** Draws `frame` into the network canvas in its letterbox; returns the box. */
export function drawInput(context, frame, width, height, mean) {
  const { width: netW, height: netH } = context.canvas;
  const box = letterbox(width, height, netW, netH);
  context.fillStyle = `rgb(${mean.map((m) => Math.round(255 * m)).join(",")})`;
  context.fillRect(0, 0, netW, netH);
  context.drawImage(frame, box.x, box.y, box.w, box.h);
  return box;
}

/** The labels inside `box` (of a netW-wide label map), row-major. */
export function cropLabels(labels, netW, box) {
  const out = new Uint8Array(box.w * box.h);
  for (let y = 0; y < box.h; y++) {
    const start = (box.y + y) * netW + box.x;
    out.set(labels.subarray(start, start + box.w), y * box.w);
  }
  return out;
}

/** Draws the frame at its own size and the overlay's box over it at `alpha` (nearest). */
export function drawView(view, last, overlay, alpha) {
  const { frame, width, height, box } = last;
  if (view.width !== width || view.height !== height) { view.width = width; view.height = height; }
  const context = view.getContext("2d");
  context.globalAlpha = 1;
  context.drawImage(frame, 0, 0, width, height);
  context.globalAlpha = alpha;
  context.imageSmoothingEnabled = false; // labels drawn back at the source size, nearest
  context.drawImage(overlay, box.x, box.y, box.w, box.h, 0, 0, width, height);
  context.imageSmoothingEnabled = true;
  context.globalAlpha = 1;
}

/** A still copy of the source as it is now (a video moves on while the network runs). */
export async function snapshot(source) {
  return source instanceof ImageBitmap ? source : createImageBitmap(source);
}
