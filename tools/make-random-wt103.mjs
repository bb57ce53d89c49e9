#!/usr/bin/env node
// Writes a stand-in for fastai's model-zoo archive wt103-fwd.tgz: the same size of model (vocab
// 60,008, emb 400, hidden 1152, 3 layers, tied decoder with a bias), the same file layout
// (wt103-fwd/lstm_fwd.pth in fastai v1's state-dict layout + wt103-fwd/itos_wt103.pkl), random
// weights. It is what workbench/scale/wt103.mjs serves on 127.0.0.1 to time `ulmfit pull wt103`
// and the fine-tuning after it at full size, without downloading fastai's 221 MB archive (and
// without PyTorch: the .pth and .pkl are written by `ulmfit export-fastai --v1`).
//
//   npm run build && node tools/make-random-wt103.mjs [--out DIR]   # default .ulmfit-cache/bench/wt103-random
//
// The vocab is the shipped `en` model's 20,008 tokens (so Brown text mostly maps to real ids, as it
// would with WT103's vocab) padded with 40,000 placeholder tokens to WT103's 60,008. The weights
// are U(-0.1, 0.1) from a fixed seed: their values mean nothing, their cost is a real model's.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tar from 'tar';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = (path) => import(join(repo, 'dist', path));

export const WT103_SHAPE = { vocab: 60008, emb: 400, hidden: 1152, layers: 3 };

/** xorshift32 → U(-scale, scale): fast and seeded, so the archive is the same on every run. */
function uniform(n, seed, scale = 0.1) {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = (s / 4294967296 - 0.5) * 2 * scale;
  }
  return out;
}

/** Builds `<out>/wt103-fwd.tgz` (and keeps nothing else); returns its path. */
export async function makeRandomWt103(out) {
  const { writeModelDir } = await dist('io/artifact.js');
  const { AWD_LSTM_LM_CONFIG } = await dist('model/awd-lstm.js');
  const { vocab: V, emb: E, hidden: H, layers: L } = WT103_SHAPE;
  const en = JSON.parse(readFileSync(join(repo, 'models/en/vocab.json'), 'utf8'));
  const vocab = [...en];
  for (let i = 0; vocab.length < V; i++) vocab.push(`xxrandom${i}`);
  const tokenizer = JSON.parse(readFileSync(join(repo, 'models/en/tokenizer.json'), 'utf8'));

  // ulmfit's names for an AWD-LSTM LM (fastai's, less the dropped duplicates; see io/fastai-weights.ts).
  const weights = new Map();
  let seed = 1;
  const put = (name, shape) =>
    weights.set(name, {
      dtype: 'float32',
      shape,
      data: uniform(
        shape.reduce((a, b) => a * b, 1),
        seed++,
      ),
    });
  put('0.encoder.weight', [V, E]);
  for (let l = 0; l < L; l++) {
    const inSize = l === 0 ? E : H;
    const outSize = l === L - 1 ? E : H; // the last layer's hidden size is emb (tied decoder)
    put(`0.rnns.${l}.weight_hh_l0_raw`, [4 * outSize, outSize]);
    put(`0.rnns.${l}.module.weight_ih_l0`, [4 * outSize, inSize]);
    put(`0.rnns.${l}.module.bias_ih_l0`, [4 * outSize]);
    put(`0.rnns.${l}.module.bias_hh_l0`, [4 * outSize]);
  }
  put('1.decoder.bias', [V]);

  mkdirSync(out, { recursive: true });
  const work = join(out, 'work');
  rmSync(work, { recursive: true, force: true });
  try {
    const modelDir = join(work, 'model');
    writeModelDir(modelDir, {
      meta: {
        kind: 'lm',
        arch: { name: 'awd_lstm', ...AWD_LSTM_LM_CONFIG },
        backwards: false,
        description: 'random weights at WT103 size (tools/make-random-wt103.mjs)',
      },
      weights,
      vocab,
      tokenizer,
    });
    weights.clear(); // ~180 MB of Float32Arrays the export child does not need us to hold
    const top = join(work, 'wt103-fwd');
    mkdirSync(top);
    // --v1: fastai's model-zoo archive was saved by fastai v1 (each layer's duplicate module.weight_hh_l0).
    execFileSync(
      process.execPath,
      [
        join(repo, 'bin/ulmfit.js'),
        'export-fastai',
        modelDir,
        '--v1',
        '--out',
        join(top, 'lstm_fwd.pth'),
        '--itos',
        join(top, 'itos_wt103.pkl'),
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    const archive = join(out, 'wt103-fwd.tgz');
    await tar.c({ gzip: true, cwd: work, file: archive, portable: true }, ['wt103-fwd']);
    return archive;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const at = process.argv.indexOf('--out');
  const out = resolve(at >= 0 ? process.argv[at + 1] : join(repo, '.ulmfit-cache/bench/wt103-random'));
  const archive = await makeRandomWt103(out);
  console.log(`${archive}${existsSync(archive) ? '' : ' (missing?)'}`);
}
