#!/usr/bin/env node
// GFLOP/s of native gemm builds side by side, loaded into one process (each copy of the .node
// file is its own addon instance) and alternated over rounds, best of each: an A/B comparison
// that the machine's minute-to-minute speed changes do not decide. Copy a build aside first:
//   cp native/build/Release/ulmfit_native.node /tmp/a.node   (change, rebuild, copy to /tmp/b.node)
//   node tools/compare-native-builds.mjs 2 "2304,600,2400;600t,2304,2400;2304,200,10000t" /tmp/a.node /tmp/b.node
// Arguments: threads, shapes "m,k,n;..." (m ending in t: A stored transposed; n ending in t: B
// stored transposed), addon files. B is packed on every call (no cache slot). ROUNDS=7 by default.
const [threadsArg, shapesArg, ...files] = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: node tools/compare-native-builds.mjs THREADS "m,k,n;..." a.node [b.node ...]');
  process.exit(2);
}
const addons = files.map((file) => {
  const module = { exports: {} };
  process.dlopen(module, file);
  module.exports.setThreads(Number(threadsArg));
  return module.exports;
});
const memory = new ArrayBuffer(1 << 30);
const floats = new Float32Array(memory);
for (let i = 0; i < floats.length; i++) floats[i] = ((i * 2654435761) % 1000) / 1000 - 0.5;
const rounds = Number(process.env.ROUNDS ?? 7);
console.log(`${threadsArg} thread(s), best of ${rounds} rounds, GFLOP/s`);
for (const spec of shapesArg.split(';')) {
  const [ms, ks, ns] = spec.split(',');
  const transposeA = ms.endsWith('t');
  const transposeB = ns.endsWith('t');
  const [m, k, n] = [ms, ks, ns].map((v) => parseInt(v, 10));
  const aAt = 0;
  const bAt = 4 * m * k + 4096;
  const cAt = bAt + 4 * k * n + 4096;
  const best = addons.map(() => Infinity);
  for (let round = 0; round < rounds; round++) {
    addons.forEach((addon, i) => {
      const call = () =>
        addon.gemm(memory, aAt, bAt, cAt, m, k, n, 1, -1, false, transposeA, transposeB, -1, false, false, 0);
      call();
      let calls = 0;
      const start = performance.now();
      while (performance.now() - start < 100) {
        call();
        calls++;
      }
      best[i] = Math.min(best[i], (performance.now() - start) / calls);
    });
  }
  console.log(
    `${spec.padEnd(18)} ${best.map((ms, i) => `${files[i].split('/').pop()}: ${((2 * m * k * n) / ms / 1e6).toFixed(1)}`).join('  ')}`,
  );
}
