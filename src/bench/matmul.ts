/**
 * Benchmark: float32 matmul GFLOP/s on the wasm backend, ulmfit's relaxed-SIMD FMA kernel
 * (src/wasm/kernels.ts) against TF.js's XNNPACK kernel, on the shapes one AWD-LSTM training step
 * multiplies (10000/200/600/3, bs 32 x bptt 72; the bs-16 rows are what each of two
 * data-parallel replicas does). The two are interleaved and each shape's best of several rounds
 * is kept, so load changes hit both. Ends with a `BENCH {json}` line for bench/run.js.
 *
 *   npm run build && node bench/run.js matmul
 */
import * as tf from '@tensorflow/tfjs';
import { loadavg } from 'node:os';
import { initBackend } from '../backend.js';
import { setWasmKernelsEnabled } from '../wasm/kernels.js';

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

/** Milliseconds per `a·b`, best of ROUNDS batches, with our kernel on or off. */
function time(a: tf.Tensor2D, b: tf.Tensor2D, calls: number, ours: boolean): number {
  setWasmKernelsEnabled(ours);
  const start = performance.now();
  for (let i = 0; i < calls; i++) tf.matMul(a, b).dispose();
  return (performance.now() - start) / calls;
}

async function main(): Promise<void> {
  const backend = await initBackend('wasm');
  console.log(`backend ${backend}, Node ${process.version}, load ${loadavg()[0]!.toFixed(2)}, best of ${ROUNDS} rounds`);
  console.log('shape (m x k x n)          | XNNPACK GFLOP/s | ulmfit GFLOP/s | ratio | role');
  const rows: Array<{ m: number; k: number; n: number; xnnpack: number; ulmfit: number }> = [];
  let xnnpackMs = 0;
  let ulmfitMs = 0;
  for (const [m, k, n, role] of SHAPES) {
    const a = tf.randomNormal([m, k]) as tf.Tensor2D;
    const b = tf.randomNormal([k, n]) as tf.Tensor2D;
    const flops = 2 * m * k * n;
    const calls = Math.max(1, Math.round(FLOPS_PER_BATCH / flops));
    time(a, b, 1, false);
    time(a, b, 1, true);
    let theirs = Infinity;
    let ours = Infinity;
    for (let round = 0; round < ROUNDS; round++) {
      theirs = Math.min(theirs, time(a, b, calls, false));
      ours = Math.min(ours, time(a, b, calls, true));
    }
    tf.dispose([a, b]);
    const gflops = (ms: number) => flops / ms / 1e6;
    rows.push({ m, k, n, xnnpack: gflops(theirs), ulmfit: gflops(ours) });
    xnnpackMs += theirs;
    ulmfitMs += ours;
    console.log(
      `${`${m} x ${k} x ${n}`.padEnd(26)} | ${gflops(theirs).toFixed(1).padStart(15)} | ${gflops(ours).toFixed(1).padStart(14)} | ${(theirs / ours).toFixed(2).padStart(4)}x | ${role}`,
    );
  }
  setWasmKernelsEnabled(true);
  console.log(`all shapes once: XNNPACK ${xnnpackMs.toFixed(0)} ms, ulmfit ${ulmfitMs.toFixed(0)} ms (${(xnnpackMs / ulmfitMs).toFixed(2)}x)`);
  console.log('BENCH ' + JSON.stringify({ benchmark: 'matmul', backend, rounds: ROUNDS, shapes: rows, speedup: xnnpackMs / ulmfitMs }));
}

await main();
