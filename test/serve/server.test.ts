import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Classifier } from '../../src/api/classifier.js';
import { LanguageModel } from '../../src/api/language-model.js';
import {
  createServer,
  type RequestLog,
  type ServeOptions,
  type UlmfitServer,
} from '../../src/serve/server.js';
import { writeTinyClassifier } from '../infer/tiny-classifier.js';
import { writeTinyLm } from '../infer/tiny-lm.js';

let root: string;
let clasDir: string;
let lmDir: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'ulmfit-serve-'));
  clasDir = join(root, 'clas');
  lmDir = join(root, 'lm');
  writeTinyClassifier(clasDir);
  writeTinyLm(lmDir);
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

interface Running {
  server: UlmfitServer;
  url: string;
  logs: RequestLog[];
}

/** A server on 127.0.0.1, a free port, with the tiny classifier and LM. */
async function start(options: Partial<ServeOptions> = {}): Promise<Running> {
  const logs: RequestLog[] = [];
  const server = await createServer({
    models: [
      { name: 'clf', ref: clasDir },
      { name: 'lm', ref: lmDir },
    ],
    backend: 'wasm',
    onLog: (entry) => logs.push(entry),
    ...options,
  });
  const url = await server.listen(0, '127.0.0.1');
  return { server, url, logs };
}

interface Answer {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the JSON body as parsed; each test reads the fields it expects of that route.
  body: Record<string, any>;
}

async function post(url: string, body: unknown, raw = false): Promise<Answer> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: raw ? (body as string) : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Answer['body'] };
}

/** Polls `condition` until it holds. */
async function waitFor(condition: () => Promise<boolean>): Promise<void> {
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, 10));
}

const sentences = [
  'the cat and the dog ran',
  'a tree',
  'the bus and the car and the truck went by the tree',
  'dog',
  'flowers in the garden',
];

describe('ulmfit serve: routes', () => {
  let running: Running;
  beforeAll(async () => {
    running = await start();
  });
  afterAll(() => running.server.close());

  it('classifies texts in order, as Classifier.predict does, with top_k', async () => {
    const { status, body } = await post(`${running.url}/v1/classify`, { texts: sentences, top_k: 2 });
    expect(status).toBe(200);
    expect(body.model).toBe('clf');
    const clf = await Classifier.load(clasDir, { backend: 'wasm' });
    try {
      const expected = await clf.predict(sentences);
      expect(body.predictions).toHaveLength(sentences.length);
      body.predictions.forEach(
        (
          p: { label: string; probabilities: Record<string, number>; top_k: { label: string }[] },
          i: number,
        ) => {
          expect(p.label).toBe(expected[i]!.label);
          for (const label of clf.labels)
            expect(p.probabilities[label]).toBeCloseTo(expected[i]!.probabilities[label]!, 5);
          expect(p.top_k).toHaveLength(2);
          expect(p.top_k[0]!.label).toBe(p.label);
        },
      );
    } finally {
      await clf.dispose();
    }
  });

  it('generates as LanguageModel.generate does', async () => {
    const { status, body } = await post(`${running.url}/v1/generate`, {
      prompt: 'The cat',
      words: 6,
      seed: 3,
      top_k: 5,
      samples: 2,
    });
    expect(status).toBe(200);
    const lm = await LanguageModel.load(lmDir, { backend: 'wasm' });
    try {
      const expected = await lm.generateSamples('The cat', 2, { words: 6, seed: 3, topK: 5 });
      expect(body).toEqual({
        model: 'lm',
        prompt: 'The cat',
        samples: expected.map((g) => ({ text: g.text, tokens: g.tokens })),
      });
    } finally {
      await lm.dispose();
    }
  });

  it('lists its models and answers health checks', async () => {
    const models = (await (await fetch(`${running.url}/v1/models`)).json()) as {
      models: { name: string; kind: string; labels?: string[] }[];
    };
    expect(models.models.map((m) => [m.name, m.kind])).toEqual([
      ['clf', 'classifier'],
      ['lm', 'lm'],
    ]);
    expect(models.models[0]!.labels).toEqual(['animal', 'plant', 'vehicle']);
    expect(await (await fetch(`${running.url}/healthz`)).json()).toEqual({ status: 'ok' });
  });

  it('answers bad requests 400 and unknown models or routes 404, with a code, and keeps serving', async () => {
    const bad: [unknown, boolean?][] = [
      ['{"texts": [', true], // not JSON
      [{}], // no texts
      [{ texts: 'one text' }], // not an array
      [{ texts: [1, 2] }], // not strings
      [{ texts: ['x'], topK: 2 }], // unknown field (a typo of top_k)
      [{ texts: ['x'], top_k: 0 }],
    ];
    for (const [body, raw] of bad) {
      const answer = await post(`${running.url}/v1/classify`, body, raw);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.body.error.code).toBe('E_USAGE');
      expect(answer.body.error.message).toMatch(/\S/);
    }
    expect((await post(`${running.url}/v1/generate`, { prompt: 'x', temperature: -1 })).status).toBe(400);
    expect((await post(`${running.url}/v1/generate`, { prompt: 'x', top_p: 0 })).status).toBe(400);
    const unknownModel = await post(`${running.url}/v1/classify`, { texts: ['x'], model: 'nope' });
    expect(unknownModel.status).toBe(404);
    expect(unknownModel.body.error.message).toContain("no classifier named 'nope'");
    expect((await post(`${running.url}/v1/nothing`, {})).status).toBe(404);
    expect((await post(`${running.url}/v1/classify`, { texts: ['still serving'] })).status).toBe(200);
    expect(await post(`${running.url}/v1/classify`, { texts: [] })).toEqual({
      status: 200,
      body: { model: 'clf', predictions: [] },
    });
    expect(running.logs.filter((l) => l.status === 400).every((l) => l.error?.code === 'E_USAGE')).toBe(true);
  });
});

