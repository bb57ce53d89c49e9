/**
 * ulmfit's own kernels for TF.js's wasm backend, in one small WebAssembly module
 * (tools/wasm-kernels-wat.mjs, compiled into wasm-kernels-binary.ts):
 *
 * - a float32 matrix multiply that runs 1.5-2.3x faster than the XNNPACK kernel TF.js uses, on
 *   the shapes an AWD-LSTM trains with (docs/speed-benchmark.md, `node dist/bench/matmul.js`);
 * - a column sum (the bias gradients) with SIMD loads and float64 accumulators;
 * - the LSTM's per-time-step element-wise work, the Adam step, and the softmax cross-entropy's row
 *   max and gradient, each in one pass (the same float32 operations in the same order as the
 *   TF.js ops they replace: the same bits).
 *
 * Why the matmul is faster: TF.js 4.22's XNNPACK build has no relaxed SIMD, so each multiply-add
 * is a multiply and an add; ours uses `f32x4.relaxed_madd`, one FMA instruction on x64 CPUs with FMA3. Results differ from XNNPACK's
 * in the last bits (one rounding per multiply-add instead of two); they are deterministic on a
 * given machine.
 *
 * The module imports the wasm backend's own memory, so it reads its inputs and writes its outputs
 * where TF.js keeps them: no copies. For a matmul, B is first packed into 8-column panels (scratch
 * memory from the backend's allocator), in column blocks of at most PACK_BLOCK_FLOATS; for short
 * A (the per-time-step recurrent matmuls, 72 calls per layer with the same weight) the packed B
 * is kept, keyed by the tensor's data id (TF.js tensor data is immutable: a variable's `assign`
 * gets a new data id).
 *
 * Relaxed SIMD is standard from V8 11.4; Node 20's V8 11.3 has it behind
 * `--experimental-wasm-relaxed-simd`, which `loadWasmKernels` sets before compiling. Where the module
 * still does not validate (or `ULMFIT_WASM_KERNELS=0`), the backend keeps XNNPACK.
 */
import * as v8 from 'node:v8';
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { WASM_KERNELS_BASE64 } from './wasm-kernels-binary.js';
import { loadNativeKernels, NATIVE_CACHE_SLOTS, type NativeKernels } from './native.js';

/**
 * The slice of the WebAssembly JS API used here. TypeScript declares that API in its DOM library,
 * which this Node project does not compile against.
 */
interface WasmModule {
  readonly compiledKernels: unique symbol;
}
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: object) => { exports: object };
}
const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** Rows per micro-kernel call and columns per panel (tools/wasm-kernels-wat.mjs). */
const MR = 6;
const NR = 8;
/** At most this many floats of B are packed at once (4 MB: stays in L2/L3 while all of A passes). */
const PACK_BLOCK_FLOATS = 1 << 20;
/** A is multiplied in blocks of rows whose K floats total at most this (256 KB, L2-sized). */
const ROW_BLOCK_FLOATS = 1 << 16;
/** Packed B is cached only for calls with fewer rows than this (larger ones amortise packing). */
const CACHE_MAX_ROWS = 64;
/** Packed weights kept (least recently used dropped first). */
const CACHE_ENTRIES = 4;

interface KernelExports {
  pack(b: number, bp: number, k: number, n: number, ldb: number): void;
  gemm(a: number, bp: number, c: number, m: number, n: number, k: number, ldc: number, tile: number): void;
  colsum(x: number, acc: number, out: number, rows: number, cols: number): void;
  lstm_cell(
    sI: number,
    sF: number,
    sG: number,
    c2Prev: number,
    c2: number,
    rows: number,
    hidden: number,
  ): void;
  lstm_out(sO: number, sigmoidC2: number, tanhC: number, h: number, rows: number, hidden: number): void;
  lstm_back(
    dy: number,
    mm: number,
    coefA: number,
    bI: number,
    bF: number,
    bG: number,
    bO: number,
    forget: number,
    carry: number,
    dzI: number,
    dzF: number,
    dzG: number,
    dzO: number,
    carryOut: number,
    rows: number,
    hidden: number,
  ): void;
  adamw(
    p: number,
    g: number,
    m: number,
    v: number,
    pOut: number,
    mOut: number,
    vOut: number,
    decay: number,
    mom: number,
    oneMinusMom: number,
    sqrMom: number,
    oneMinusSqrMom: number,
    debias2: number,
    eps: number,
    stepSize: number,
    rows: number,
    n: number,
  ): void;
  rowmax(x: number, out: number, rows: number, cols: number): void;
  lstm_coef(
    sI: number,
    sF: number,
    sG: number,
    sO: number,
    c2Prev: number,
    tanhC: number,
    coefA: number,
    bI: number,
    bF: number,
    bG: number,
    bO: number,
    forget: number,
    rows: number,
    hidden: number,
  ): void;
  ce_grad(p: number, targets: number, dy: number, out: number, rows: number, classes: number): void;
  lstm_back_last(
    dy: number,
    coefA: number,
    bI: number,
    bF: number,
    bG: number,
    bO: number,
    forget: number,
    dzI: number,
    dzF: number,
    dzG: number,
    dzO: number,
    carryOut: number,
    rows: number,
    hidden: number,
  ): void;
}

