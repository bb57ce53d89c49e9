/**
 * Benchmark: ulmfit vs PyTorch CPU on the same AWD-LSTM work, side by side in one run. For each
 * config it runs rounds (ULMFIT_BENCH_ROUNDS, default 3) of, back to back: `ulmfit bench --json`
 * on 1 thread, tools/bench_torch.py on 1 thread, ulmfit as one replica whose native matmuls use
 * every core (what training does by default), PyTorch on as many threads, and ulmfit as that
 * many data-parallel workers of one thread each; a child process each, so peak memory is per
 * run. These shared machines change speed by ±30% from minute to minute, so each ratio is taken
 * within a round, from two runs seconds apart, and the table gives the median of the rounds'
 * ratios with their range, and the median tokens/s. Then classification inference (encoder +
 * pooling + head) in documents/s on 500-token documents. Ends with a `BENCH {json}` line for
 * bench/run.js.
 *
 *   npm run build && node bench/run.js speed
 *   ULMFIT_BENCH_STEPS=5 node dist/bench/speed.js      # more timed steps (default 3; WT103 size: 2)
 *   ULMFIT_BENCH_ROUNDS=5 node dist/bench/speed.js     # more rounds (default 3)
 *   ULMFIT_BENCH_CONFIGS=small node dist/bench/speed.js # only the 10000/200/600 config
 *
 * PyTorch: $ULMFIT_TORCH_PYTHON (e.g. the venv tools/setup_torch_venv.sh makes), else python3
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

type UlmfitThroughput = Throughput & {
  peakRssMb: number;
  backend: string;
  matmul: string;
  threadMs?: ThreadMs[];
};

/** The runs of one round, back to back so a change in the machine's load hits both sides alike. */
interface Round {
  ulmfit1: UlmfitThroughput;
  torch1: Throughput | null;
  /** One replica whose native matmuls use all N cores: what training does by default. */
  ulmfitThreaded?: UlmfitThroughput;
  torchN?: Throughput | null;
  /** N data-parallel replicas of one thread each (`--train-workers N`). */
  ulmfitWorkers?: UlmfitThroughput;
  /** 1-minute load average before each run. */
  load: Record<string, number>;
}

interface ConfigResult {
  name: string;
  config: SpeedConfig;
  rounds: Round[];
}

/** A python that can import torch, or null. */
function findTorchPython(): string | null {
  const candidates = [process.env.ULMFIT_TORCH_PYTHON, 'python3'].filter((p): p is string => Boolean(p));
  for (const python of candidates) {
    if (python.includes('/') && !existsSync(python)) continue;
    const probe = spawnSync(python, ['-c', 'import torch'], { stdio: 'ignore' });
    if (probe.status === 0) return python;
  }
  return null;
}

function configArgs(c: SpeedConfig): string[] {
  return [
    '--vocab',
    `${c.vocab}`,
    '--emb',
    `${c.emb}`,
    '--hidden',
    `${c.hidden}`,
    '--layers',
    `${c.layers}`,
    '--bs',
    `${c.bs}`,
    '--bptt',
    `${c.bptt}`,
    '--steps',
    `${c.steps}`,
    '--warmup',
    `${c.warmup}`,
  ];
}

