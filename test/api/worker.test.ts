import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Classifier } from '../../src/api/classifier.js';
import { writeTinyClassifier } from '../infer/tiny-classifier.js';

/** The built package (npm test builds it before vitest runs), as a worker thread imports it. */
const DIST_INDEX = new URL('../../dist/index.js', import.meta.url);

let root: string;
let clasDir: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'ulmfit-api-worker-'));
  clasDir = join(root, 'clas');
  writeTinyClassifier(clasDir);
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

const texts = ['the cat and the dog ran', 'a tree', 'the bus and the car went by the tree'];

describe('Classifier in worker threads', () => {
  it.skipIf(!existsSync(DIST_INDEX))(
    'two workers predict concurrently what the main thread predicts',
    async () => {
      const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      import(workerData.dist).then(async ({ Classifier }) => {
        const clf = await Classifier.load(workerData.dir, { backend: 'wasm' });
        const [a, b] = await Promise.all([clf.predict(workerData.texts), clf.predict(workerData.texts[0])]);
        await clf.dispose();
        parentPort.postMessage({ a, b });
      }).catch((error) => parentPort.postMessage({ error: String(error) }));`;
      const run = (): Promise<{ a: unknown[]; b: unknown; error?: string }> =>
        new Promise((resolve, reject) => {
          const worker = new Worker(code, {
            eval: true,
            workerData: { dist: pathToFileURL(DIST_INDEX.pathname).href, dir: clasDir, texts },
          });
          worker.once('message', (message: { a: unknown[]; b: unknown; error?: string }) => {
            void worker.terminate();
            resolve(message);
          });
          worker.once('error', reject);
        });
      const [first, second] = await Promise.all([run(), run()]);
      expect(first.error).toBeUndefined();
      const clf = await Classifier.load(clasDir, { backend: 'wasm' });
      try {
        const expected = await clf.predict(texts);
        for (const result of [first, second]) {
          expect(result.a).toHaveLength(texts.length);
          (result.a as { label: string; probabilities: Record<string, number> }[]).forEach((p, i) => {
            expect(p.label).toBe(expected[i]!.label);
            for (const label of clf.labels)
              expect(p.probabilities[label]).toBeCloseTo(expected[i]!.probabilities[label]!, 5);
          });
          const alone = result.b as { label: string; probabilities: Record<string, number> };
          expect(alone.label).toBe(expected[0]!.label);
          for (const label of clf.labels)
            expect(alone.probabilities[label]).toBeCloseTo(expected[0]!.probabilities[label]!, 5);
        }
      } finally {
        await clf.dispose();
      }
    },
  );
});