/** The backend's Emscripten module, as far as it is used here (not in its public typings). */
interface EmscriptenModule {
  asm: { memory: { buffer: ArrayBuffer } };
  _malloc(bytes: number): number;
  _free(pointer: number): void;
}

/** The scalars of one Adam step, as optimizer.ts computes them (float64 here, float32 in the kernel). */
export interface AdamWScalars {
  /** 1 − lr·wd, or 1 without weight decay */
  decay: number;
  mom: number;
  oneMinusMom: number;
  sqrMom: number;
  oneMinusSqrMom: number;
  /** 1 − sqrMom^step */
  debias2: number;
  eps: number;
  /** lr / (1 − mom^step) */
  stepSize: number;
}

/** How nativeMatMul multiplies: transposed operands, and what it applies to the product. */
interface NativeMatMulOptions {
  /** b is disposed right after (an explicit transpose): never cache its panels */
  bIsTemporary?: boolean;
  transposeA?: boolean;
  transposeB?: boolean;
  /** added to the product: its shape, or (addendIsRow) one row of n added to every row */
  addend?: tf.TensorInfo;
  addendIsRow?: boolean;
  /** σ of the result */
  sigmoid?: boolean;
}

interface PackedEntry {
  dataId: object;
  k: number;
  n: number;
  /** wasm heap offset of the panels, or the native cache slot */
  pointer: number;
  /** (native cache) panels of B stored transposed */
  transposed?: boolean;
}

/**
 * The sizes of `op(a) · op(b)` for float32 operands with equal batch dimensions (or rank 2), op
 * transposing the last two dimensions where asked; undefined for any other operands.
 */
function matMulShape(
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
): { batchShape: number[]; m: number; k: number; n: number; batches: number } | undefined {
  if (
    a.dtype !== 'float32' ||
    b.dtype !== 'float32' ||
    a.shape.length < 2 ||
    a.shape.length !== b.shape.length
  )
    return undefined;
  const rank = a.shape.length;
  const batchShape = a.shape.slice(0, rank - 2);
  if (batchShape.some((size, i) => size !== b.shape[i])) return undefined;
  const [m, k] = transposeA
    ? [a.shape[rank - 1]!, a.shape[rank - 2]!]
    : [a.shape[rank - 2]!, a.shape[rank - 1]!];
  const [kB, n] = transposeB
    ? [b.shape[rank - 1]!, b.shape[rank - 2]!]
    : [b.shape[rank - 2]!, b.shape[rank - 1]!];
  if (kB !== k) return undefined;
  return { batchShape, m, k, n, batches: batchShape.reduce((product, size) => product * size, 1) };
}

let compiled: WasmModule | null | undefined;
let nextNativeOwner = 1;

/** The compiled module, or null where this engine cannot run it (no relaxed SIMD). */
export function loadWasmKernels(): WasmModule | null {
  if (compiled !== undefined) return compiled;
  compiled = null;
  if (process.env['ULMFIT_WASM_KERNELS'] === '0') return null;
  const bytes = Buffer.from(WASM_KERNELS_BASE64, 'base64');
  if (!wasmApi.validate(bytes)) {
    try {
      v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
    } catch {
      // an engine without the flag: validation below decides
    }
  }
  if (wasmApi.validate(bytes)) compiled = new wasmApi.Module(bytes);
  return compiled ?? null;
}

/**
 * The kernels bound to one wasm backend instance (one per thread). They live as long as the backend
 * (scratch, tile and up to CACHE_ENTRIES packed weights stay allocated in its heap).
 */
export class WasmKernels {
  private readonly exports: KernelExports;
  private readonly module: EmscriptenModule;
  private scratch = 0;
  private scratchFloats = 0;
  private readonly tile: number;
  private readonly cache: PackedEntry[] = [];
  private readonly nativeCache: PackedEntry[] = [];
  /** Tells this backend's native cache slots from another backend's in the same thread. */
  private readonly nativeOwner = nextNativeOwner++;
  /**
   * Counters, for tests and profiling: matmuls done here (`nativeCalls` of them by the native
   * kernels), B blocks packed, cached packs reused.
   */
  readonly stats = { calls: 0, nativeCalls: 0, packs: 0, cacheHits: 0 };

