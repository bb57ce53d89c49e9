// Reads a safetensors file with ulmfit's reader and writes it back with ulmfit's writer (from
// dist/, so run `npm run build` first). Used by `make_torch_io_fixtures.py --safetensors`.
import { writeFileSync } from 'node:fs';
import { readSafetensors, serializeSafetensors } from '../dist/io/safetensors.js';

const [input, output] = process.argv.slice(2);
if (!input || !output) throw new Error('usage: node tools/write_safetensors_sample.mjs <in> <out>');
const { tensors, metadata } = readSafetensors(input);
writeFileSync(output, serializeSafetensors(tensors, metadata));
