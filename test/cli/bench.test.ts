import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { benchmarkClassifier } from '../../src/tasks/speed.js';
import { nativeExpected } from '../support/native-expected.js';
import { runUlmfit, type ProcessResult } from '../support/process.js';
import { expectJsonOutput } from '../support/json-output.js';

// The real CLI, as users run it: bin/ulmfit.js → dist/ (npm test builds first).
function ulmfit(args: string[]): Promise<ProcessResult> {
  return runUlmfit(args);
}

const TINY = [
  '--vocab',
  '40',
  '--emb',
  '6',
  '--hidden',
  '10',
  '--layers',
  '2',
  '--bs',
  '2',
  '--bptt',
  '4',
  '--steps',
  '1',
  '--warmup',
  '1',
  '--backend',
  'wasm',
];

describe('ulmfit bench', () => {
  it('--json prints train and inference tokens/s, the backend, peak memory and the config', async () => {
    const { code, stdout, stderr } = await ulmfit(['bench', ...TINY, '--json']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const out = expectJsonOutput('bench', stdout)[0] as Record<string, unknown>;
    // thread_ms (time on a CPU / waiting for one) comes from Linux's /proc/thread-self/schedstat.
    const perThread = process.platform === 'linux' ? ['thread_ms'] : [];
    expect(Object.keys(out).sort()).toEqual([
      'backend',
      'config',
      'infer_tokens_per_s',
      'matmul',
      'peak_rss_mb',
      ...perThread,
      'train_tokens_per_s',
    ]);
    expect(out.backend).toBe('wasm');
    // npm test builds the native addon; CI's machines have AVX2 (test/wasm/native.test.ts checks).
    expect(out.matmul).toBe(
      nativeExpected
        ? `native AVX2, ${availableParallelism()} thread${availableParallelism() > 1 ? 's' : ''}`
        : 'ulmfit wasm (relaxed SIMD)',
    );
    expect(out.train_tokens_per_s).toBeGreaterThan(0);
    expect(out.infer_tokens_per_s).toBeGreaterThan(0);
    expect(out.peak_rss_mb).toBeGreaterThan(0);
    expect(out.config).toEqual({
      vocab: 40,
      emb: 6,
      hidden: 10,
      layers: 2,
      bs: 2,
      bptt: 4,
      steps: 1,
      warmup: 1,
    });
  });

  it('prints a readable report without --json', async () => {
    const { code, stdout } = await ulmfit(['bench', ...TINY]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^train +\d+ tokens\/s$/m);
    expect(stdout).toMatch(/^inference +\d+ tokens\/s$/m);
    expect(stdout).toMatch(
      nativeExpected
        ? /^backend +wasm \(matmul: native AVX2, \d+ threads?\)$/m
        : /^backend +wasm \(matmul: ulmfit wasm \(relaxed SIMD\)\)$/m,
    );
    expect(stdout).toMatch(/^peak RSS +\d+ MB$/m);
  });

  it.skipIf(!nativeExpected)(
    '--threads sets the native matmul threads, --workers shares the cores out',
    async () => {
      const one = JSON.parse((await ulmfit(['bench', ...TINY, '--threads', '1', '--json'])).stdout) as Record<
        string,
        unknown
      >;
      expect(one.matmul).toBe('native AVX2, 1 thread');
      const replicas = expectJsonOutput(
        'bench',
        (await ulmfit(['bench', ...TINY, '--workers', '2', '--json'])).stdout,
      )[0] as Record<string, unknown>;
      expect(replicas.matmul).toBe(
        `native AVX2, ${Math.max(1, Math.floor(availableParallelism() / 2))} thread${availableParallelism() >= 4 ? 's' : ''} per replica`,
      );
      const off = await runUlmfit(['bench', ...TINY, '--json'], { env: { ULMFIT_NATIVE: '0' } });
      expect((JSON.parse(off.stdout) as Record<string, unknown>).matmul).toBe('ulmfit wasm (relaxed SIMD)');
    },
  );

  it.each([
    [['--threads', '0'], '--threads'],
    [['--steps', '0'], '--steps'],
    [['--vocab', 'ten'], '--vocab'],
    [['--bs', '2.5'], '--bs'],
    [['--backend', 'gpu'], '--backend'],
    [['--nope'], '--nope'],
  ])('exits 2 on a bad flag %j', async (args, named) => {
    const { code, stdout, stderr } = await ulmfit(['bench', ...args]);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain(named);
  });
});

describe('benchmarkClassifier', () => {
  it('reports documents/s of classification inference on documents of the given length', async () => {
    const result = await benchmarkClassifier({
      vocab: 40,
      emb: 6,
      hidden: 10,
      layers: 2,
      bs: 3,
      bptt: 8,
      steps: 1,
      warmup: 0,
      backend: 'wasm',
      docLen: 20,
    });
    expect(result.docsPerS).toBeGreaterThan(0);
    expect(result.docLen).toBe(20);
    expect(result.bs).toBe(3);
    expect(result.backend).toBe('wasm');
    expect(result.peakRssBytes).toBeGreaterThan(0);
  });
});
