/** `ulmfit pretrain`: stage 1 of ULMFiT, an AWD-LSTM language model from scratch. */
import type { Command } from 'commander';
import { addLmFlags, runLm, type LmFlags } from './lm-common.js';
import { givenOptions, realNumber, wholeNumber } from './options.js';

export function register(program: Command): void {
  const command = program
    .command('pretrain')
    .description('train an AWD-LSTM language model from scratch (ULMFiT stage 1)');
  addLmFlags(command)
    .option('--emb <n>', 'embedding size (= last LSTM layer size)', wholeNumber(1), 400)
    .option('--hidden <n>', 'LSTM hidden size', wholeNumber(1), 1152)
    .option('--layers <n>', 'LSTM layers', wholeNumber(1), 3)
    .option('--drop-mult <x>', 'scales all five dropouts', realNumber(0), 1)
    .option('--no-rules', 'tokenize raw inputs without the fastai rules')
    .option('--save-encoder', 'also write encoder/ (for train-classifier)')
    .addHelpText('after', '\nExample:\n  ulmfit pretrain wiki/ --out runs/wiki-lm --emb 400 --hidden 1152 --layers 3 --epochs 10 --lr 3e-3')
    .action(async (inputs: string[], flags: LmFlags, command: Command) => runLm(inputs, flags, false, givenOptions(command)));
}