  constructor(
    private readonly backend: BackendWasm,
    wasmModule: WasmModule,
  ) {
    // BackendWasm.wasm is typed as the backend's module interface, which omits these members.
    this.module = backend.wasm as unknown as EmscriptenModule;
    const instance = new wasmApi.Instance(wasmModule, { env: { memory: this.module.asm.memory } });
    this.exports = instance.exports as unknown as KernelExports;
    this.tile = this.allocate(MR * NR);
  }

  /**
   * `op(a) · op(b)` for float32 operands with equal batch sizes (or rank 2), op transposing the
   * last two dimensions where asked. Transposed operands run only on the native kernels (the
   * caller transposes explicitly for the wasm kernel: undefined here).
   * @param a `[...batch, m, k]` (`[...batch, k, m]` with transposeA)
   * @param b `[...batch, k, n]` (`[...batch, n, k]` with transposeB)
   * @param bIsTemporary b is disposed right after (an explicit transpose): never cache its panels
   * @returns `[...batch, m, n]`, or undefined when the shapes are not ones these kernels take
   */
  matMul(
    a: tf.TensorInfo,
    b: tf.TensorInfo,
    bIsTemporary = false,
    transposeA = false,
    transposeB = false,
  ): tf.TensorInfo | undefined {
    const shape = matMulShape(a, b, transposeA, transposeB);
    if (shape === undefined) return undefined;
    const { batchShape, m, k, n, batches } = shape;
    const native = loadNativeKernels();
    if (native !== null)
      return this.nativeMatMul(native, a, b, [...batchShape, m, n], k, batches, {
        bIsTemporary,
        transposeA,
        transposeB,
      });
    if (transposeA || transposeB || m < MR) return undefined; // single rows: XNNPACK's path is as good
    this.stats.calls++;
    const out = this.backend.makeOutput([...batchShape, m, n], 'float32');
    if (batches * m * n === 0) return out;
    // Offsets are taken after every allocation: allocating may grow (and so move) the heap view,
    // but not the offsets.
    const cacheable = batches === 1 && m < CACHE_MAX_ROWS && !bIsTemporary;
    const cached = cacheable ? this.cachedPack(b, k, n) : undefined;
    const aBase = this.offsetOf(a);
    const bBase = this.offsetOf(b);
    const cBase = this.offsetOf(out);
    const blockRows = Math.max(MR, Math.floor(ROW_BLOCK_FLOATS / Math.max(k, 1) / MR) * MR);
    const blockCols =
      cached !== undefined ? n : Math.max(NR, Math.floor(PACK_BLOCK_FLOATS / Math.max(k, 1) / NR) * NR);
    const packed = cached ?? this.ensureScratch(k * Math.ceil(Math.min(n, blockCols) / NR) * NR);
    for (let batch = 0; batch < batches; batch++) {
      const aBatch = aBase + batch * m * k * 4;
      const bBatch = bBase + batch * k * n * 4;
      const cBatch = cBase + batch * m * n * 4;
      for (let col = 0; col < n; col += blockCols) {
        const width = Math.min(blockCols, n - col);
        if (cached === undefined) {
          this.exports.pack(bBatch + col * 4, packed, k, width, n * 4);
          this.stats.packs++;
        }
        const panels = cached === undefined ? packed : cached + col * k * 4;
        for (let row = 0; row < m; row += blockRows) {
          const rows = Math.min(blockRows, m - row);
          this.exports.gemm(
            aBatch + row * k * 4,
            panels,
            cBatch + (row * n + col) * 4,
            rows,
            width,
            k,
            n * 4,
            this.tile,
          );
        }
      }
    }
    return out;
  }

  /**
   * TF.js's `_FusedMatMul` on the native kernels: `act(op(a) · op(b) + bias)` with a bias of the
   * output's shape or of its last dimension (`[n]`, `[1, n]`), activation linear or sigmoid.
   * @returns undefined where the native kernels are not loaded or the operands are not these
   */
  fusedMatMul(
    a: tf.TensorInfo,
    b: tf.TensorInfo,
    transposeA: boolean,
    transposeB: boolean,
    bias: tf.TensorInfo | undefined,
    activation: string,
  ): tf.TensorInfo | undefined {
    const native = loadNativeKernels();
    if (native === null || (activation !== 'linear' && activation !== 'sigmoid')) return undefined;
    const shape = matMulShape(a, b, transposeA, transposeB);
    if (shape === undefined) return undefined;
    const { batchShape, m, k, n, batches } = shape;
    const outShape = [...batchShape, m, n];
    let addendIsRow = false;
    if (bias !== undefined) {
      if (bias.dtype !== 'float32') return undefined;
      const biasSize = tf.util.sizeFromShape(bias.shape);
      const isRow = biasSize === n && bias.shape[bias.shape.length - 1] === n && bias.shape.length <= 2;
      // The op hands the kernel 3-D operands ([batch, m, k]) and the bias as the caller shaped it.
      const bRank = bias.shape.length;
      const isFull =
        bRank >= 2 &&
        biasSize === batches * m * n &&
        bias.shape[bRank - 2] === m &&
        bias.shape[bRank - 1] === n;
      if (!isRow && !isFull) return undefined;
      addendIsRow = isRow && !isFull;
    }
    return this.nativeMatMul(native, a, b, outShape, k, batches, {
      transposeA,
      transposeB,
      addend: bias,
      addendIsRow,
      sigmoid: activation === 'sigmoid',
    });
  }

