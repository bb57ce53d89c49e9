/** `ulmfit evaluate`: a language model's loss, perplexity and next-token accuracy on held-out text. */
import type { Command } from 'commander';
import type { BackendName } from '../backend.js';
import { evaluateLanguageModel } from '../tasks/lm-eval.js';
import { backendName, wholeNumber } from './options.js';

interface Flags {
  model: string;
  bs: number;
  bptt: number;
  textCol?: string;
  lineDocs?: boolean;
  backend: BackendName;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('evaluate')
    .description(
      'score a language model on held-out text: loss, perplexity, next-token accuracy (classifiers: `classify` with gold labels)',
    )
    .argument(
      '<inputs...>',
      'text files, folders of .txt, CSV/TSV/JSONL, or - (stdin, one document per line)',
    )
    .requiredOption(
      '--model <dir|name>',
      'a language model: a model or run directory, or a model name (ulmfit models)',
    )
    .option('--bs <n>', 'parallel text streams (the score barely depends on it)', wholeNumber(1), 64)
    .option('--bptt <n>', 'tokens per batch', wholeNumber(1), 72)
    .option('--text-col <col>', 'CSV/TSV column or JSONL field with the text')
    .option('--line-docs', 'a plain text file holds one document per line')
    .option('--backend <name>', 'auto | tensorflow | wasm | cpu', backendName, 'auto' as BackendName)
    .option(
      '--json',
      'print one JSON object: {"model","tokens","loss","perplexity","accuracy","unknown_rate","vocab_size"}',
    )
    .addHelpText(
      'after',
      "\nThe text is tokenized with the model's own tokenizer and vocab (words it lacks count as xxunk).\n\nExample:\n  ulmfit evaluate heldout/ --model en",
    )
    .action(async (inputs: string[], flags: Flags) => {
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
