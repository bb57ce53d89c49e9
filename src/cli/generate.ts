/** `ulmfit generate`: a language model continues a prompt (options: config/inference.ts). */
import type { Command } from 'commander';
import { BACKEND_NAMES, type BackendName, type CommandFlags } from '../config/schema.js';
import { GENERATE, GENERATION_DEFAULTS } from '../config/inference.js';
import { usageError } from '../errors.js';
import {
  generate,
  validateGenerateOptions,
  type GenerateOptions,
  type TokenEvent,
} from '../infer/generate.js';
import { addCommand } from './options.js';

type GenerateFlags = CommandFlags<typeof GENERATE>;

export function register(program: Command): void {
  addCommand(program, GENERATE).action((flags: GenerateFlags) => run(flags));
}

async function run(flags: GenerateFlags): Promise<void> {
  if (!(BACKEND_NAMES as readonly string[]).includes(flags.backend))
    throw usageError(`--backend must be one of ${BACKEND_NAMES.join(', ')}, got "${flags.backend}"`);
  const samples = parseNumber('--samples', flags.samples);
  if (flags.words !== undefined && flags.tokens !== undefined)
    throw usageError(
      '--words and --tokens exclude each other',
      'pass --words for words of text, or --tokens for model tokens',
    );
  const options: GenerateOptions = {
    prompt: flags.prompt === '-' ? await readPrompt() : flags.prompt,
    words:
      flags.tokens !== undefined
        ? parseNumber('--tokens', flags.tokens)
        : flags.words !== undefined
          ? parseNumber('--words', flags.words)
          : GENERATION_DEFAULTS.words,
    unit: flags.tokens !== undefined ? 'tokens' : 'words',
    temperature: parseNumber('--temperature', flags.temperature),
    topK: optionalNumber('--top-k', flags.topK),
    topP: optionalNumber('--top-p', flags.topP),
    minP: optionalNumber('--min-p', flags.minP),
    noUnk: !flags.allowUnk,
    seed: parseNumber('--seed', flags.seed),
    samples,
    stopAtEos: flags.stopAtEos ?? false,
    onWarning: (message) => process.stderr.write(`warning: ${message}\n`),
  };
  validateGenerateOptions(options); // usage errors before the (slow) model load
  // Loaded on demand: it pulls in TF.js, which `ulmfit --help` should not wait for.
  const { loadGenerator } = await import('../infer/load-generator.js');
  const generator = await loadGenerator(flags.model, flags.backend as BackendName);
  try {
    // Stream only prose to a terminal, and only forwards (a backwards model writes leftwards).
    const streaming = Boolean(process.stdout.isTTY) && !flags.json && !flags.raw && !generator.backwards;
    let onScreen = '';
    await generate(generator.model, generator.tokenizer, generator.vocab, {
      ...options,
      backwards: generator.backwards,
      onToken: streaming
        ? (event: TokenEvent) => {
            onScreen = writeSuffix(onScreen, generator.tokenizer.detokenize(event.readingOrder));
          }
        : undefined,
      onSample: (result, sample) => {
        if (flags.json) {
          process.stdout.write(
            JSON.stringify({ prompt: result.prompt, tokens: result.tokens, text: result.text }) + '\n',
          );
        } else if (flags.raw) {
          process.stdout.write(result.readingOrder.join(' ') + '\n');
        } else {
          const rest = !streaming
            ? result.text
            : result.text.startsWith(onScreen)
              ? result.text.slice(onScreen.length)
              : '\n' + result.text;
          process.stdout.write(rest + '\n');
          onScreen = '';
        }
        // Samples of prose are separated by a blank line.
        if (!flags.json && !flags.raw && sample + 1 < samples) process.stdout.write('\n');
      },
    });
  } finally {
    generator.dispose();
  }
}

/**
 * Writes what `full` adds to what is already on screen. Detokenizing more tokens usually only
 * appends (`do` + `n't` → `don't`); when it would rewrite earlier text (a pending xxmaj/xxrep),
 * nothing is written until it appends again.
 */
function writeSuffix(printed: string, full: string): string {
  if (!full.startsWith(printed)) return printed;
  process.stdout.write(full.slice(printed.length));
  return full;
}

/** `--prompt -`: all of stdin, without the trailing newline(s) a pipe or heredoc adds. */
async function readPrompt(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin)
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8').replace(/\s+$/, '');
}

function parseNumber(flag: string, value: string): number {
  const number = Number(value);
  if (value.trim() === '' || !Number.isFinite(number))
    throw usageError(`${flag} must be a number, got "${value}"`);
  return number;
}

function optionalNumber(flag: string, value: string | undefined): number | undefined {
  return value === undefined ? undefined : parseNumber(flag, value);
}