  /**
   * `a · b` by the native kernels, in place on the wasm heap. B's panels are cached as in
   * matMul: for short A, keyed by data id, in the addon's own memory (slots picked here).
   */
  private nativeMatMul(
    native: NativeKernels,
    a: tf.TensorInfo,
    b: tf.TensorInfo,
    outShape: number[],
    k: number,
    batches: number,
    options: NativeMatMulOptions,
  ): tf.TensorInfo {
    const {
      bIsTemporary = false,
      transposeA = false,
      transposeB = false,
      addend,
      addendIsRow = false,
      sigmoid = false,
    } = options;
    const rank = outShape.length;
    const m = outShape[rank - 2]!;
    const n = outShape[rank - 1]!;
    this.stats.calls++;
    this.stats.nativeCalls++;
    const out = this.backend.makeOutput(outShape, 'float32');
    if (batches * m * n === 0) return out;
    let slot = -1;
    let repack = false;
    // Rows under MR read B in place (no panels); packing pays from MR rows. k = 0: nothing to pack.
    if (batches === 1 && m >= MR && m < CACHE_MAX_ROWS && k > 0 && !bIsTemporary) {
      const index = this.nativeCache.findIndex(
        (entry) =>
          entry.dataId === b.dataId && entry.k === k && entry.n === n && entry.transposed === transposeB,
      );
      let entry: PackedEntry;
      if (index >= 0) {
        entry = this.nativeCache.splice(index, 1)[0]!;
        this.stats.cacheHits++;
      } else {
        const free =
          this.nativeCache.length < NATIVE_CACHE_SLOTS
            ? this.nativeCache.length
            : this.nativeCache.shift()!.pointer;
        entry = { dataId: b.dataId, k, n, transposed: transposeB, pointer: free };
        repack = true;
        this.stats.packs++;
      }
      this.nativeCache.push(entry);
      slot = entry.pointer;
    }
    // The heap's ArrayBuffer is read after makeOutput: growing the heap replaces it.
    native.gemm(
      this.module.asm.memory.buffer,
      this.offsetOf(a),
      this.offsetOf(b),
      this.offsetOf(out),
      m,
      k,
      n,
      batches,
      slot,
      repack,
      transposeA,
      transposeB,
      addend === undefined ? -1 : this.offsetOf(addend),
      addendIsRow,
      sigmoid,
      this.nativeOwner,
    );
    return out;
  }

  /**
   * `Σ_rows x`, accumulated in float64 row after row (the same numbers as a plain float64 loop).
   * @param x `[rows, cols]` float32
   * @returns `[cols]`
   */
  columnSum(x: tf.TensorInfo): tf.TensorInfo {
    const [rows, cols] = x.shape as [number, number];
    const out = this.backend.makeOutput([cols], 'float32');
    if (cols === 0) return out;
    const native = loadNativeKernels();
    if (native !== null) {
      native.columnSum(this.module.asm.memory.buffer, this.offsetOf(x), this.offsetOf(out), rows, cols);
      return out;
    }
    // float64 accumulators: the scratch is float32-sized, so ask for 2 floats per column (+1 to align to 8 bytes)
    const scratch = this.ensureScratch(2 * cols + 1);
    const acc = scratch + (scratch % 8);
    this.exports.colsum(this.offsetOf(x), acc, this.offsetOf(out), rows, cols);
    return out;
  }

  /**
   * The cell update of one LSTM step: `2c_t = f·2c_{t-1} + i·(4σ(2 z_g) − 2)` (lstm.ts cellStep).
   * @param sigmoids `[rows, 4H]` σ of the gate pre-activations (i, f, σ(2 z_g), o)
   * @param c2Prev `[rows, H]` 2c_{t-1}
   * @returns `[rows, H]` 2c_t
   */
  lstmCell(sigmoids: tf.TensorInfo, c2Prev: tf.TensorInfo): tf.TensorInfo {
    const [rows, hidden] = c2Prev.shape as [number, number];
    const c2 = this.backend.makeOutput([rows, hidden], 'float32');
    const s = this.offsetOf(sigmoids);
    this.exports.lstm_cell(s, s, s, this.offsetOf(c2Prev), this.offsetOf(c2), rows, hidden);
    return c2;
  }

