/**
 * ulmfit's native kernels (native/src/, built by `npm install` where a C++ compiler is
 * present): a float32 matmul with 256-bit AVX2 FMA on x86-64, split over threads, that the wasm
 * backend's BatchMatMul runs in place on its own memory (wasm-kernels.ts). WebAssembly SIMD is 128 bits
 * wide; these cores do twice the multiply-adds per cycle with AVX2 (docs/speed-benchmark.md).
 *
 * Optional by design: where the addon was not built, does not load, or the CPU lacks AVX2/FMA (or
 * `ULMFIT_NATIVE=0`), ulmfit runs its WebAssembly kernels and nothing else changes.
 */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { isMainThread } from 'node:worker_threads';

/**
 * The addon's calling convention and its number of cache slots: native/abi.json, the one file both
 * this loader and the C++ build read (binding.gyp turns it into defines), so they cannot drift.
 */
interface NativeAbi {
  /** Raised whenever an export's arguments change: a build from other sources is not used. */
  version: number;
  /** Packed weights the addon keeps per instance (wasm-kernels.ts picks the slot). */
  cacheSlots: number;
}

/** native/abi.json, relative to this module (src/compute or dist/compute). */
const ABI: NativeAbi = createRequire(import.meta.url)('../../native/abi.json') as NativeAbi;

/** The addon's exports (native/src/napi.cc). */
export interface NativeKernels {
  /** Its calling convention: a build from other sources is not used. */
  readonly version: number;
  /** Whether this CPU runs the kernels (AVX2 and FMA on x86-64). */
  available(): boolean;
  /** Threads per matmul in this JS thread's instance, the caller included; returns the count set. */
  setThreads(threads: number): number;
  /**
   * C = act(op(A)·op(B) + D), row-major float32 at byte offsets of `memory`, `batches` times in a
   * row: C is `[m, n]`, A `[m, k]` (stored `[k, m]` with `transposeA`), B `[k, n]` (stored `[n, k]`
   * with `transposeB`), D at `addend` `[m, n]` (or one `[n]` row for all rows with `addendIsRow`;
   * none when negative), act σ when `sigmoid`.
   * `slot` ≥ 0 (batches = 1): B's packed panels live in that cache slot, packed now when `repack`
   * (or when the slot holds another `owner`'s panels, or another shape's).
   */
  gemm(
    memory: ArrayBuffer,
    a: number,
    b: number,
    c: number,
    m: number,
    k: number,
    n: number,
    batches: number,
    slot: number,
    repack: boolean,
    transposeA: boolean,
    transposeB: boolean,
    addend: number,
    addendIsRow: boolean,
    sigmoid: boolean,
    owner: number,
  ): void;
  /**
   * A whole LSTM layer's forward pass, T steps of gates, cell and output (lstm.ts cellStep), the
   * recurrent weight packed once: projected `[T·rows, 4H]` (x·W_ihᵀ + b_ih + b_hh), weightHh
   * `[4H, H]`, h0 and c2First (2c_0) `[rows, H]`; writes sigmoids `[T·rows, 4H]` (σ(i), σ(f),
   * σ(2 z_g), σ(o)), tanhC `[T·rows, H]`, cells (2c_0 .. 2c_T) `[(T+1)·rows, H]`, output (h_1 ..
   * h_T) `[T·rows, H]`, hPrev (h_0 .. h_{T-1}) `[T·rows, H]` and c2Last (2c_T) `[rows, H]`, float32
   * at byte offsets of `memory`; -1 for sigmoids, tanhC, cells, hPrev or c2Last: not kept.
   */
  lstmForward(
    memory: ArrayBuffer,
    projected: number,
    weightHh: number,
    h0: number,
    c2First: number,
    sigmoids: number,
    tanhC: number,
    cells: number,
    output: number,
    hPrev: number,
    c2Last: number,
    seqLen: number,
    rows: number,
    hidden: number,
  ): void;
  /**
   * Back-propagation through time for a whole layer (lstm.ts lstmBackward's sequential part with
   * its coefficients): dy `[T·rows, H]`, sigmoids `[T·rows, 4H]`, cells `[(T+1)·rows, H]`, tanhC
   * `[T·rows, H]`, weightHh `[4H, H]`; writes dz `[T·rows, 4H]`.
   */
  lstmBackward(
    memory: ArrayBuffer,
    dy: number,
    sigmoids: number,
    cells: number,
    tanhC: number,
    weightHh: number,
    dz: number,
    seqLen: number,
    rows: number,
    hidden: number,
  ): void;
  /**
   * One AdamW step over n float32 parameters (the wasm kernel's operations and bits; scalars as
   * wasm-kernels.ts AdamWScalars, rounded to float32): p, g, m, v in; pOut, mOut, vOut out.
   */
  adamw(
    memory: ArrayBuffer,
    p: number,
    g: number,
    m: number,
    v: number,
    pOut: number,
    mOut: number,
    vOut: number,
    n: number,
    decay: number,
    mom: number,
    oneMinusMom: number,
    sqrMom: number,
    oneMinusSqrMom: number,
    debias2: number,
    eps: number,
    stepSize: number,
  ): void;
  /** out `[cols]` = Σ over rows of x `[rows, cols]`, each column summed in float64 row after row. */
  columnSum(memory: ArrayBuffer, x: number, out: number, rows: number, cols: number): void;
  /** out = (p − onehot(targets))·dy per row: p, out float32 `[rows, classes]`, targets int32 `[rows]`, dy float32 `[rows]`. */
  crossEntropyGrad(
    memory: ArrayBuffer,
    p: number,
    targets: number,
    dy: number,
    out: number,
    rows: number,
    classes: number,
  ): void;
  /** p = softmax(z) per row, lse = log Σ exp(z) per row, float32 `[rows, cols]` at byte offsets of `memory`. */
  softmax(memory: ArrayBuffer, z: number, p: number, lse: number, rows: number, cols: number): void;
}

