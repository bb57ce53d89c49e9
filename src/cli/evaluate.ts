/** `ulmfit evaluate`: a language model's loss, perplexity and next-token accuracy on held-out text. */
import type { Command } from 'commander';
import type { CommandFlags } from '../config/schema.js';
import { EVALUATE } from '../config/inference.js';
import { evaluateLanguageModel } from '../tasks/lm-eval.js';
import { addCommand } from './options.js';

type Flags = CommandFlags<typeof EVALUATE>;

export function register(program: Command): void {
  addCommand(program, EVALUATE).action(async (inputs: string[], flags: Flags) => {
    const result = await evaluateLanguageModel({
      model: flags.model,
      inputs,
      bs: flags.bs,
      bptt: flags.bptt,
      textCol: flags.textCol,
      lineDocs: flags.lineDocs,
      backend: flags.backend,
      noCache: true,
    });
    if (flags.json) {
      process.stdout.write(
        JSON.stringify({
          model: flags.model,
          tokens: result.tokens,
          loss: result.loss,
          perplexity: result.perplexity,
          accuracy: result.accuracy,
          unknown_rate: result.unknownRate,
          vocab_size: result.vocabSize,
        }) + '\n',
      );
      return;
    }
    process.stdout.write(
      `tokens ${result.tokens}  loss ${result.loss.toFixed(4)}  perplexity ${result.perplexity.toFixed(2)}  accuracy ${result.accuracy.toFixed(4)}` +
        `  unknown ${(100 * result.unknownRate).toFixed(2)}%\n`,
    );
  });
}