  /**
   * The output of one LSTM step: `tanh(c_t) = 2σ(2c_t) − 1`, `h_t = o·tanh(c_t)`.
   * @param sigmoids `[rows, 4H]` as in lstmCell
   * @param sigmoidC2 `[rows, H]` σ(2c_t)
   * @returns `[tanh(c_t), h_t]`, each `[rows, H]`
   */
  lstmOut(sigmoids: tf.TensorInfo, sigmoidC2: tf.TensorInfo): [tf.TensorInfo, tf.TensorInfo] {
    const [rows, hidden] = sigmoidC2.shape as [number, number];
    const tanhC = this.backend.makeOutput([rows, hidden], 'float32');
    const h = this.backend.makeOutput([rows, hidden], 'float32');
    this.exports.lstm_out(
      this.offsetOf(sigmoids),
      this.offsetOf(sigmoidC2),
      this.offsetOf(tanhC),
      this.offsetOf(h),
      rows,
      hidden,
    );
    return [tanhC, h];
  }

  /**
   * A whole LSTM layer's forward pass on the native kernels, in one call (lstm-kernels.ts
   * fusedLstmForward). Throws where they are not loaded.
   * @param projected `[T·rows, 4H]` x·W_ihᵀ + b_ih + b_hh; weightHh `[4H, H]`; h0, c2First `[rows, H]`
   * @param keep also return what the backward pass reads
   * @returns keep: `[output [T·rows, H], c2Last [rows, H], sigmoids [T·rows, 4H], tanhC [T·rows, H],
   *   cells [(T+1)·rows, H], hPrev [T·rows, H]]`; else `[output, c2Last]`
   */
  lstmForward(
    projected: tf.TensorInfo,
    weightHh: tf.TensorInfo,
    h0: tf.TensorInfo,
    c2First: tf.TensorInfo,
    keep: boolean,
  ): tf.TensorInfo[] {
    const native = loadNativeKernels();
    if (native === null) throw new Error('LSTM forward: the native kernels are not loaded');
    const [rows, hidden] = h0.shape as [number, number];
    const gates = 4 * hidden;
    const seqLen = projected.shape[0]! / rows;
    const float = [projected, weightHh, h0, c2First].every((t) => t.dtype === 'float32');
    if (
      !float ||
      !Number.isInteger(seqLen) ||
      projected.shape[1] !== gates ||
      weightHh.shape[0] !== gates ||
      weightHh.shape[1] !== hidden ||
      c2First.shape[0] !== rows ||
      c2First.shape[1] !== hidden
    ) {
      throw new Error(
        `LSTM forward: [${projected.shape}], [${weightHh.shape}], [${h0.shape}] and [${c2First.shape}] do not fit`,
      );
    }
    const make = (shape: number[]) => this.backend.makeOutput(shape, 'float32');
    const output = make([seqLen * rows, hidden]);
    const c2Last = make([rows, hidden]);
    const saved = keep
      ? [
          make([seqLen * rows, gates]),
          make([seqLen * rows, hidden]),
          make([(seqLen + 1) * rows, hidden]),
          make([seqLen * rows, hidden]),
        ]
      : [];
    const at = (t: tf.TensorInfo | undefined) => (t === undefined ? -1 : this.offsetOf(t));
    const [sigmoids, tanhC, cells, hPrev] = saved;
    // Offsets after every makeOutput (the heap may have grown), and its ArrayBuffer last.
    native.lstmForward(
      this.module.asm.memory.buffer,
      at(projected),
      at(weightHh),
      at(h0),
      at(c2First),
      at(sigmoids),
      at(tanhC),
      at(cells),
      at(output),
      at(hPrev),
      at(c2Last),
      seqLen,
      rows,
      hidden,
    );
    return [output, c2Last, ...saved];
  }