/** The calling convention this loader speaks (native/abi.json). */
export const NATIVE_ABI_VERSION = ABI.version;

/** Cache slots in the addon (native/abi.json). */
export const NATIVE_CACHE_SLOTS = ABI.cacheSlots;

let loaded: NativeKernels | null | undefined;
let enabled = true;
let threadsWanted: number | undefined;

/** The path of the built addon, relative to this module (src/compute or dist/compute). */
const ADDON_PATH = '../../native/build/Release/ulmfit_native.node';

/** The addon, or null where it is off, missing, or cannot run on this CPU. */
export function loadNativeKernels(): NativeKernels | null {
  if (!enabled) return null;
  if (loaded !== undefined) return loaded;
  loaded = null;
  if (process.env['ULMFIT_NATIVE'] === '0') return null;
  try {
    const addon = createRequire(import.meta.url)(ADDON_PATH) as NativeKernels;
    // A stale build (its sources changed since, and its rebuild failed) is not used.
    if (addon.version === ABI.version && addon.available()) {
      addon.setThreads(threadsWanted ?? defaultThreads());
      loaded = addon;
    }
  } catch {
    // not built (no compiler at install) or built for another Node ABI: the wasm kernels run
  }
  return loaded;
}

/**
 * Threads per matmul when nobody set them: every core on the main thread; one in a worker thread,
 * where data-parallel replicas (one per core) would otherwise fight over the cores.
 */
function defaultThreads(): number {
  const fromEnv = Number(process.env['ULMFIT_NATIVE_THREADS']);
  if (Number.isInteger(fromEnv) && fromEnv >= 1) return clampThreads(fromEnv);
  return isMainThread ? clampThreads(availableParallelism()) : 1;
}

/** A whole number of threads the addon takes (1 to 256). */
function clampThreads(threads: number): number {
  return Math.min(256, Math.max(1, Math.floor(threads)));
}

/** Threads per native matmul in this JS thread (the caller included), set or by default. */
export function nativeThreads(): number {
  return threadsWanted ?? defaultThreads();
}

/** Threads per native matmul in this JS thread (the caller included). */
export function setNativeThreads(threads: number): void {
  threadsWanted = clampThreads(threads);
  loaded?.setThreads(threadsWanted);
}

/** Turns the native kernels on or off in this JS thread (off: the wasm kernels). For comparisons in tests and benchmarks. */
export function setNativeKernelsEnabled(on: boolean): void {
  enabled = on;
}

/**
 * Which kernel runs the wasm backend's matmuls in this thread, for benchmark output: the native
 * kernels with their thread count, ulmfit's WebAssembly kernel, or XNNPACK.
 */
export function wasmMatMulLabel(wasmKernelsOn: boolean, threads = nativeThreads()): string {
  if (!wasmKernelsOn) return 'XNNPACK';
  return loadNativeKernels() !== null
    ? `native AVX2, ${threads} thread${threads > 1 ? 's' : ''}`
    : 'ulmfit wasm (relaxed SIMD)';
}
