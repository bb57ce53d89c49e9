/**
 * Benchmark: float32 matmul GFLOP/s on the wasm backend: TF.js's XNNPACK kernel, ulmfit's
 * relaxed-SIMD FMA kernel (src/compute/wasm-kernels.ts) and ulmfit's native AVX2 kernel (src/compute/native.ts)
 * on one thread and on every core, on the shapes one AWD-LSTM training step
 * multiplies (10000/200/600/3, bs 32 x bptt 72; the bs-16 rows are what each of two
 * data-parallel replicas does). The variants are interleaved and each shape's best of several rounds
 * is kept, so load changes hit both. Ends with a `BENCH {json}` line for bench/run.js.
 *
 *   npm run build && node bench/run.js matmul
 */
import * as tf from '@tensorflow/tfjs';
import { availableParallelism, loadavg } from 'node:os';
import { initBackend } from '../backend.js';
import { setWasmKernelsEnabled } from '../compute/wasm-kernels.js';
import { loadNativeKernels, setNativeKernelsEnabled, setNativeThreads } from '../compute/native.js';

/** [m, k, n, what it is in the training step] */
const SHAPES: Array<[number, number, number, string]> = [
  [32, 600, 2400, 'recurrent h·W_hhᵀ, per time step'],
  [16, 600, 2400, 'same, one replica of two'],
  [32, 2400, 600, 'recurrent backward dz·W_hh, per time step'],
  [2304, 200, 2400, 'input projection, layer 1'],
  [2304, 600, 2400, 'input projection, layer 2'],
  [2400, 2304, 600, 'weight gradient dzᵀ·h'],
  [2304, 200, 10000, 'decoder'],
  [2304, 10000, 200, 'decoder backward dy·W'],
  [200, 2304, 10000, 'decoder weight gradient xᵀ·dy'],
];
const ROUNDS = Number(process.env.ULMFIT_BENCH_ROUNDS ?? 5);
/** Work per timed batch of calls, so small shapes are timed over many calls. */
const FLOPS_PER_BATCH = 2e9;

interface Variant {
  name: string;
  /** Switches the kernels this variant runs on. */
  select(): void;
}

/** Milliseconds per `a·b` over `calls` calls with the variant's kernels. */
function time(a: tf.Tensor2D, b: tf.Tensor2D, calls: number, variant: Variant): number {
  variant.select();
  const start = performance.now();
  for (let i = 0; i < calls; i++) tf.matMul(a, b).dispose();
  return (performance.now() - start) / calls;
}

async function main(): Promise<void> {
  const backend = await initBackend('wasm');
  const cores = availableParallelism();
  const variants: Variant[] = [
    { name: 'XNNPACK', select: () => setWasmKernelsEnabled(false) },
    {
      name: 'ulmfit wasm',
      select: () => {
        setWasmKernelsEnabled(true);
        setNativeKernelsEnabled(false);
      },
    },
  ];
  const native = loadNativeKernels() !== null;
  if (native) {
    variants.push({
      name: 'native 1 thr',
      select: () => {
        setWasmKernelsEnabled(true);
        setNativeKernelsEnabled(true);
        setNativeThreads(1);
      },
    });
    if (cores > 1)
      variants.push({
        name: `native ${cores} thr`,
        select: () => {
          setWasmKernelsEnabled(true);
          setNativeKernelsEnabled(true);
          setNativeThreads(cores);
        },
      });
  }
  console.log(
    `backend ${backend}, Node ${process.version}, load ${loadavg()[0]!.toFixed(2)}, best of ${ROUNDS} rounds, GFLOP/s${native ? '' : ' (native kernels not built: npm run build:native)'}`,
  );
  console.log(
    `${'shape (m x k x n)'.padEnd(20)} | ${variants.map((v) => v.name.padStart(12)).join(' | ')} | role`,
  );
  const rows: Array<{ m: number; k: number; n: number; gflops: Record<string, number> }> = [];
  const totalMs = variants.map(() => 0);
  for (const [m, k, n, role] of SHAPES) {
    const a = tf.randomNormal([m, k]) as tf.Tensor2D;
    const b = tf.randomNormal([k, n]) as tf.Tensor2D;
    const flops = 2 * m * k * n;
    const calls = Math.max(1, Math.round(FLOPS_PER_BATCH / flops));
    for (const variant of variants) time(a, b, 1, variant);
    const best = variants.map(() => Infinity);
    for (let round = 0; round < ROUNDS; round++) {
      variants.forEach((variant, i) => {
        best[i] = Math.min(best[i]!, time(a, b, calls, variant));
      });
    }
    tf.dispose([a, b]);
    const gflops = (ms: number) => flops / ms / 1e6;
    rows.push({ m, k, n, gflops: Object.fromEntries(variants.map((v, i) => [v.name, gflops(best[i]!)])) });
    best.forEach((ms, i) => (totalMs[i]! += ms));
    console.log(
      `${`${m} x ${k} x ${n}`.padEnd(20)} | ${best.map((ms) => gflops(ms).toFixed(1).padStart(12)).join(' | ')} | ${role}`,
    );
  }
  setWasmKernelsEnabled(true);
  setNativeKernelsEnabled(true);
  setNativeThreads(cores);
  const speedups = Object.fromEntries(variants.map((v, i) => [v.name, totalMs[0]! / totalMs[i]!]));
  console.log(
    `all shapes once, speed-up over XNNPACK: ${variants
      .slice(1)
      .map((v) => `${v.name} ${speedups[v.name]!.toFixed(2)}x`)
      .join(', ')}`,
  );
  console.log(
    'BENCH ' + JSON.stringify({ benchmark: 'matmul', backend, rounds: ROUNDS, shapes: rows, speedups }),
  );
}

await main();
