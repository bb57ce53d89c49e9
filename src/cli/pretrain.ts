/** `ulmfit pretrain`: stage 1 of ULMFiT, an AWD-LSTM language model from scratch (options: config/training.ts). */
import type { Command } from 'commander';
import { PRETRAIN } from '../config/training.js';
import { runLm, type LmFlags } from './lm-common.js';
import { addCommand, givenOptions } from './options.js';

export function register(program: Command): void {
  addCommand(program, PRETRAIN).action(async (inputs: string[], flags: LmFlags, command: Command) =>
    runLm(inputs, flags, false, givenOptions(command)),
  );
}
