/**
 * `ulmfit tokenize`: inputs → a tokenized corpus directory (`--out`), or, without `--out`, a Unix
 * filter that prints one line of tokens per document. All the work is in text/pipeline.ts.
 */
import { Command } from 'commander';
import { rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { UlmfitError } from '../errors.js';
import { openCorpus } from '../text/corpus.js';
import {
  loadGivenVocab,
  TokenStream,
  tokenizeCorpus,
  type TokenizeCorpusOptions,
  type TokenizeStats,
} from '../text/pipeline.js';
import { defaultTokenizerSettings, type TokenizerSettings } from '../text/settings.js';
import { WORKERS_OPTION } from '../config/training.js';
import { addOptions, wholeNumber } from './options.js';
import { Progress } from './progress.js';
import { resolveSubword, vocabSizeArg, type SubwordFlags } from './tokenize-subword.js';
import { snakeKeys } from './json-output.js';

interface Flags extends SubwordFlags {
  out?: string;
  rules: boolean;
  addEos?: boolean;
  minFreq: number;
  maxVocab: number;
  vocab?: string;
  textCol?: string;
  labelCol?: string;
  lineDocs?: boolean;
  encoding: 'utf8' | 'latin1';
  workers?: number;
  cache: boolean;
  cacheDir?: string;
  overwrite?: boolean;
  ids?: boolean;
  json?: boolean;
  quiet?: boolean;
}

export function register(program: Command): void {
  const command = program
    .command('tokenize')
    .description('tokenize text (fastai rules + word tokens) into a corpus directory, or print the tokens')
    .argument(
      '<inputs...>',
      'text/CSV/TSV/JSONL files, folders of .txt, or - for stdin (one document per line)',
    )
    .option('--out <dir>', 'write the tokenized corpus directory here (without it: print tokens to stdout)')
    .option('--no-rules', 'skip the fastai rules (no xxbos/xxmaj/xxup/xxrep, no lower-casing)')
    .option('--add-eos', 'end every document with xxeos')
    .option('--min-freq <n>', 'keep tokens seen at least n times in the vocab', wholeNumber(1), 3)
    .option(
      '--max-vocab <n>',
      'at most n tokens in the vocab (then xxfake pads it to a multiple of 8)',
      wholeNumber(1),
      60000,
    )
    .option(
      '--vocab <path>',
      'reuse a vocab: a vocab.json, or a model/corpus directory (its tokenizer settings too)',
    )
    .option('--text-col <col>', 'CSV/TSV column or JSONL field with the text (name or 0-based index)')
    .option('--label-col <col>', 'CSV/TSV column or JSONL field with the label')
    .option('--line-docs', 'a plain text file holds one document per line')
    .option('--encoding <enc>', 'input encoding: utf8 or latin1', 'utf8');
  addOptions(command, [WORKERS_OPTION])
    .option('--no-cache', 'do not read or write the corpus cache')
    .option('--cache-dir <dir>', 'corpus cache folder (default $ULMFIT_CACHE_DIR or ./.ulmfit-cache)')
    .option('--overwrite', 'replace a non-empty --out directory')
    .option('--ids', 'print token ids instead of tokens')
    .option(
      '--json',
      'print JSON lines ({"tokens": [...]} or {"ids": [...]}; exact, where plain output shows a newline token as \\n); with --out, one JSON summary',
    )
    .option('--quiet', 'no progress bar, summary or warnings on stderr')
    .option(
      '--subword',
      "SentencePiece unigram pieces instead of words (fastai's SubwordTokenizer): trains spm.model on the inputs after the rules",
    )
    .option(
      '--vocab-size <n>',
      "subword vocab size (default: fastai's rule, a quarter of the unique words, at most 30000)",
      vocabSizeArg,
    )
    .option(
      '--lang <code>',
      'language: subword character coverage 0.99999 for European languages, else 0.9998 (word tokens: en only)',
    )
    .option(
      '--spm-model <file>',
      'use this SentencePiece .model (ulmfit, spm_train or fastai) instead of training one; implies --subword',
    )
    .addHelpText(
      'after',
      "\nExample:\n  printf 'I LOVED it!!!!\\n' | ulmfit tokenize -\n  ulmfit tokenize aclImdb --out imdb-tok\n  ulmfit tokenize wiki-zh.txt --line-docs --subword --lang zh --vocab-size 8000 --out zh-tok",
    )
    .action(async (inputs: string[], flags: Flags, command: Command) => runTokenize(inputs, flags, command));
}

async function runTokenize(inputs: string[], flags: Flags, command: Command): Promise<void> {
  // `ulmfit tokenize big.txt | head`: the reader went away; stop quietly, as Unix filters do.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    process.exit(0);
  });
  if (flags.encoding !== 'utf8' && flags.encoding !== 'latin1') {
    throw new UlmfitError('E_USAGE', `--encoding must be utf8 or latin1, got ${flags.encoding}`);
  }
  const given = flags.vocab ? await loadGivenVocab(flags.vocab) : undefined;
  // Tokens printed to a terminal and a bar would share the screen: the bar only goes with --out or a pipe.
  const showBar = !flags.quiet && (Boolean(flags.out) || !process.stdout.isTTY);
  const progress = new Progress({ enabled: showBar ? undefined : false, label: 'tokenize' });
  const options: TokenizeCorpusOptions = {
    settings: tokenizerSettings(flags, command, given?.settings),
    minFreq: flags.minFreq,
    maxVocab: flags.maxVocab,
    ...(flags.workers !== undefined ? { workers: flags.workers } : {}),
    noCache: !flags.cache,
    encoding: flags.encoding,
    lineDocs: Boolean(flags.lineDocs),
    overwrite: Boolean(flags.overwrite),
    onProgress: (p) =>
      progress.update({
        done: p.bytesRead,
        total: p.totalBytes,
        counters: { docs: p.docs, tokens: p.tokens },
      }),
    ...(given ? { vocab: given.itos } : {}),
    ...(given?.spmModel ? { spmModel: given.spmModel } : {}),
    ...(flags.textCol !== undefined ? { textCol: flags.textCol } : {}),
    ...(flags.labelCol !== undefined ? { labelCol: flags.labelCol } : {}),
    ...(flags.cacheDir !== undefined ? { cacheDir: flags.cacheDir } : {}),
    ...(flags.out !== undefined ? { out: flags.out } : {}),
  };
  let stats: TokenizeStats;
  let where = '';
  try {
    // Subword: train spm.model on the inputs (or take --spm-model / the --vocab directory's).
    const subword = await resolveSubword(
      inputs,
      flags,
      options.settings!,
      given?.spmModel,
      options,
      progress,
    );
    options.settings = subword.settings;
    if (subword.spmModel) options.spmModel = subword.spmModel;
    if (flags.out || flags.ids) {
      const result = await tokenizeCorpus(inputs, options);
      stats = result.stats;
      where = `${result.hit ? ' (cache hit)' : ''}${flags.out ? ` → ${flags.out}` : ''}`;
      if (flags.out && flags.json)
        await writeOut(JSON.stringify(snakeKeys({ dir: flags.out, cacheHit: result.hit, ...stats })) + '\n');
      if (!flags.out) {
        try {
          await printIds(result.dir, Boolean(flags.json));
        } finally {
          if (result.temporary) await rm(dirname(result.dir), { recursive: true, force: true });
        }
      }
    } else {
      const stream = new TokenStream(inputs, options);
      for await (const batch of stream) {
        const lines = batch.map(({ doc, tokens }) =>
          flags.json
            ? JSON.stringify(doc.label === undefined ? { tokens } : { tokens, label: doc.label })
            : oneLine(tokens),
        );
        await writeOut(lines.join('\n') + '\n');
      }
      stats = stream.stats!;
    }
  } finally {
    progress.finish(); // an error message must not land on the bar's line
  }
  if (!flags.quiet) {
    for (const warning of stats.warnings) process.stderr.write(`warning: ${warning}\n`);
    process.stderr.write(summary(stats) + where + '\n');
  }
}