/** Runs a command that prints one JSON object on its last stdout line; null (with a note) on failure. */
function runJson(command: string, args: string[]): Record<string, unknown> | null {
  const child = spawnSync(command, args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const last = (child.stdout ?? '').trim().split('\n').pop() ?? '';
  if (child.status !== 0 || !last.startsWith('{')) {
    process.stderr.write(
      `${command} ${args.join(' ')} failed (exit ${child.status}): ${(child.stderr ?? '').trim().split('\n').pop() ?? ''}\n`,
    );
    return null;
  }
  return JSON.parse(last) as Record<string, unknown>;
}

/** `ulmfit bench` with `workers` replicas of `threads` native matmul threads each. */
function runUlmfit(config: SpeedConfig, workers: number, threads: number): UlmfitThroughput {
  const dpArgs =
    workers > 1
      ? ['--workers', `${workers}`, ...(process.env.ULMFIT_BENCH_DP_ARGS ?? '').split(' ').filter(Boolean)]
      : [];
  const out = runJson(process.execPath, [
    join(root, 'bin', 'ulmfit.js'),
    'bench',
    ...configArgs(config),
    ...dpArgs,
    '--threads',
    `${threads}`,
    '--json',
  ]);
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
  const out = runJson(python, [
    join(root, 'tools', 'bench_torch.py'),
    '--threads',
    `${threads}`,
    ...configArgs(config),
  ]);
  if (out === null) return null;
  const cpu = out.train_cpu_ms as ThreadMs | undefined;
  return {
    train: out.train_tokens_per_s as number,
    infer: out.infer_tokens_per_s as number,
    trainCpu: cpu && { onCpu: cpu.on_cpu, waiting: cpu.waiting },
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The median of `pick` over the rounds where it is defined; undefined where it never is. */
function medianOf(rounds: Round[], pick: (r: Round) => number | undefined): number | undefined {
  const values = rounds.map(pick).filter((v): v is number => v !== undefined && Number.isFinite(v));
  return values.length === 0 ? undefined : median(values);
}

/** Per round ulmfit / PyTorch, from the two runs of that round: their median, min and max. */
function ratios(
  rounds: Round[],
  pick: (r: Round) => [number | undefined, number | undefined],
): { median: number; min: number; max: number } | undefined {
  const values = rounds
    .map(pick)
    .filter(([u, t]) => u !== undefined && t !== undefined && t > 0)
    .map(([u, t]) => u! / t!);
  return values.length === 0
    ? undefined
    : { median: median(values), min: Math.min(...values), max: Math.max(...values) };
}

function sumThreads(threads: ThreadMs[] | undefined): Throughput['trainCpu'] {
  if (threads === undefined) return undefined;
  return {
    onCpu: threads.reduce((n, t) => n + t.on_cpu, 0),
    waiting: threads.reduce((n, t) => n + t.waiting, 0),
  };
}

const fmt = (n: number | undefined): string =>
  n === undefined ? 'n/a' : n >= 100 ? n.toFixed(0) : n.toFixed(1);
const fmtRatio = (r: ReturnType<typeof ratios>): string =>
  r === undefined ? 'n/a' : `${r.median.toFixed(2)}× (${r.min.toFixed(2)}–${r.max.toFixed(2)})`;

async function main(): Promise<void> {
  const steps = Number(process.env.ULMFIT_BENCH_STEPS ?? '3');
  const roundCount = Math.max(1, Number(process.env.ULMFIT_BENCH_ROUNDS ?? '3'));
  const cores = availableParallelism();
  const n = cores;
  const wanted = (process.env.ULMFIT_BENCH_CONFIGS ?? 'small,wt103').split(',');
  const configs: { key: string; name: string; clasName: string; clasBs: number; config: SpeedConfig }[] = [
    {
      key: 'small',
      name: '10000/200/600/3, 32×72',
      clasName: '10000/200/600/3',
      clasBs: 16,
      config: { vocab: 10000, emb: 200, hidden: 600, layers: 3, bs: 32, bptt: 72, steps, warmup: 2 },
    },
    {
      key: 'wt103',
      name: 'WT103 size 60008/400/1152/3, 16×72',
      clasName: 'WT103 size',
      clasBs: 4,
      config: {
        vocab: 60008,
        emb: 400,
        hidden: 1152,
        layers: 3,
        bs: 16,
        bptt: 72,
        steps: Math.max(1, steps - 1),
        warmup: 2,
      },
    },
  ].filter((c) => wanted.includes(c.key));
  const python = findTorchPython();
  const torchVersion =
    python === null
      ? null
      : spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], {
          encoding: 'utf8',
        }).stdout.trim();
  console.log(
    `cores ${cores}, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} at start; ${roundCount} rounds`,
  );
  console.log(
    python === null
      ? 'PyTorch: unavailable (no python that can import torch)'
      : `PyTorch ${torchVersion} (${python})`,
  );

  const results: ConfigResult[] = [];
  for (const { name, config } of configs) {
    const rounds: Round[] = [];
    for (let round = 0; round < roundCount; round++) {
      const load: Record<string, number> = {};
      const measure = <T>(key: string, run: () => T): T => {
        load[key] = loadavg()[0]!;
        return run();
      };
      const ulmfit1 = measure('ulmfit 1', () => runUlmfit(config, 1, 1));
      const torch1 = measure('torch 1', () => (python === null ? null : runTorch(python, config, 1)));
      const entry: Round = { ulmfit1, torch1, load };
      if (n > 1) {
        entry.ulmfitThreaded = measure(`ulmfit 1x${n}`, () => runUlmfit(config, 1, n));
        entry.torchN = measure(`torch ${n}`, () => (python === null ? null : runTorch(python, config, n)));
        entry.ulmfitWorkers = measure(`ulmfit ${n} workers`, () => runUlmfit(config, n, 1));
      }
      rounds.push(entry);
    }
    results.push({ name, config, rounds });
  }

  const summaries = results.map((r) => {
    const summary = (what: 'train' | 'infer') => ({
      ulmfit1: medianOf(r.rounds, (x) => x.ulmfit1[what]),
      torch1: medianOf(r.rounds, (x) => x.torch1?.[what]),
      ratio1: ratios(r.rounds, (x) => [x.ulmfit1[what], x.torch1?.[what]]),
      ulmfitThreaded: medianOf(r.rounds, (x) => x.ulmfitThreaded?.[what]),
      ulmfitWorkers: medianOf(r.rounds, (x) => x.ulmfitWorkers?.[what]),
      torchN: medianOf(r.rounds, (x) => x.torchN?.[what]),
      ratioN: ratios(r.rounds, (x) => [x.ulmfitThreaded?.[what], x.torchN?.[what]]),
      ratioWorkers: ratios(r.rounds, (x) => [x.ulmfitWorkers?.[what], x.torchN?.[what]]),
    });
    return { train: summary('train'), infer: summary('infer') };
  });

  for (const what of ['train', 'infer'] as const) {
    const first = results[0]!.rounds[0]!.ulmfit1;
    console.log(
      `\n${what === 'train' ? 'Training' : 'Inference'} tokens/s, median of ${roundCount} rounds; ratios: median (min–max) of each round's ulmfit / PyTorch (ulmfit backend ${first.backend}, matmul ${first.matmul}; N = ${n} = the core count)`,
    );
    const columns = ['config', 'ulmfit 1 thread', 'PyTorch 1 thread', 'ratio at 1'];
    if (n > 1)
      columns.push(
        `ulmfit ${n} threads (default)`,
        `PyTorch ${n} threads`,
        `ratio at ${n}`,
        `ulmfit ${n} workers`,
        'its ratio',
      );
    console.log(`| ${columns.join(' | ')} |`);
    console.log(`|${'---|'.repeat(columns.length)}`);
    results.forEach((r, i) => {
      const s = summaries[i]![what];
      const cells = [r.name, fmt(s.ulmfit1), fmt(s.torch1), fmtRatio(s.ratio1)];
      if (n > 1)
        cells.push(
          fmt(s.ulmfitThreaded),
          fmt(s.torchN),
          fmtRatio(s.ratioN),
          fmt(s.ulmfitWorkers),
          fmtRatio(s.ratioWorkers),
        );
      console.log(`| ${cells.join(' | ')} |`);
    });
  }
  console.log(
    '\nload average (1 min) before each run: ' +
      results
        .map(
          (r) =>
            `${r.name}: ${r.rounds
              .map(
                (x, i) =>
                  `round ${i + 1} ${Object.entries(x.load)
                    .map(([k, v]) => `${k} ${v.toFixed(2)}`)
                    .join(', ')}`,
              )
              .join('; ')}`,
        )
        .join('; '),
  );
  // The load shows here: a thread that waits for a CPU as long as it runs got half a core. CPU
  // seconds per step (all training threads) compare the work done, whatever the load.
  console.log(
    "\nTraining CPU time per step, ms on a CPU / ms waiting for one (Linux; median of the rounds): all of the process's threads, except for workers: their training threads",
  );
  const cpuColumns = [
    'config',
    'ulmfit 1 thread',
    'PyTorch 1 thread',
    ...(n > 1 ? [`ulmfit ${n} threads`, `PyTorch ${n} threads`, `ulmfit ${n} workers`] : []),
  ];
  console.log(`| ${cpuColumns.join(' | ')} |`);
  console.log(`|${'---|'.repeat(cpuColumns.length)}`);
  const cpuCell = (rounds: Round[], pick: (r: Round) => Throughput | null | undefined): string => {
    const onCpu = medianOf(rounds, (x) => pick(x)?.trainCpu?.onCpu);
    const waiting = medianOf(rounds, (x) => pick(x)?.trainCpu?.waiting);
    return onCpu === undefined ? 'n/a' : `${onCpu.toFixed(0)} / ${(waiting ?? 0).toFixed(0)}`;
  };
  for (const r of results) {
    const cells = [r.name, cpuCell(r.rounds, (x) => x.ulmfit1), cpuCell(r.rounds, (x) => x.torch1)];
    if (n > 1)
      cells.push(
        cpuCell(r.rounds, (x) => x.ulmfitThreaded),
        cpuCell(r.rounds, (x) => x.torchN),
        cpuCell(r.rounds, (x) => x.ulmfitWorkers),
      );
    console.log(`| ${cells.join(' | ')} |`);
  }
  console.log(
    'ulmfit peak RSS (round 1): ' +
      results
        .map((r) => {
          const first = r.rounds[0]!;
          return `${r.name}: 1 thread ${first.ulmfit1.peakRssMb} MB${first.ulmfitThreaded ? `, ${n} threads ${first.ulmfitThreaded.peakRssMb} MB` : ''}${first.ulmfitWorkers ? `, ${n} workers ${first.ulmfitWorkers.peakRssMb} MB` : ''}`;
        })
        .join('; '),
  );

  // Classification inference: runs in this process, after the LM children.
  const clas = configs.map((c) => ({
    name: c.clasName,
    run: () => benchmarkClassifier({ ...c.config, bs: c.clasBs, steps: 1, warmup: 1, backend: 'auto' }),
  }));
  const clasResults: { name: string; docsPerS: number; bs: number }[] = [];
  console.log('\nClassification inference (encoder + pooling + head), 500-token documents, ulmfit');
  console.log('| encoder | batch | docs/s |');
  console.log('|---|---|---|');
  for (const { name, run } of clas) {
    const r = await run();
    clasResults.push({ name, docsPerS: r.docsPerS, bs: r.bs });
    console.log(`| ${name} | ${r.bs} | ${r.docsPerS.toFixed(2)} |`);
  }
  console.log(
    `load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} at end`,
  );
  console.log(
    'BENCH ' +
      JSON.stringify({
        name: 'speed',
        cores,
        torch: torchVersion,
        rounds: roundCount,
        lm: results.map((r, i) => ({
          config: r.config,
          rounds: r.rounds,
          median: summaries[i],
          train_ratio_1_thread: summaries[i]!.train.ratio1?.median ?? null,
          infer_ratio_1_thread: summaries[i]!.infer.ratio1?.median ?? null,
          ...(n > 1
            ? {
                [`train_ratio_${n}_threads`]: summaries[i]!.train.ratioN?.median ?? null,
                [`infer_ratio_${n}_threads`]: summaries[i]!.infer.ratioN?.median ?? null,
              }
            : {}),
        })),
        classification_docs_per_s: clasResults,
      }),
  );
}

await main();