describe('ulmfit serve: limits, batching, shutdown', () => {
  it('answers 413 to a body, a text count or a text length over the limits', async () => {
    const running = await start({ maxBodyBytes: 2000, maxTexts: 3, maxTextChars: 50 });
    try {
      const big = await post(`${running.url}/v1/classify`, { texts: ['word '.repeat(500)] });
      expect(big.status).toBe(413);
      expect(big.body.error.message).toContain('larger than the limit');
      const many = await post(`${running.url}/v1/classify`, { texts: ['a', 'b', 'c', 'd'] });
      expect([many.status, many.body.error.message]).toEqual([413, '4 texts in one request; the limit is 3']);
      const long = await post(`${running.url}/v1/classify`, { texts: ['short', 'x'.repeat(51)] });
      expect([long.status, long.body.error.message]).toEqual([
        413,
        'text 1 has 51 characters; the limit is 50',
      ]);
      expect((await post(`${running.url}/v1/generate`, { prompt: 'x'.repeat(51) })).status).toBe(413);
      expect((await post(`${running.url}/v1/classify`, { texts: ['a', 'b', 'c'] })).status).toBe(200);
    } finally {
      await running.server.close();
    }
  });

  it('merges concurrent requests into one batch, each answered as if alone', async () => {
    // The batch starts when its 5th document arrives (max batch 5), however slowly they come.
    const running = await start({ batchWaitMs: 60_000, maxBatch: 5 });
    const clf = await Classifier.load(clasDir, { backend: 'wasm' });
    try {
      const answers = await Promise.all(
        sentences.map((text) => post(`${running.url}/v1/classify`, { texts: [text] })),
      );
      for (const [i, answer] of answers.entries()) {
        expect(answer.status).toBe(200);
        const alone = await clf.predict(sentences[i]!);
        for (const label of clf.labels)
          expect(answer.body.predictions[0].probabilities[label]).toBeCloseTo(alone.probabilities[label]!, 5);
      }
      expect(running.logs).toHaveLength(sentences.length);
      expect(running.logs.every((l) => l.items === 1)).toBe(true);
      expect(running.logs.map((l) => l.batch)).toEqual(
        sentences.map(() => ({ id: 1, items: sentences.length, requests: sentences.length })),
      );
      const models = (await (await fetch(`${running.url}/v1/models`)).json()) as {
        models: { queue: { batches: number; items: number } }[];
      };
      expect(models.models[0]!.queue).toMatchObject({ batches: 1, items: sentences.length });
    } finally {
      await clf.dispose();
      await running.server.close();
    }
  });

  it('answers 429 once the queue is full, and the queued requests still succeed', async () => {
    // The batch window outlasts the test: the queue holds its 3 until shutdown starts them.
    const running = await start({ maxQueue: 3, maxTexts: 3, batchWaitMs: 60_000 });
    const answers = Array.from({ length: 6 }, (_, i) =>
      post(`${running.url}/v1/classify`, { texts: [sentences[i % 5]!] }),
    );
    await waitFor(async () => {
      const { models } = (await (await fetch(`${running.url}/v1/models`)).json()) as {
        models: { queue: { waiting: number; refused: number } }[];
      };
      return models[0]!.queue.waiting === 3 && models[0]!.queue.refused === 3;
    });
    await running.server.close();
    const statuses = (await Promise.all(answers)).map((a) => a.status).sort();
    expect(statuses).toEqual([200, 200, 200, 429, 429, 429]);
    const refused = (await Promise.all(answers)).find((a) => a.status === 429)!;
    expect(refused.body.error.code).toBe('E_OVERLOADED');
    expect(refused.body.error.message).toContain('the queue is full');
  });

  it('answers 503 E_TIMEOUT when a request is not answered in time', async () => {
    const running = await start({ timeoutMs: 100, batchWaitMs: 1000 });
    try {
      const answer = await post(`${running.url}/v1/classify`, { texts: ['late'] });
      expect(answer.status).toBe(503);
      expect(answer.body.error.code).toBe('E_TIMEOUT');
    } finally {
      await running.server.close();
    }
  });

  it('shuts down gracefully: the request in flight is answered, later ones are refused', async () => {
    const running = await start({ batchWaitMs: 400 });
    const inFlight = post(`${running.url}/v1/classify`, { texts: ['the cat'] });
    await waitFor(async () => {
      const { models } = (await (await fetch(`${running.url}/v1/models`)).json()) as {
        models: { queue: { waiting: number } }[];
      };
      return models[0]!.queue.waiting === 1; // received and queued
    });
    const closed = running.server.close();
    const answer = await inFlight;
    await closed;
    expect(answer.status).toBe(200);
    expect(answer.body.predictions).toHaveLength(1);
    await expect(fetch(`${running.url}/healthz`)).rejects.toThrow();
  });

  it('refuses to start without a model, with two of one name, or with an encoder', async () => {
    await expect(createServer({ models: [] })).rejects.toMatchObject({ code: 'E_USAGE' });
    await expect(
      createServer({
        models: [
          { name: 'a', ref: clasDir },
          { name: 'a', ref: lmDir },
        ],
        backend: 'wasm',
      }),
    ).rejects.toMatchObject({ code: 'E_USAGE' });
    const encoderDir = join(root, 'encoder');
    writeTinyLm(encoderDir, { kind: 'encoder' });
    await expect(
      createServer({ models: [{ name: 'e', ref: encoderDir }], backend: 'wasm' }),
    ).rejects.toMatchObject({ code: 'E_MODEL_DIR' });
  });
});
