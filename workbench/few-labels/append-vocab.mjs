#!/usr/bin/env node
// Gives a finetune-lm run directory the encoder/ that `finetune-lm --keep-pretrained-vocab` makes:
// appendPretrainedVocab (src/model/transfer.ts) on
// model-last/'s weights, without the decoder, exactly as finetune-lm saves encoder/ (model-best/
// and model-last/ keep the corpus's vocab). Used to reuse session 6's fine-tuning runs in the
// few-label benchmark's experiment instead of redoing them; on brown-genres the encoder was
// checked bit-identical to a fresh finetune-lm run's.
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
const last = readModelDir(join(src, 'model-last'));
const { weights, itos, added } = appendPretrainedVocab(
  last.weights,
  last.vocab,
  pretrained.weights,
  pretrained.vocab,
);
// finetune-lm's encoder/ is the last epoch's LM without the decoder, names without `0.`.
const encoder = new Map(
  [...weights].filter(([name]) => name.startsWith('0.')).map(([name, t]) => [name.slice(2), t]),
);
rmSync(join(dst, 'encoder'), { recursive: true });
writeModelDir(join(dst, 'encoder'), {
  meta: {
    kind: 'encoder',
    arch: last.meta.arch,
    backwards: last.meta.backwards,
    training: last.meta.training,
  },
  weights: encoder,
  vocab: itos,
  tokenizer: last.tokenizer,
});
process.stdout.write(`${join(dst, 'encoder')}: ${last.vocab.length} + ${added} = ${itos.length} tokens\n`);
