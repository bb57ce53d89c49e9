/**
 * `ulmfit export-fastai <model-dir> --out x.pth`: an ulmfit language model (or encoder) → a
 * zip-format fastai state dict plus its itos pickle, for fastai's `load_pretrained` /
 * `load_encoder`. The work is in io/fastai-model-dir.ts.
 */
import type { Command } from 'commander';
import { exportFastaiModel } from '../io/fastai-model-dir.js';
import { snakeKeys } from './json-output.js';

interface Flags {
  out: string;
  itos?: string;
  encoder?: boolean;
  v1?: boolean;
  overwrite?: boolean;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('export-fastai')
    .description('write an ulmfit language model or encoder as a fastai .pth state dict and itos .pkl')
    .argument('<model>', 'a model directory, or a run directory (uses model-best/, else model-last/)')
    .requiredOption('--out <file.pth>', 'the state dict to write')
    .option('--itos <file.pkl>', 'where to write the vocabulary pickle (default: <out>_itos.pkl)')
    .option('--encoder', "write only the encoder, as fastai's save_encoder does (for load_encoder)")
    .option('--v1', "fastai v1 layout (adds each layer's duplicate module.weight_hh_l0)")
    .option('--overwrite', 'replace existing output files')
    .option('--json', 'print one JSON object describing the export')
    .addHelpText(
      'after',
      "\nExample:\n  ulmfit export-fastai runs/imdb-lm --out imdb_lm.pth\n  # fastai: language_model_learner(dls, AWD_LSTM, pretrained_fnames=['imdb_lm', 'imdb_lm_itos'])",
    )
    .action((model: string, flags: Flags) => {
      const result = exportFastaiModel({
        model,
        out: flags.out,
        itosOut: flags.itos,
        kind: flags.encoder ? 'encoder' : undefined,
        layout: flags.v1 ? 'v1' : 'v2',
        overwrite: flags.overwrite,
      });
      if (flags.json) process.stdout.write(JSON.stringify(snakeKeys(result)) + '\n');
      else
        process.stdout.write(
          `exported ${result.modelDir} (${result.kind}, ${result.tensors} tensors) → ${result.out} + ${result.itosOut}\n`,
        );
    });
}
