/** `ulmfit finetune-lm`: stage 2 of ULMFiT, a pretrained language model fine-tuned on domain text (options: config/training.ts). */
import type { Command } from 'commander';
import { FINETUNE_LM } from '../config/training.js';
import { runLm, type LmFlags } from './lm-common.js';
import { addCommand, givenOptions } from './options.js';

export function register(program: Command): void {
  addCommand(program, FINETUNE_LM).action(async (inputs: string[], flags: LmFlags, command: Command) =>
    runLm(inputs, flags, true, givenOptions(command)),
  );
}