/** fastai's defaults, or a `--vocab` directory's own settings (its vocab only fits text tokenized its way), then the flags. */
function tokenizerSettings(
  flags: Flags,
  command: Command,
  base: TokenizerSettings | undefined,
): TokenizerSettings {
  const settings = defaultTokenizerSettings(base ?? {});
  if (command.getOptionValueSource('rules') === 'cli' || !base) {
    settings.rules = flags.rules;
    // fastai lower-cases inside its rules, so without rules the text keeps its case.
    if (!flags.rules) settings.lowercase = false;
  }
  if (flags.addEos) settings.addEos = true;
  return settings;
}

async function printIds(dir: string, json: boolean): Promise<void> {
  const corpus = openCorpus(dir);
  try {
    const lines: string[] = [];
    for (let i = 0; i < corpus.numDocs; i++) {
      const ids = Array.from(corpus.doc(i));
      const label =
        corpus.labels && corpus.labels.ids[i]! >= 0 ? corpus.labels.names[corpus.labels.ids[i]!] : undefined;
      lines.push(json ? JSON.stringify(label === undefined ? { ids } : { ids, label }) : ids.join(' '));
      if (lines.length === 1000 || i === corpus.numDocs - 1) {
        await writeOut(lines.join('\n') + '\n');
        lines.length = 0;
      }
    }
  } finally {
    corpus.close();
  }
}

/**
 * Tokens joined by spaces on one line. Whitespace tokens (spaCy keeps newline runs, e.g. `\n\n`)
 * would break the one-line-per-document output, so their newlines and tabs print as `\n`, `\t`
 * (`--json` prints tokens exactly).
 */
export function oneLine(tokens: readonly string[]): string {
  const line = tokens.join(' ');
  return /[\n\t]/.test(line) ? line.replace(/\n/g, '\\n').replace(/\t/g, '\\t') : line;
}

/** Writes to stdout, waiting when the pipe is full; a closed pipe (`| head`) ends quietly. */
function writeOut(text: string): Promise<void> {
  return new Promise((resolve) => {
    if (process.stdout.write(text)) resolve();
    else process.stdout.once('drain', resolve);
  });
}

function summary(s: TokenizeStats): string {
  const empty = s.emptySkipped > 0 ? ` (${s.emptySkipped} empty skipped)` : '';
  const threads = s.workers > 0 ? ` on ${s.workers} worker threads` : '';
  return (
    `tokenized ${s.numDocs} docs${empty}, ${s.numTokens} tokens, ${s.numTypes} distinct, vocab ${s.vocabSize}, ` +
    `unknown ${(100 * s.unknownRate).toFixed(2)}%, ${s.seconds.toFixed(2)}s${threads}`
  );
}
