/**
 * Benchmark: ulmfit vs PyTorch CPU on the same AWD-LSTM work, side by side in one run, so the
 * ratios come from the same machine load. For each config it runs `ulmfit bench --json` (a child
 * process each, so peak memory is per config) on 1 thread, with data-parallel workers as many as
 * the machine has cores (one matmul thread each), and as one replica whose native matmuls use
 * every core; and tools/bench_torch.py at 1 thread and at the core count, interleaved (ulmfit 1,
 * PyTorch 1, ulmfit N workers, PyTorch N, ulmfit 1 × N threads) so a change in load hits both
 * sides; then it prints tokens/s and the ratios at 1 thread and at N (ulmfit vs PyTorch N
 * threads), with the load average before each run; then classification
 * inference (encoder + pooling + head) in documents/s on 500-token documents. Ends with a
 * `BENCH {json}` line for bench/run.js.
 *
 *   npm run build && node bench/run.js speed
 *   ULMFIT_BENCH_STEPS=5 node dist/bench/speed.js      # more timed steps (default 3; WT103 size: 2)
 *   ULMFIT_BENCH_CONFIGS=small node dist/bench/speed.js # only the 10000/200/600 config
 *
 * PyTorch: $ULMFIT_TORCH_PYTHON, else /work/venv-torch/bin/python when it exists, else python3
 * when it can import torch; otherwise those columns say "n/a".
 * ULMFIT_BENCH_DP_ARGS adds flags to the data-parallel ulmfit runs (e.g. "--no-main-thread").
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchmarkClassifier, type SpeedConfig } from '../tasks/speed.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

interface Throughput {
  train: number;
  infer: number;
  /** Per timed training step, ms on a CPU and waiting for one, summed over the training threads (Linux). */
  trainCpu?: { onCpu: number; waiting: number } | undefined;
}

/** Per training thread: ms per step on a CPU and waiting for one (Linux; from `ulmfit bench --json`). */
interface ThreadMs {
  on_cpu: number;
  waiting: number;
}

type UlmfitThroughput = Throughput & { peakRssMb: number; backend: string; matmul: string; threadMs?: ThreadMs[] };

interface ConfigResult {
  name: string;
  config: SpeedConfig;
  /** By worker count (1 = single thread), each worker one thread. */
  ulmfit: Record<number, UlmfitThroughput>;
  /** One replica whose matmuls run on every core (the default without --train-workers); absent on one core. */
  ulmfitThreaded?: UlmfitThroughput;
  /** By thread count; null when PyTorch is unavailable or failed. */
  torch: Record<number, Throughput | null>;
  /** 1-minute load average before each run, by `ulmfit N` / `torch N`. */
  load: Record<string, number>;
}

/** A python that can import torch, or null. */
function findTorchPython(): string | null {
  const candidates = [process.env.ULMFIT_TORCH_PYTHON, '/work/venv-torch/bin/python', 'python3'].filter((p): p is string => Boolean(p));
  for (const python of candidates) {
    if (python.includes('/') && !existsSync(python)) continue;
    const probe = spawnSync(python, ['-c', 'import torch'], { stdio: 'ignore' });
    if (probe.status === 0) return python;
  }
  return null;
}

function configArgs(c: SpeedConfig): string[] {
  return ['--vocab', `${c.vocab}`, '--emb', `${c.emb}`, '--hidden', `${c.hidden}`, '--layers', `${c.layers}`, '--bs', `${c.bs}`, '--bptt', `${c.bptt}`, '--steps', `${c.steps}`, '--warmup', `${c.warmup}`];
}

