// Memory readings shared by the scale workbench's scripts (memory-step.mjs, memory-classifier.mjs):
// the process's RSS and peak RSS, TF.js's live tensor bytes, the wasm heap's size (it never
// shrinks) and the live bytes of its malloc (wrapped by trackMalloc) with their peak.
import * as tf from '@tensorflow/tfjs';

export const MiB = 2 ** 20;
export const mib = (bytes) => `${(bytes / MiB).toFixed(0).padStart(5)} MiB`;
const heapBytes = () => {
  // The wasm backend's emscripten module; its heap is one WebAssembly.Memory that never shrinks.
  const wasm = tf.backend().wasm;
  return wasm?.HEAPU8?.length ?? 0;
};

/** Live bytes of the wasm heap's malloc, and their peak since the last reset. */
export const heap = { live: 0, peak: 0, sizes: new Map(), largestAtPeak: [] };
export function trackMalloc() {
  const wasm = tf.backend().wasm;
  if (wasm === undefined) return;
  const malloc = wasm._malloc.bind(wasm);
  const free = wasm._free.bind(wasm);
  wasm._malloc = (bytes) => {
    const at = malloc(bytes);
    heap.sizes.set(at >>> 0, bytes);
    heap.live += bytes;
    if (heap.live > heap.peak) {
      heap.peak = heap.live;
      // what was live at the peak, by size (≥ 8 MiB)
      if (bytes >= 8 * MiB)
        heap.largestAtPeak = [...heap.sizes.values()].filter((b) => b >= 8 * MiB).sort((a, b) => b - a);
    }
    return at;
  };
  wasm._free = (at) => {
    heap.live -= heap.sizes.get(at >>> 0) ?? 0;
    heap.sizes.delete(at >>> 0);
    free(at);
  };
}

export const line = (label) => {
  const rss = process.memoryUsage().rss;
  const peak = process.resourceUsage().maxRSS * 1024;
  const m = tf.memory();
  console.log(
    `${label.padEnd(22)} rss ${mib(rss)}  peak ${mib(peak)}  tensors ${mib(m.numBytes)} (${String(m.numTensors).padStart(4)})  wasm heap ${mib(heapBytes())}  malloc peak ${mib(heap.peak)}`,
  );
  heap.peak = heap.live;
};