  /**
   * Back-propagation through time for a whole layer on the native kernels (lstm-kernels.ts
   * fusedLstmBackward). Throws where they are not loaded.
   * @param dy `[T·rows, H]`; sigmoids `[T·rows, 4H]`; cells `[(T+1)·rows, H]`; tanhC `[T·rows, H]`; weightHh `[4H, H]`
   * @returns dz `[T·rows, 4H]`
   */
  lstmBackward(
    dy: tf.TensorInfo,
    sigmoids: tf.TensorInfo,
    cells: tf.TensorInfo,
    tanhC: tf.TensorInfo,
    weightHh: tf.TensorInfo,
    rows: number,
  ): tf.TensorInfo {
    const native = loadNativeKernels();
    if (native === null) throw new Error('LSTM backward: the native kernels are not loaded');
    const [steps, hidden] = dy.shape as [number, number];
    const seqLen = steps / rows;
    const float = [dy, sigmoids, cells, tanhC, weightHh].every((t) => t.dtype === 'float32');
    if (
      !float ||
      !Number.isInteger(seqLen) ||
      sigmoids.shape[0] !== steps ||
      sigmoids.shape[1] !== 4 * hidden ||
      cells.shape[0] !== steps + rows ||
      cells.shape[1] !== hidden ||
      tanhC.shape[0] !== steps ||
      tanhC.shape[1] !== hidden ||
      weightHh.shape[0] !== 4 * hidden ||
      weightHh.shape[1] !== hidden
    ) {
      throw new Error(
        `LSTM backward: [${dy.shape}], [${sigmoids.shape}], [${cells.shape}], [${tanhC.shape}] and [${weightHh.shape}] do not fit`,
      );
    }
    const dz = this.backend.makeOutput([steps, 4 * hidden], 'float32');
    native.lstmBackward(
      this.module.asm.memory.buffer,
      this.offsetOf(dy),
      this.offsetOf(sigmoids),
      this.offsetOf(cells),
      this.offsetOf(tanhC),
      this.offsetOf(weightHh),
      this.offsetOf(dz),
      seqLen,
      rows,
      hidden,
    );
    return dz;
  }

  /**
   * Every step's backward coefficients in one pass (lstm-kernels.ts fusedBackwardCoefficients).
   * @param sigmoids `[R, 4H]`; cells `[≥ R, H]` (2c_{t-1} in its first R rows); tanhCells `[R, H]`
   * @returns `[A [R, H], B [R, 4H], forget [R, H]]`
   */
  lstmCoefficients(
    sigmoids: tf.TensorInfo,
    cells: tf.TensorInfo,
    tanhCells: tf.TensorInfo,
  ): [tf.TensorInfo, tf.TensorInfo, tf.TensorInfo] {
    const [rows, hidden] = tanhCells.shape as [number, number];
    if (
      sigmoids.shape[0] !== rows ||
      sigmoids.shape[1] !== 4 * hidden ||
      cells.shape[1] !== hidden ||
      cells.shape[0]! < rows
    ) {
      throw new Error(
        `wasm LSTM coefficients: [${sigmoids.shape}], [${cells.shape}] and [${tanhCells.shape}] do not fit`,
      );
    }
    const coefA = this.backend.makeOutput([rows, hidden], 'float32');
    const coefB = this.backend.makeOutput([rows, 4 * hidden], 'float32');
    const forget = this.backend.makeOutput([rows, hidden], 'float32');
    const s = this.offsetOf(sigmoids);
    const b = this.offsetOf(coefB);
    this.exports.lstm_coef(
      s,
      s,
      s,
      s,
      this.offsetOf(cells),
      this.offsetOf(tanhCells),
      this.offsetOf(coefA),
      b,
      b,
      b,
      b,
      this.offsetOf(forget),
      rows,
      hidden,
    );
    return [coefA, coefB, forget];
  }

  /**
   * One step of back-propagation through time (lstm.ts lstmBackward), reading step `step`'s rows
   * of the whole-sequence tensors in place: `dh = dy_t + mm`, `dc = dh·A_t + carry`,
   * `dz = [dc, dc, dc, dh]·B_t`, `carry' = dc·f_t`. `mm` (dz_{t+1}·W_hh) and `carry` are absent
   * for the last step.
   * @param dy `[T·rows, H]`; coefA `[T·rows, H]`; coefB `[T·rows, 4H]`; forget `[T·rows, H]`
   * @param mm `[rows, H]` or undefined; carry `[rows, H]` or undefined
   * @returns `[dz_t [rows, 4H], carry' [rows, H]]`
   */
  lstmBackStep(
    step: number,
    rows: number,
    dy: tf.TensorInfo,
    coefA: tf.TensorInfo,
    coefB: tf.TensorInfo,
    forget: tf.TensorInfo,
    mm: tf.TensorInfo | undefined,
    carry: tf.TensorInfo | undefined,
  ): [tf.TensorInfo, tf.TensorInfo] {
    const hidden = dy.shape[1]!;
    const dz = this.backend.makeOutput([rows, 4 * hidden], 'float32');
    const carryOut = this.backend.makeOutput([rows, hidden], 'float32');
    const narrow = step * rows * hidden * 4;
    const dyAt = this.offsetOf(dy) + narrow;
    const aAt = this.offsetOf(coefA) + narrow;
    const bAt = this.offsetOf(coefB) + 4 * narrow;
    const forgetAt = this.offsetOf(forget) + narrow;
    const dzAt = this.offsetOf(dz);
    const carryAt = this.offsetOf(carryOut);
    if (mm === undefined || carry === undefined) {
      this.exports.lstm_back_last(
        dyAt,
        aAt,
        bAt,
        bAt,
        bAt,
        bAt,
        forgetAt,
        dzAt,
        dzAt,
        dzAt,
        dzAt,
        carryAt,
        rows,
        hidden,
      );
    } else {
      this.exports.lstm_back(
        dyAt,
        this.offsetOf(mm),
        aAt,
        bAt,
        bAt,
        bAt,
        bAt,
        forgetAt,
        this.offsetOf(carry),
        dzAt,
        dzAt,
        dzAt,
        dzAt,
        carryAt,
        rows,
        hidden,
      );
    }
    return [dz, carryOut];
  }

