#!/usr/bin/env node
// Gives a finetune-lm run directory made before finetune-lm kept the pretrained vocab (commit
// 71b9373) the saved vocab it makes now: appendPretrainedVocab (src/model/transfer.ts) on
// model-best/ and model-last/, and encoder/ from model-last/, exactly as finetune-lm saves them.
// Used to reuse session 6's fine-tuning runs in the few-label benchmark instead of redoing them;
// on brown-genres the result was checked bit-identical to a fresh finetune-lm run.
//
//   node workbench/few-labels/append-vocab.mjs <old run dir> <new run dir> [pretrained, default en]
import { cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { readModelDir, resolveModelDir, writeModelDir } from '../../dist/index.js';
import { appendPretrainedVocab } from '../../dist/model/transfer.js';

const [src, dst, pretrainedName = 'en'] = process.argv.slice(2);
if (!src || !dst) {
  process.stderr.write('usage: append-vocab.mjs <old run dir> <new run dir> [pretrained]\n');
  process.exit(2);
}
const pretrained = readModelDir(resolveModelDir(pretrainedName, { prefer: 'lm' }));
rmSync(dst, { recursive: true, force: true });
cpSync(src, dst, { recursive: true });
for (const sub of ['model-best', 'model-last']) {
  const lm = readModelDir(join(src, sub));
  const { weights, itos, added } = appendPretrainedVocab(lm.weights, lm.vocab, pretrained.weights, pretrained.vocab);
  const meta = { arch: lm.meta.arch, backwards: lm.meta.backwards, training: lm.meta.training };
  rmSync(join(dst, sub), { recursive: true });
  writeModelDir(join(dst, sub), { meta: { kind: 'lm', ...meta }, weights, vocab: itos, tokenizer: lm.tokenizer });
  if (sub === 'model-last') {
    // finetune-lm's encoder/ is the last epoch's LM without the decoder, names without `0.`.
    const encoder = new Map([...weights].filter(([name]) => name.startsWith('0.')).map(([name, t]) => [name.slice(2), t]));
    rmSync(join(dst, 'encoder'), { recursive: true });
    writeModelDir(join(dst, 'encoder'), { meta: { kind: 'encoder', ...meta }, weights: encoder, vocab: itos, tokenizer: lm.tokenizer });
  }
  process.stdout.write(`${join(dst, sub)}: ${lm.vocab.length} + ${added} = ${itos.length} tokens\n`);
}
