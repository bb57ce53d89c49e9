/**
 * `ulmfit tokenize`: inputs → a tokenized corpus directory (`--out`), or, without `--out`, a Unix
 * filter that prints one line of tokens per document. All the work is in text/pipeline.ts.
 */
import type { Command } from 'commander';
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
import type { CommandFlags } from '../config/schema.js';
import { TOKENIZE } from '../config/utility.js';
import { addCommand } from './options.js';
import { Progress } from './progress.js';
import { resolveSubword } from './tokenize-subword.js';
import { snakeKeys } from './json-output.js';

type Flags = CommandFlags<typeof TOKENIZE>;

export function register(program: Command): void {
  addCommand(program, TOKENIZE).action(async (inputs: string[], flags: Flags, command: Command) =>
    runTokenize(inputs, flags, command),
  );
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
