/** `ulmfit finetune-lm`: stage 2 of ULMFiT, a pretrained language model fine-tuned on domain text. */
import type { Command } from 'commander';
import { addLmFlags, runLm, type LmFlags } from './lm-common.js';
import { givenOptions, realNumber } from './options.js';

export function register(program: Command): void {
  const command = program
    .command('finetune-lm')
    .description("fine-tune a pretrained language model on your text (ULMFiT stage 2; fastai's recipe: 1 frozen epoch at 2e-2, then --epochs at --lr)");
  addLmFlags(command)
    .requiredOption('--pretrained <dir|name>', 'the pretrained language model: a model or run directory (from pretrain or import-fastai), or a model name (en; see ulmfit models)')
    .option('--drop-mult <x>', "scales the pretrained model's five dropouts (fastbook fine-tunes at 0.3; default 1: as pretrained)", realNumber(0))
    .option('--keep-pretrained-vocab', "encoder/ also keeps the pretrained model's tokens your text lacks, with their pretrained rows (default: the corpus's vocab only, as fastai)")
    .addHelpText('after', '\nExample:\n  ulmfit finetune-lm reviews/ --pretrained wt103-fwd --out runs/reviews-lm --epochs 10 --lr 2e-3')
    .action(async (inputs: string[], flags: LmFlags, command: Command) => runLm(inputs, flags, true, givenOptions(command)));
}
