// Writes fixtures/torch/expected.json's tensors with ulmfit's writeTorchZip (from dist/, so run
// `npm run build` first). Used by `make_torch_io_fixtures.py --verify-writer`, which then checks
// that torch.load reads the file back exactly.
import { readFileSync, writeFileSync } from 'node:fs';
import { writeTorchZip } from '../dist/io/torch-pth.js';

const out = process.argv[2];
if (!out) throw new Error('usage: node tools/write_torch_sample.mjs <out.pth>');
const expected = JSON.parse(
  readFileSync(new URL('../fixtures/torch/expected.json', import.meta.url), 'utf8'),
);
const tensors = new Map();
for (const [name, e] of Object.entries(expected.tensors)) {
  const values = e.values.map((v) => (v === 'inf' ? Infinity : v === '-inf' ? -Infinity : v));
  const data = e.dtype === 'float32' ? Float32Array.from(values) : Int32Array.from(values);
  tensors.set(name, { dtype: e.dtype, shape: e.shape, data });
}
writeFileSync(out, writeTorchZip(tensors, { archiveName: 'written_by_ulmfit' }));
