// Copies the onnxruntime-web files the page loads from node_modules into vendor/ (run by
// `npm ci` as the postinstall step): the WASM build (default, SIMD + threads) and the
// WebGPU build (opt-in). The wheel ships vendor/; the page never fetches from a CDN.
import { copyFileSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, "node_modules", "onnxruntime-web", "dist");
const target = join(here, "vendor");
const FILES = JSON.parse(readFileSync(join(here, "vendor.json"), "utf8")).files;
mkdirSync(target, { recursive: true });
for (const name of FILES) copyFileSync(join(dist, name), join(target, name));
console.log(`segmnv3 web: copied ${FILES.length} onnxruntime-web files to ${target}`);