  /**
   * One Adam step with decoupled weight decay over a whole parameter, in one pass
   * (adamw.ts's `tfjs` implementation does the same operations in the same order with TF.js ops;
   * the results are the same bits).
   * @param param, grad, gradAvg, sqrAvg: tensors of one shape, float32
   * @returns `[param', gradAvg', sqrAvg']`, new tensors of that shape
   */
  adamW(
    param: tf.TensorInfo,
    grad: tf.TensorInfo,
    gradAvg: tf.TensorInfo,
    sqrAvg: tf.TensorInfo,
    step: AdamWScalars,
  ): [tf.TensorInfo, tf.TensorInfo, tf.TensorInfo] {
    const n = tf.util.sizeFromShape(param.shape);
    for (const t of [grad, gradAvg, sqrAvg]) {
      if (tf.util.sizeFromShape(t.shape) !== n)
        throw new Error(`wasm Adam step: [${t.shape}] does not match the parameter's [${param.shape}]`);
    }
    const outputs = [param, gradAvg, sqrAvg].map((t) => this.backend.makeOutput(t.shape, 'float32')) as [
      tf.TensorInfo,
      tf.TensorInfo,
      tf.TensorInfo,
    ];
    const [pOut, mOut, vOut] = outputs.map((t) => this.offsetOf(t)) as [number, number, number];
    const native = loadNativeKernels();
    if (native !== null) {
      native.adamw(
        this.module.asm.memory.buffer,
        this.offsetOf(param),
        this.offsetOf(grad),
        this.offsetOf(gradAvg),
        this.offsetOf(sqrAvg),
        pOut,
        mOut,
        vOut,
        n,
        step.decay,
        step.mom,
        step.oneMinusMom,
        step.sqrMom,
        step.oneMinusSqrMom,
        step.debias2,
        step.eps,
        step.stepSize,
      );
      return outputs;
    }
    this.exports.adamw(
      this.offsetOf(param),
      this.offsetOf(grad),
      this.offsetOf(gradAvg),
      this.offsetOf(sqrAvg),
      pOut,
      mOut,
      vOut,
      step.decay,
      step.mom,
      step.oneMinusMom,
      step.sqrMom,
      step.oneMinusSqrMom,
      step.debias2,
      step.eps,
      step.stepSize,
      1,
      n,
    );
    return outputs;
  }

  /**
   * `max_j x[r, j]`, the same values as `tf.max(x, 1)`.
   * @param x `[rows, cols]` float32
   * @returns `[rows]`
   */
  rowMax(x: tf.TensorInfo): tf.TensorInfo {
    const [rows, cols] = x.shape as [number, number];
    const out = this.backend.makeOutput([rows], 'float32');
    if (rows > 0) this.exports.rowmax(this.offsetOf(x), this.offsetOf(out), rows, cols);
    return out;
  }

  /**
   * The softmax cross-entropy's gradient `(p − onehot(targets))·dy` in one pass, the same bits
   * as those three TF.js ops.
   * @param probabilities `[rows, classes]` float32; targets `[rows]` int32; dy `[rows]` float32
   * @returns `[rows, classes]`
   */
  crossEntropyGrad(probabilities: tf.TensorInfo, targets: tf.TensorInfo, dy: tf.TensorInfo): tf.TensorInfo {
    const [rows, classes] = probabilities.shape as [number, number];
    if (
      targets.dtype !== 'int32' ||
      tf.util.sizeFromShape(targets.shape) !== rows ||
      tf.util.sizeFromShape(dy.shape) !== rows
    ) {
      throw new Error(
        `wasm cross-entropy gradient: targets [${targets.shape}] ${targets.dtype} and dy [${dy.shape}] do not fit [${probabilities.shape}]`,
      );
    }
    const out = this.backend.makeOutput([rows, classes], 'float32');
    const native = loadNativeKernels();
    if (native !== null && rows * classes > 0) {
      native.crossEntropyGrad(
        this.module.asm.memory.buffer,
        this.offsetOf(probabilities),
        this.offsetOf(targets),
        this.offsetOf(dy),
        this.offsetOf(out),
        rows,
        classes,
      );
    } else if (rows * classes > 0) {
      this.exports.ce_grad(
        this.offsetOf(probabilities),
        this.offsetOf(targets),
        this.offsetOf(dy),
        this.offsetOf(out),
        rows,
        classes,
      );
    }
    return out;
  }

