/**
 * `ulmfit export-fastai <model-dir> --out x.pth`: an ulmfit language model (or encoder) → a
 * zip-format fastai state dict plus its itos pickle, for fastai's `load_pretrained` /
 * `load_encoder`. The work is in io/fastai-model-dir.ts.
 */
import type { Command } from 'commander';
import type { CommandFlags } from '../config/schema.js';
import { EXPORT_FASTAI } from '../config/utility.js';
import { exportFastaiModel } from '../io/fastai-model-dir.js';
import { addCommand } from './options.js';
import { snakeKeys } from './json-output.js';

type Flags = CommandFlags<typeof EXPORT_FASTAI>;

export function register(program: Command): void {
  addCommand(program, EXPORT_FASTAI).action((model: string, flags: Flags) => {
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
