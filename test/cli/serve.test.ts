import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ULMFIT_BIN, runUlmfit } from '../support/process.js';
import { writeTinyClassifier } from '../infer/tiny-classifier.js';

/** `ulmfit serve` as users run it (the built CLI in a child process), on 127.0.0.1 and a free port. */

let root: string;
let clasDir: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'ulmfit-cli-serve-'));
  clasDir = join(root, 'runs', 'genres', 'model-best');
  writeTinyClassifier(clasDir);
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

interface Server {
  child: ChildProcessWithoutNullStreams;
  url: string;
  /** Everything written to stdout so far. */
  stdout(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `ulmfit serve …args` and resolves once it prints the address it listens on. */
function serve(...args: string[]): Promise<Server> {
  const child = spawn(process.execPath, [ULMFIT_BIN, 'serve', '--port', '0', '--backend', 'wasm', ...args]);
  let stdout = '';
  let stderr = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return new Promise((resolve, reject) => {
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      const address = /(http:\/\/127\.0\.0\.1:\d+)/.exec(stdout);
      if (address) resolve({ child, url: address[1]!, stdout: () => stdout, exited });
    });
    void exited.then(({ code }) =>
      reject(new Error(`ulmfit serve exited (${code}) before listening: ${stderr}`)),
    );
  });
}

async function classify(
  url: string,
  texts: string[],
): Promise<{ status: number; body: { predictions?: { label: string }[] } }> {
  const response = await fetch(`${url}/v1/classify`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ texts }),
  });
  return { status: response.status, body: (await response.json()) as { predictions?: { label: string }[] } };
}

describe('ulmfit serve', () => {
  it('serves a run directory under its run name and logs one line per request', async () => {
    const server = await serve('--model', join(root, 'runs', 'genres'));
    try {
      expect(server.stdout()).toContain(`listening on ${server.url}: genres (classifier)`);
      const answer = await classify(server.url, ['the cat and the dog', 'a car']);
      expect(answer.status).toBe(200);
      expect(answer.body.predictions).toHaveLength(2);
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    } finally {
      server.child.kill('SIGTERM');
    }
    expect(await server.exited).toEqual({ code: 0, signal: null });
    const lines = server.stdout().trim().split('\n');
    expect(
      lines.filter((l) =>
        / POST \/v1\/classify 200 [\d.]+ms model=genres items=2 batch=1\(2 items, 1 requests\)$/.test(l),
      ),
    ).toHaveLength(1);
    expect(lines.filter((l) => / GET \/healthz 200 /.test(l))).toHaveLength(1);
    expect(lines.at(-1)).toBe('SIGTERM: finishing the requests in flight');
  });

  it('on SIGTERM finishes the request in flight, then exits 0 (--log-json: JSON lines)', async () => {
    // The long batch window keeps the request queued while the signal arrives.
    const server = await serve('--model', `clf=${clasDir}`, '--batch-wait-ms', '1500', '--log-json');
    const inFlight = classify(server.url, ['the cat']);
    for (let i = 0; i < 500; i++) {
      const { models } = (await (await fetch(`${server.url}/v1/models`)).json()) as {
        models: { queue: { waiting: number } }[];
      };
      if (models[0]!.queue.waiting === 1) break; // received and queued
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    server.child.kill('SIGTERM');
    const answer = await inFlight;
    expect(answer.status).toBe(200);
    expect(answer.body.predictions).toHaveLength(1);
    expect(await server.exited).toEqual({ code: 0, signal: null });
    const entries = server
      .stdout()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(entries[0]).toMatchObject({
      listening: server.url,
      models: [{ name: 'clf', kind: 'classifier' }],
    });
    expect(entries.find((e) => e.url === '/v1/classify')).toMatchObject({
      method: 'POST',
      status: 200,
      model: 'clf',
      items: 1,
      batch: { id: 1, items: 1, requests: 1 },
    });
    expect(entries.some((e) => e.shutdown === 'SIGTERM')).toBe(true);
  });

  it('refuses a bad --model with a one-line error', async () => {
    const result = await runUlmfit(['serve', '--model', join(root, 'missing'), '--port', '0']);
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain('error [E_INPUT_MISSING]');
    expect((await runUlmfit(['serve', '--model', '=x'])).code).toBe(2);
  });
});
