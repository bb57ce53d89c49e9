#!/usr/bin/env node
// Compares block sizes of the native matmul (native/src/: KC, MC, NC_PANELS) on given
// shapes, one thread, each variant in its own process (the sizes are read at load from
// ULMFIT_NATIVE_BLOCKING), alternated over rounds; prints each shape's best GFLOP/s per variant.
// After npm run build && npm run build:native:
//   node tools/tune-native.mjs "256,96,64;512,96,64" "16,600,2400;2304,600,2400" [rounds]
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const [variantsArg, shapesArg, roundsArg, child] = process.argv.slice(2);

async function measure(shapes) {
  const tf = await import('@tensorflow/tfjs');
  const { initBackend } = await import('../dist/backend.js');
  const { setNativeThreads } = await import('../dist/compute/native.js');
  await initBackend('wasm');
  setNativeThreads(1);
  for (const spec of shapes) {
    const [m, k, n] = spec.split(',').map(Number);
    const a = tf.randomNormal([m, k]);
    const b = tf.randomNormal([k, n]);
    tf.matMul(a, b).dispose();
    let best = Infinity;
    for (let r = 0; r < 3; r++) {
      let calls = 0;
      const start = performance.now();
      while (performance.now() - start < 300) {
        tf.matMul(a, b).dispose();
        calls++;
      }
      best = Math.min(best, (performance.now() - start) / calls);
    }
    console.log(((2 * m * k * n) / best / 1e6).toFixed(2));
    tf.dispose([a, b]);
  }
}

if (child === '--child') {
  await measure(shapesArg.split(';'));
} else {
  if (variantsArg === undefined || shapesArg === undefined) {
    console.error('usage: node tools/tune-native.mjs "KC,MC,NC;..." "m,k,n;..." [rounds]');
    process.exit(2);
  }
  const variants = variantsArg.split(';');
  const shapes = shapesArg.split(';');
  const best = new Map();
  for (let round = 0; round < Number(roundsArg ?? 3); round++) {
    for (const variant of variants) {
      const run = spawnSync(
        process.execPath,
        [fileURLToPath(import.meta.url), variantsArg, shapesArg, '0', '--child'],
        {
          env: { ...process.env, ULMFIT_NATIVE_BLOCKING: variant },
          encoding: 'utf8',
        },
      );
      run.stdout
        .trim()
        .split('\n')
        .forEach((line, i) => {
          const key = `${variant} ${shapes[i]}`;
          best.set(key, Math.max(best.get(key) ?? 0, Number(line)));
        });
    }
  }
  for (const shape of shapes)
    console.log(
      shape.padEnd(16),
      variants.map((v) => `${v}: ${best.get(`${v} ${shape}`).toFixed(1)}`).join('  '),
    );
}
