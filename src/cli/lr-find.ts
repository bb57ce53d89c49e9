/** `ulmfit lr-find`: fastai's learning-rate finder on a language model, with the valley suggestion. */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { BackendName } from '../backend.js';
import { findLanguageModelLr } from '../tasks/lm.js';
import { lossCurveSvg } from './lr-plot.js';
import { TOKENIZER_WORKERS_HELP } from './training-flags.js';
import { backendName, realNumber, wholeNumber } from './options.js';
import { Progress } from './progress.js';

interface LrFindFlags {
  pretrained?: string;
  emb: number;
  hidden: number;
  layers: number;
  dropMult: number;
  bs: number;
  bptt: number;
  startLr: number;
  endLr: number;
  numIt: number;
  wd?: number;
  unfreeze?: boolean;
  backwards?: boolean;
  minFreq?: number;
  maxVocab?: number;
  lineDocs?: boolean;
  textCol?: string;
  workers?: number;
  seed: number;
  svg?: string;
  backend: BackendName;
  json?: boolean;
  quiet?: boolean;
}

export function register(program: Command): void {
  program
    .command('lr-find')
    .description("run fastai's learning-rate finder on a language model and suggest an lr (valley)")
    .argument('<inputs...>', 'text inputs or a corpus directory, as for pretrain')
    .option('--pretrained <dir|name>', 'search for fine-tuning this model (a directory or a model name) (frozen, as fastai, unless --unfreeze)')
    .option('--unfreeze', 'with --pretrained: search with every layer trainable')
    .option('--emb <n>', 'embedding size (from scratch)', wholeNumber(1), 400)
    .option('--hidden <n>', 'LSTM hidden size (from scratch)', wholeNumber(1), 1152)
    .option('--layers <n>', 'LSTM layers (from scratch)', wholeNumber(1), 3)
    .option('--drop-mult <x>', 'scales all five dropouts', realNumber(0), 1)
    .option('--bs <n>', 'batch size', wholeNumber(1), 64)
    .option('--bptt <n>', 'tokens per batch', wholeNumber(1), 72)
    .option('--start-lr <lr>', 'first lr', realNumber(0), 1e-7)
    .option('--end-lr <lr>', 'last lr', realNumber(0), 10)
    .option('--num-it <n>', 'batches to run', wholeNumber(6), 100)
    .option('--wd <wd>', 'weight decay', realNumber(0))
    .option('--backwards', 'reversed documents')
    .option('--min-freq <n>', 'vocab min frequency', wholeNumber(1))
    .option('--max-vocab <n>', 'vocab max size', wholeNumber(1))
    .option('--line-docs', 'one document per line')
    .option('--text-col <col>', 'CSV/TSV/JSONL text column')
    .option('--workers <n>', TOKENIZER_WORKERS_HELP, wholeNumber(0))
    .option('--seed <n>', 'seed', wholeNumber(0), 42)
    .option('--svg <file>', 'also draw the loss curve as an SVG image')
    .option('--backend <name>', 'auto, tensorflow, wasm or cpu', backendName, 'auto')
    .option('--json', 'print {"valley": ..., "lrs": [...], "losses": [...]}')
    .option('--quiet', 'no progress on stderr')
    .addHelpText('after', '\nExample:\n  ulmfit lr-find reviews/ --pretrained wt103-fwd --svg lr.svg')
    .action(async (inputs: string[], flags: LrFindFlags) => {
      const progress = new Progress({ label: 'lr-find', ...(flags.quiet || flags.json ? { enabled: false } : {}) });
      const result = await findLanguageModelLr({
        inputs, pretrained: flags.pretrained, unfreeze: flags.unfreeze, emb: flags.emb, hidden: flags.hidden, layers: flags.layers,
        dropMult: flags.dropMult, bs: flags.bs, bptt: flags.bptt, wd: flags.wd, backwards: flags.backwards, minFreq: flags.minFreq,
        maxVocab: flags.maxVocab, lineDocs: flags.lineDocs, textCol: flags.textCol, workers: flags.workers, seed: flags.seed, backend: flags.backend,
        find: {
          startLr: flags.startLr, endLr: flags.endLr, numIt: flags.numIt,
          onBatchEnd: (i, lr, loss) => progress.update({ done: i + 1, total: flags.numIt, text: `lr ${lr.toExponential(2)} loss ${loss.toFixed(4)}` }),
        },
      });
      progress.finish();
      if (flags.svg) writeFileSync(flags.svg, lossCurveSvg(result.lrs, result.losses, result.valley?.lr));
      if (flags.json) {
        process.stdout.write(JSON.stringify({ valley: result.valley?.lr ?? null, stopped_early: result.stoppedEarly, lrs: result.lrs, losses: result.losses }) + '\n');
        return;
      }
      process.stdout.write(`${'lr'.padStart(12)} ${'loss'.padStart(10)}\n`);
      const step = Math.max(1, Math.floor(result.lrs.length / 25));
      for (let i = 0; i < result.lrs.length; i += step) {
        process.stdout.write(`${result.lrs[i]!.toExponential(3).padStart(12)} ${result.losses[i]!.toFixed(4).padStart(10)}\n`);
      }
      process.stdout.write(result.valley ? `suggested lr (valley): ${result.valley.lr.toExponential(2)}\n` : 'too few batches to suggest an lr: raise --num-it or give more text\n');
    });
}
