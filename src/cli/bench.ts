import type { Command } from 'commander';
import type { CommandFlags } from '../config/schema.js';
import { BENCH } from '../config/utility.js';
import type { StepTiming } from '../train/dp-replica.js';
import { addCommand } from './options.js';
import { snakeKeys } from './json-output.js';

type BenchFlags = CommandFlags<typeof BENCH>;

export function register(program: Command): void {
  addCommand(program, BENCH).action((flags: BenchFlags) => run(flags));
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
