import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { JSON_OUTPUTS, jsonSchemaOf, snakeKeys, type JsonOutput } from '../../src/cli/json-output.js';

const repo = join(import.meta.dirname, '..', '..');

describe('docs/json-output.md', () => {
  it('is what tools/gen-json-doc.mjs writes for the current schemas (rerun: npm run build && node tools/gen-json-doc.mjs)', async () => {
    const generator = (await import(pathToFileURL(join(repo, 'tools', 'gen-json-doc.mjs')).href)) as {
      jsonDoc(outputs: readonly JsonOutput[], schemaOf: (o: JsonOutput) => unknown): string;
    };
    const doc = readFileSync(join(repo, 'docs', 'json-output.md'), 'utf8');
    expect(doc, 'docs/json-output.md is out of date: run npm run build && node tools/gen-json-doc.mjs').toBe(
      generator.jsonDoc(JSON_OUTPUTS, jsonSchemaOf),
    );
  });
});

describe('the output schemas', () => {
  it('use snake_case keys only, at every depth', () => {
    const keys = (schema: unknown): string[] => {
      if (Array.isArray(schema)) return schema.flatMap(keys);
      if (schema === null || typeof schema !== 'object') return [];
      const record = schema as Record<string, unknown>;
      const own =
        record.properties && typeof record.properties === 'object' ? Object.keys(record.properties) : [];
      return [...own, ...Object.values(record).flatMap(keys)];
    };
    for (const output of JSON_OUTPUTS) {
      for (const key of keys(jsonSchemaOf(output)))
        expect(key, `${output.title}: ${key}`).toMatch(/^[a-z][a-z0-9]*(_[a-z0-9]+)*$/);
    }
  });

  it('snakeKeys converts plain objects and arrays deeply, and leaves other values alone', () => {
    expect(
      snakeKeys({ cacheHit: true, numDocs: [{ vocabSize: 1 }], dir: 'a', typed: new Float32Array(1) }),
    ).toEqual({
      cache_hit: true,
      num_docs: [{ vocab_size: 1 }],
      dir: 'a',
      typed: new Float32Array(1),
    });
  });
});
