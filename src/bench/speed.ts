/**
 * Benchmark: ulmfit vs PyTorch CPU on the same AWD-LSTM work, side by side in one run, so the
 * ratios come from the same machine load. For each config it runs `ulmfit bench --json` (a child
 * process each, so peak memory is per config) and tools/bench_torch.py at 1 thread and at the
 * machine's core count, then prints a table of tokens/s and ratios; then classification
 * inference (encoder + pooling + head) in documents/s on 500-token documents. Ends with a
 * `BENCH {json}` line for bench/run.js.
 *
 *   npm run build && node bench/run.js speed
 *   ULMFIT_BENCH_STEPS=5 node dist/bench/speed.js      # more timed steps (default 3; WT103 size: 2)
 *
 * PyTorch: $ULMFIT_TORCH_PYTHON, else /work/venv-torch/bin/python when it exists, else python3
 * when it can import torch; otherwise those columns say "n/a".
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
}

interface ConfigResult {
  name: string;
  config: SpeedConfig;
  ulmfit: Throughput & { peakRssMb: number; backend: string };
  /** By thread count; null when PyTorch is unavailable or failed. */
  torch: Record<number, Throughput | null>;
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

function runUlmfit(config: SpeedConfig): ConfigResult['ulmfit'] {
  const out = runJson(process.execPath, [join(root, 'bin', 'ulmfit.js'), 'bench', ...configArgs(config), '--json']);
  if (out === null) throw new Error('ulmfit bench failed');
  return {
    train: out.train_tokens_per_s as number,
    infer: out.infer_tokens_per_s as number,
    peakRssMb: out.peak_rss_mb as number,
    backend: out.backend as string,
  };
}

function runTorch(python: string, config: SpeedConfig, threads: number): Throughput | null {
  const out = runJson(python, [join(root, 'tools', 'bench_torch.py'), '--threads', `${threads}`, ...configArgs(config)]);
  return out === null ? null : { train: out.train_tokens_per_s as number, infer: out.infer_tokens_per_s as number };
}

const fmt = (n: number | undefined): string => (n === undefined ? 'n/a' : n >= 100 ? n.toFixed(0) : n.toFixed(1));
const ratio = (a: number, b: number | undefined): string => (b === undefined || !(b > 0) ? 'n/a' : `${(a / b).toFixed(2)}×`);

async function main(): Promise<void> {
  const steps = Number(process.env.ULMFIT_BENCH_STEPS ?? '3');
  const cores = availableParallelism();
  const threadCounts = cores > 1 ? [1, cores] : [1];
  const configs: { name: string; config: SpeedConfig }[] = [
    { name: '10000/200/600/3, 32×72', config: { vocab: 10000, emb: 200, hidden: 600, layers: 3, bs: 32, bptt: 72, steps, warmup: 1 } },
    { name: 'WT103 size 60008/400/1152/3, 16×72', config: { vocab: 60008, emb: 400, hidden: 1152, layers: 3, bs: 16, bptt: 72, steps: Math.max(1, steps - 1), warmup: 1 } },
  ];
  const python = findTorchPython();
  const torchVersion = python === null ? null : spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' }).stdout.trim();
  console.log(`cores ${cores}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} at start`);
  console.log(python === null ? 'PyTorch: unavailable (no python that can import torch)' : `PyTorch ${torchVersion} (${python})`);

  const results: ConfigResult[] = [];
  for (const { name, config } of configs) {
    const ulmfit = runUlmfit(config);
    const torch: Record<number, Throughput | null> = {};
    for (const threads of threadCounts) torch[threads] = python === null ? null : runTorch(python, config, threads);
    results.push({ name, config, ulmfit, torch });
  }

  const n = threadCounts[threadCounts.length - 1]!;
  const nCols = n > 1 ? [`PyTorch ${n} threads`] : [];
  const header = (what: string) => `| config | ulmfit ${what} | PyTorch 1 thread | ${nCols.length ? nCols[0] + ' | ' : ''}ratio vs 1 thread | ${n > 1 ? `ratio vs ${n} threads |` : ''}`;
  const sep = (cols: number) => `|${'---|'.repeat(cols)}`;
  const cols = n > 1 ? 6 : 4;
  for (const what of ['train', 'infer'] as const) {
    console.log(`\n${what === 'train' ? 'Training' : 'Inference'} tokens/s (ulmfit backend ${results[0]!.ulmfit.backend}, 1 core)`);
    console.log(header(what));
    console.log(sep(cols));
    for (const r of results) {
      const t1 = r.torch[1]?.[what];
      const tn = n > 1 ? r.torch[n]?.[what] : undefined;
      const u = r.ulmfit[what];
      const cells = [r.name, fmt(u), fmt(t1), ...(n > 1 ? [fmt(tn)] : []), ratio(u, t1), ...(n > 1 ? [ratio(u, tn)] : [])];
      console.log(`| ${cells.join(' | ')} |`);
    }
  }
  console.log('\nulmfit peak RSS: ' + results.map((r) => `${r.name}: ${r.ulmfit.peakRssMb} MB`).join('; '));

  // Classification inference: runs in this process, after the LM children.
  const clas = [
    { name: configs[0]!.name.split(',')[0]!, run: () => benchmarkClassifier({ ...configs[0]!.config, bs: 16, steps: 1, warmup: 1, backend: 'auto' }) },
    { name: 'WT103 size', run: () => benchmarkClassifier({ ...configs[1]!.config, bs: 4, steps: 1, warmup: 1, backend: 'auto' }) },
  ];
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
          torch: r.torch,
          train_ratio_1_thread: r.torch[1] ? r.ulmfit.train / r.torch[1].train : null,
          infer_ratio_1_thread: r.torch[1] ? r.ulmfit.infer / r.torch[1].infer : null,
          ...(n > 1 ? {
            [`train_ratio_${n}_threads`]: r.torch[n] ? r.ulmfit.train / r.torch[n]!.train : null,
            [`infer_ratio_${n}_threads`]: r.torch[n] ? r.ulmfit.infer / r.torch[n]!.infer : null,
          } : {}),
        })),
        classification_docs_per_s: clasResults,
      }),
  );
}

await main();