/** Runs a command that prints one JSON object on its last stdout line; null (with a note) on failure. */
function runJson(command: string, args: string[]): Record<string, unknown> | null {
  const child = spawnSync(command, args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const last = (child.stdout ?? '').trim().split('\n').pop() ?? '';
  if (child.status !== 0 || !last.startsWith('{')) {
    process.stderr.write(`${command} ${args.join(' ')} failed (exit ${child.status}): ${(child.stderr ?? '').trim().split('\n').pop() ?? ''}\n`);
    return null;
  }
  return JSON.parse(last) as Record<string, unknown>;
}

/** `ulmfit bench` with `workers` replicas of `threads` native matmul threads each. */
function runUlmfit(config: SpeedConfig, workers: number, threads: number): UlmfitThroughput {
  const dpArgs = workers > 1 ? ['--workers', `${workers}`, ...(process.env.ULMFIT_BENCH_DP_ARGS ?? '').split(' ').filter(Boolean)] : [];
  const out = runJson(process.execPath, [join(root, 'bin', 'ulmfit.js'), 'bench', ...configArgs(config), ...dpArgs, '--threads', `${threads}`, '--json']);
  if (out === null) throw new Error('ulmfit bench failed');
  return {
    train: out.train_tokens_per_s as number,
    infer: out.infer_tokens_per_s as number,
    peakRssMb: out.peak_rss_mb as number,
    backend: out.backend as string,
    matmul: out.matmul as string,
    ...(out.thread_ms ? { threadMs: out.thread_ms as ThreadMs[] } : {}),
    trainCpu: sumThreads(out.thread_ms as ThreadMs[] | undefined),
  };
}

function runTorch(python: string, config: SpeedConfig, threads: number): Throughput | null {
  const out = runJson(python, [join(root, 'tools', 'bench_torch.py'), '--threads', `${threads}`, ...configArgs(config)]);
  if (out === null) return null;
  const cpu = out.train_cpu_ms as ThreadMs | undefined;
  return { train: out.train_tokens_per_s as number, infer: out.infer_tokens_per_s as number, trainCpu: cpu && { onCpu: cpu.on_cpu, waiting: cpu.waiting } };
}

function sumThreads(threads: ThreadMs[] | undefined): Throughput['trainCpu'] {
  if (threads === undefined) return undefined;
  return { onCpu: threads.reduce((n, t) => n + t.on_cpu, 0), waiting: threads.reduce((n, t) => n + t.waiting, 0) };
}

const fmt = (n: number | undefined): string => (n === undefined ? 'n/a' : n >= 100 ? n.toFixed(0) : n.toFixed(1));
const ratio = (a: number, b: number | undefined): string => (b === undefined || !(b > 0) ? 'n/a' : `${(a / b).toFixed(2)}×`);

async function main(): Promise<void> {
  const steps = Number(process.env.ULMFIT_BENCH_STEPS ?? '3');
  const cores = availableParallelism();
  const threadCounts = cores > 1 ? [1, cores] : [1];
  const wanted = (process.env.ULMFIT_BENCH_CONFIGS ?? 'small,wt103').split(',');
  const configs: { key: string; name: string; clasName: string; clasBs: number; config: SpeedConfig }[] = [
    { key: 'small', name: '10000/200/600/3, 32×72', clasName: '10000/200/600/3', clasBs: 16, config: { vocab: 10000, emb: 200, hidden: 600, layers: 3, bs: 32, bptt: 72, steps, warmup: 1 } },
    { key: 'wt103', name: 'WT103 size 60008/400/1152/3, 16×72', clasName: 'WT103 size', clasBs: 4, config: { vocab: 60008, emb: 400, hidden: 1152, layers: 3, bs: 16, bptt: 72, steps: Math.max(1, steps - 1), warmup: 1 } },
  ].filter((c) => wanted.includes(c.key));
  const python = findTorchPython();
  const torchVersion = python === null ? null : spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' }).stdout.trim();
  console.log(`cores ${cores}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} at start`);
  console.log(python === null ? 'PyTorch: unavailable (no python that can import torch)' : `PyTorch ${torchVersion} (${python})`);

  const results: ConfigResult[] = [];
  for (const { name, config } of configs) {
    const ulmfit: Record<number, UlmfitThroughput> = {};
    const torch: Record<number, Throughput | null> = {};
    const load: Record<string, number> = {};
    let ulmfitThreaded: UlmfitThroughput | undefined;
    for (const threads of threadCounts) {
      load[`ulmfit ${threads}`] = loadavg()[0]!;
      ulmfit[threads] = runUlmfit(config, threads, 1);
      load[`torch ${threads}`] = loadavg()[0]!;
      torch[threads] = python === null ? null : runTorch(python, config, threads);
      if (threads > 1) {
        load[`ulmfit 1x${threads}`] = loadavg()[0]!;
        ulmfitThreaded = runUlmfit(config, 1, threads);
      }
    }
    results.push({ name, config, ulmfit, torch, load, ...(ulmfitThreaded ? { ulmfitThreaded } : {}) });
  }

  const n = threadCounts[threadCounts.length - 1]!;
  for (const what of ['train', 'infer'] as const) {
    const first = results[0]!.ulmfit[1]!;
    console.log(`\n${what === 'train' ? 'Training' : 'Inference'} tokens/s (ulmfit backend ${first.backend}, matmul ${first.matmul}; N = ${n} = the core count)`);
    const columns = ['config', 'ulmfit 1 thread', 'PyTorch 1 thread', 'ratio at 1'];
    if (n > 1) columns.push(`ulmfit ${n} workers`, `PyTorch ${n} threads`, `ratio at ${n}`, `ulmfit 1 replica × ${n} threads`, `its ratio`);
    console.log(`| ${columns.join(' | ')} |`);
    console.log(`|${'---|'.repeat(columns.length)}`);
    for (const r of results) {
      const u1 = r.ulmfit[1]![what];
      const t1 = r.torch[1]?.[what];
      const cells = [r.name, fmt(u1), fmt(t1), ratio(u1, t1)];
      if (n > 1) {
        const un = r.ulmfit[n]![what];
        const tn = r.torch[n]?.[what];
        const threaded = r.ulmfitThreaded?.[what];
        cells.push(fmt(un), fmt(tn), ratio(un, tn), fmt(threaded), threaded === undefined ? 'n/a' : ratio(threaded, tn));
      }
      console.log(`| ${cells.join(' | ')} |`);
    }
  }
  console.log('\nload average (1 min) before each run: ' + results.map((r) => `${r.name}: ${Object.entries(r.load).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')}`).join('; '));
  // The load shows here: a thread that waits for a CPU as long as it runs got half a core. CPU
  // seconds per step (all training threads) compare the work done, whatever the load.
  console.log('\nTraining CPU time per step, ms on a CPU / ms waiting for one (all training threads; Linux)');
  const cpuColumns = ['config', 'ulmfit 1 thread', 'PyTorch 1 thread', ...(n > 1 ? [`ulmfit ${n} workers`, `PyTorch ${n} threads`] : [])];
  console.log(`| ${cpuColumns.join(' | ')} |`);
  console.log(`|${'---|'.repeat(cpuColumns.length)}`);
  const cpuCell = (t: Throughput | null | undefined): string => (t?.trainCpu ? `${t.trainCpu.onCpu} / ${t.trainCpu.waiting}` : 'n/a');
  for (const r of results) {
    const cells = [r.name, cpuCell(r.ulmfit[1]), cpuCell(r.torch[1]), ...(n > 1 ? [cpuCell(r.ulmfit[n]), cpuCell(r.torch[n])] : [])];
    console.log(`| ${cells.join(' | ')} |`);
  }
  console.log('ulmfit training threads, ms per step on a CPU / waiting for one: ' + results.map((r) => `${r.name}: ${threadCounts.map((w) => `${w} worker${w > 1 ? 's' : ''} ${(r.ulmfit[w]!.threadMs ?? []).map((t) => `${t.on_cpu}/${t.waiting}`).join(' + ') || 'n/a'}`).join(', ')}`).join('; '));
  console.log('ulmfit peak RSS: ' + results.map((r) => `${r.name}: ${threadCounts.map((w) => `${w} worker${w > 1 ? 's' : ''} ${r.ulmfit[w]!.peakRssMb} MB`).join(', ')}`).join('; '));

  // Classification inference: runs in this process, after the LM children.
  const clas = configs.map((c) => ({ name: c.clasName, run: () => benchmarkClassifier({ ...c.config, bs: c.clasBs, steps: 1, warmup: 1, backend: 'auto' }) }));
  const clasResults: { name: string; docsPerS: number; bs: number }[] = [];
  console.log('\nClassification inference (encoder + pooling + head), 500-token documents, ulmfit');
  console.log('| encoder | batch | docs/s |');
  console.log('|---|---|---|');
  for (const { name, run } of clas) {
    const r = await run();
    clasResults.push({ name, docsPerS: r.docsPerS, bs: r.bs });
    console.log(`| ${name} | ${r.bs} | ${r.docsPerS.toFixed(2)} |`);
  }
  console.log(`load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} at end`);
  console.log(
    'BENCH ' +
      JSON.stringify({
        name: 'speed',
        cores,
        torch: torchVersion,
        lm: results.map((r) => ({
          config: r.config,
          ulmfit: r.ulmfit,
          ...(r.ulmfitThreaded ? { ulmfit_one_replica_all_threads: r.ulmfitThreaded } : {}),
          torch: r.torch,
          load: r.load,
          train_ratio_1_thread: r.torch[1] ? r.ulmfit[1]!.train / r.torch[1].train : null,
          infer_ratio_1_thread: r.torch[1] ? r.ulmfit[1]!.infer / r.torch[1].infer : null,
          ...(n > 1 ? {
            [`train_ratio_${n}_threads`]: r.torch[n] ? r.ulmfit[n]!.train / r.torch[n]!.train : null,
            [`infer_ratio_${n}_threads`]: r.torch[n] ? r.ulmfit[n]!.infer / r.torch[n]!.infer : null,
          } : {}),
        })),
        classification_docs_per_s: clasResults,
      }),
  );
}

await main();