  /**
   * Softmax over each row and its log-sum-exp, on the native kernels (AVX2 exp, ~1 ulp; rows with
   * a NaN or +inf give NaN). Throws where they are not loaded (callers check nativeSoftmaxReady).
   * @param x `[rows, cols]` float32 logits
   * @returns `[softmax(x) [rows, cols], log Σ_j exp(x[r, j]) [rows]]`
   */
  softmaxLse(x: tf.TensorInfo): [tf.TensorInfo, tf.TensorInfo] {
    const native = loadNativeKernels();
    if (native === null) throw new Error('softmax with log-sum-exp: the native kernels are not loaded');
    const [rows, cols] = x.shape as [number, number];
    const p = this.backend.makeOutput([rows, cols], 'float32');
    const lse = this.backend.makeOutput([rows], 'float32');
    if (rows * cols > 0)
      native.softmax(
        this.module.asm.memory.buffer,
        this.offsetOf(x),
        this.offsetOf(p),
        this.offsetOf(lse),
        rows,
        cols,
      );
    return [p, lse];
  }

  private allocate(floats: number): number {
    const pointer = this.module._malloc(floats * 4);
    if (pointer === 0) throw new Error(`wasm matmul: out of memory allocating ${floats} floats`);
    return pointer;
  }

  private offsetOf(t: tf.TensorInfo): number {
    return this.backend.typedArrayFromHeap(t).byteOffset;
  }

  /** Packed panels of `b` (`[k, n]`), from the cache or packed now and cached. */
  private cachedPack(b: tf.TensorInfo, k: number, n: number): number {
    const dataId = b.dataId;
    const index = this.cache.findIndex((entry) => entry.dataId === dataId && entry.k === k && entry.n === n);
    if (index >= 0) {
      const [entry] = this.cache.splice(index, 1);
      this.cache.push(entry!);
      this.stats.cacheHits++;
      return entry!.pointer;
    }
    if (this.cache.length >= CACHE_ENTRIES) this.module._free(this.cache.shift()!.pointer);
    const panels = Math.ceil(n / NR);
    const pointer = this.allocate(panels * NR * k);
    this.exports.pack(this.offsetOf(b), pointer, k, n, n * 4);
    this.stats.packs++;
    this.cache.push({ dataId, k, n, pointer });
    return pointer;
  }

  /** A scratch area of at least `floats` floats (grown, never shrunk). */
  private ensureScratch(floats: number): number {
    if (floats > this.scratchFloats) {
      if (this.scratch !== 0) this.module._free(this.scratch);
      // Both reset first: if allocating throws, no later call may take the freed area for a scratch.
      this.scratch = 0;
      this.scratchFloats = 0;
      this.scratch = this.allocate(floats);
      this.scratchFloats = floats;
    }
    return this.scratch;
  }
}

const instances = new WeakMap<BackendWasm, WasmKernels | null>();
let enabled = true;

/** Turns our kernels on or off for every backend (off: TF.js's own). For comparisons in tests and benchmarks. */
export function setWasmKernelsEnabled(on: boolean): void {
  enabled = on;
}

/**
 * Whether `kernelName`, a kernel registered on wasm that runs on these kernels (wasm-patches.ts), can
 * run on the current backend now.
 */
export function wasmKernelReady(kernelName: string): boolean {
  return (
    tf.getBackend() === 'wasm' &&
    tf.getKernel(kernelName, 'wasm') !== undefined &&
    wasmKernelsFor(tf.backend() as BackendWasm) !== undefined
  );
}

/** The kernels for this backend instance, or undefined where they are off or cannot run. */
export function wasmKernelsFor(backend: BackendWasm): WasmKernels | undefined {
  if (!enabled) return undefined;
  let kernels = instances.get(backend);
  if (kernels === undefined) {
    const wasmModule = loadWasmKernels();
    kernels = wasmModule === null ? null : new WasmKernels(backend, wasmModule);
    instances.set(backend, kernels);
  }
  return kernels ?? undefined;
}
