import { InvalidArgumentError, type Command } from 'commander';
import type { BackendName } from '../backend.js';
import type { UpdateMode } from '../train/data-parallel.js';
import type { StepTiming } from '../train/dp-replica.js';
import type { SpeedConfig } from '../tasks/speed.js';
import { backendName, wholeNumber } from './options.js';
import { snakeKeys } from './json-output.js';

interface BenchFlags extends SpeedConfig {
  backend: BackendName;
  workers: number;
  threads?: number;
  mainThread: boolean;
  update: UpdateMode;
  json?: boolean;
}

function updateMode(value: string): UpdateMode {
  if (value !== 'replicated' && value !== 'broadcast')
    throw new InvalidArgumentError('expected replicated or broadcast');
  return value;
}

export function register(program: Command): void {
  program
    .command('bench')
    .description(
      'time AWD-LSTM language-model training steps and inference passes on random tokens (tokens/s)',
    )
    .option('--vocab <n>', 'vocabulary size', wholeNumber(3), 10000)
    .option('--emb <n>', 'embedding size (also the last layer size, tied decoder)', wholeNumber(1), 200)
    .option('--hidden <n>', 'hidden size of the other LSTM layers', wholeNumber(1), 600)
    .option('--layers <n>', 'LSTM layers', wholeNumber(1), 3)
    .option('--bs <n>', 'batch size', wholeNumber(1), 32)
    .option('--bptt <n>', 'tokens per sequence in a batch', wholeNumber(1), 72)
    .option('--steps <n>', 'timed batches (training, then inference)', wholeNumber(1), 5)
    .option(
      '--warmup <n>',
      'untimed batches before each timed run (the first two grow and settle the memory)',
      wholeNumber(0),
      2,
    )
    .option('--backend <name>', 'auto | tensorflow | wasm | cpu', backendName, 'auto' as BackendName)
    .option('--workers <n>', 'data-parallel replicas (1: the single-replica learner step)', wholeNumber(1), 1)
    .option(
      '--threads <n>',
      'threads per matmul in each replica, on the native kernels (default: the cores shared out over the replicas)',
      wholeNumber(1),
    )
    .option(
      '--no-main-thread',
      'with --workers > 1: every replica on a worker thread (default: replica 0 on the main thread)',
    )
    .option(
      '--update <mode>',
      'with --workers > 1: replicated (AdamW in every replica) | broadcast (replica 0 steps, sends weights)',
      updateMode,
      'replicated' as UpdateMode,
    )
    .option(
      '--json',
      'print {"train_tokens_per_s","infer_tokens_per_s","backend","matmul","peak_rss_mb","config","thread_ms"} (with --workers > 1 also "workers","main_thread","update","step_ms")',
    )
    .addHelpText(
      'after',
      "\nA training step is a full one (five dropouts, AR/TAR, tied decoder, AdamW) through the\nlearner; inference is an eval-mode forward pass with the decoder. With --workers N the batch's\nrows are split across N replicas (worker threads, each its own wasm instance) and the\ngradients averaged through shared memory.\n\nExamples:\n  ulmfit bench --vocab 60008 --emb 400 --hidden 1152 --bs 16 --steps 3\n  ulmfit bench --workers 2\n  ulmfit bench --threads 1     # one core: compare with single-thread PyTorch\n",
    )
    .action((flags: BenchFlags) => run(flags));
}

async function run(flags: BenchFlags): Promise<void> {
  // Loaded on demand: it pulls in TF.js, which `ulmfit --help` should not wait for.
  const { benchmarkLanguageModel } = await import('../tasks/speed.js');
  const result = await benchmarkLanguageModel({
    vocab: flags.vocab,
    emb: flags.emb,
    hidden: flags.hidden,
    layers: flags.layers,
    bs: flags.bs,
    bptt: flags.bptt,
    steps: flags.steps,
    warmup: flags.warmup,
    backend: flags.backend,
    workers: flags.workers,
    mainThread: flags.mainThread,
    update: flags.update,
    ...(flags.threads !== undefined ? { threads: flags.threads } : {}),
  });
  const peakMb = Math.round(result.peakRssBytes / 2 ** 20);
  if (flags.json) {
    process.stdout.write(
      JSON.stringify({
        train_tokens_per_s: Math.round(result.trainTokensPerS * 10) / 10,
        infer_tokens_per_s: Math.round(result.inferTokensPerS * 10) / 10,
        // Single-process output keeps its original keys.
        ...(result.workers > 1
          ? {
              workers: result.workers,
              main_thread: result.mainThread,
              update: result.update,
              step_ms: result.stepTiming?.map((t) => snakeKeys(roundTiming(t))),
            }
          : {}),
        backend: result.backend,
        matmul: result.matmul,
        peak_rss_mb: peakMb,
        config: result.config,
        // Linux only: per training thread, ms per step on a CPU and waiting for one.
        ...(result.trainThreads
          ? {
              thread_ms: result.trainThreads.map((t) => ({
                on_cpu: Math.round(t.onCpuMs),
                waiting: Math.round(t.waitingMs),
              })),
            }
          : {}),
      }) + '\n',
    );
    return;
  }
  const c = result.config;
  process.stdout.write(
    `config     vocab ${c.vocab}, emb ${c.emb}, hidden ${c.hidden}, layers ${c.layers}, bs ${c.bs} × bptt ${c.bptt}, ${c.steps} timed steps\n` +
      `backend    ${result.backend} (matmul: ${result.matmul})\n` +
      (result.workers > 1
        ? `workers    ${result.workers} replicas (${result.mainThread ? `main thread + ${result.workers - 1} worker${result.workers > 2 ? 's' : ''}` : `${result.workers} workers`}), update ${result.update}\n` +
          (result.stepTiming ?? [])
            .map(
              (t, r) =>
                `step (ms)  replica ${r}: ${Object.entries(roundTiming(t))
                  .map(([k, v]) => `${k} ${v}`)
                  .join(', ')}\n`,
            )
            .join('')
        : '') +
      (result.trainThreads ?? [])
        .map(
          (t, r) =>
            `CPU (ms)   ${result.workers > 1 ? `replica ${r}` : 'train thread'}: ${t.onCpuMs.toFixed(0)} on a CPU, ${t.waitingMs.toFixed(0)} waiting for one, per step\n`,
        )
        .join('') +
      `train      ${result.trainTokensPerS.toFixed(0)} tokens/s\n` +
      `inference  ${result.inferTokensPerS.toFixed(0)} tokens/s\n` +
      `peak RSS   ${peakMb} MB\n`,
  );
}

function roundTiming(timing: StepTiming): Record<string, number> {
  return Object.fromEntries(Object.entries(timing).map(([k, v]) => [k, Math.round(v as number)]));
}
