import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LanguageModel, type Generation, type TextScore } from '../../src/api/language-model.js';
import { UlmfitError } from '../../src/errors.js';
import { generate } from '../../src/infer/generate.js';
import { loadGenerator } from '../../src/infer/load-generator.js';
import { softmax } from '../../src/infer/sampling.js';
import { TINY_TEXT, writeTinyLm } from '../infer/tiny-lm.js';

let root: string;
let lmDir: string;
let itos: readonly string[];
let documentTokens: string[];

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'ulmfit-api-lm-'));
  lmDir = join(root, 'lm');
  ({ itos, tokens: documentTokens } = writeTinyLm(lmDir));
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

async function rejection(promise: Promise<unknown>): Promise<UlmfitError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(UlmfitError);
    return error as UlmfitError;
  }
  throw new Error('expected a rejection');
}

describe('LanguageModel', () => {
  it('generates what `ulmfit generate` generates with the same options', async () => {
    const lm = await LanguageModel.load(lmDir, { backend: 'wasm' });
    const reference = await loadGenerator(lmDir, 'wasm');
    try {
      // `tokens` counts model tokens (fastai's n_words), `words` words of text: as the CLI's --tokens and --words.
      const options = { tokens: 12, temperature: 0.8, topK: 10, seed: 3 };
      const { tokens: _, ...sampling } = options;
      const [expected] = await generate(reference.model, reference.tokenizer, reference.vocab, {
        prompt: 'The cat',
        ...sampling,
        words: 12,
        noUnk: true,
      });
      const got = await lm.generate('The cat', options);
      expect(got).toEqual({ prompt: 'The cat', text: expected!.text, tokens: expected!.tokens });
      expect(got.tokens).toHaveLength(12);
      const [inWords] = await generate(reference.model, reference.tokenizer, reference.vocab, {
        prompt: 'The cat',
        ...sampling,
        words: 5,
        unit: 'words',
        noUnk: true,
      });
      expect(await lm.generate('The cat', { ...sampling, words: 5 })).toEqual({
        prompt: 'The cat',
        text: inWords!.text,
        tokens: inWords!.tokens,
      });
      expect((await rejection(lm.generate('x', { words: 5, tokens: 5 }))).code).toBe('E_USAGE');
      const samples = await lm.generateSamples('The cat', 3, options);
      expect(samples).toHaveLength(3);
      expect(samples[0]).toEqual(got);
      expect((await rejection(lm.generate('x', { temperature: -1 }))).code).toBe('E_USAGE');
      expect((await rejection(lm.generate('x', { words: 0 }))).code).toBe('E_USAGE');
    } finally {
      reference.dispose();
      await lm.dispose();
    }
  });

  it('streams the same tokens generate returns, and frees the model when the reader leaves early', async () => {
    const lm = await LanguageModel.load(lmDir, { backend: 'wasm' });
    try {
      const options = { words: 10, seed: 5 };
      const whole = await lm.generate('It was', options);
      const streamed: string[] = [];
      let lastText = '';
      for await (const { token, text } of lm.stream('It was', options)) {
        streamed.push(token);
        lastText = text;
      }
      expect(streamed).toEqual(whole.tokens);
      expect(lastText).toBe(whole.text);
      let taken = 0;
      for await (const _ of lm.stream('It was', { words: 50, seed: 5 })) if (++taken === 2) break;
      expect(taken).toBe(2);
      expect(await lm.generate('It was', options)).toEqual(whole); // the lock was released, the state reset
    } finally {
      await lm.dispose();
    }
  });

  it('scores a text as the sum of its next-token losses, fed one token at a time', async () => {
    const lm = await LanguageModel.load(lmDir, { backend: 'wasm' });
    const reference = await loadGenerator(lmDir, 'wasm');
    try {
      const stoi = new Map(itos.map((token, id) => [token, id]));
      const ids = documentTokens.map((token) => stoi.get(token)!);
      reference.model.reset();
      let lossSum = 0;
      for (let i = 0; i + 1 < ids.length; i++) {
        const probabilities = softmax(await reference.model.nextLogits(Int32Array.of(ids[i]!)));
        lossSum -= Math.log(probabilities[ids[i + 1]!]!);
      }
      const score = await lm.score(TINY_TEXT);
      expect(score.tokens).toBe(ids.length - 1);
      expect(score.loss).toBeCloseTo(lossSum / (ids.length - 1), 4);
      expect(score.perplexity).toBeCloseTo(Math.exp(score.loss), 6);
      const [again, other] = await lm.score([TINY_TEXT, 'The mat sat on the cat.']);
      expect(again).toEqual(score);
      expect(other!.loss).not.toBe(score.loss);
    } finally {
      reference.dispose();
      await lm.dispose();
    }
  });

  it('gives concurrent callers what sequential calls give: generate, stream and score never interleave', async () => {
    const lm = await LanguageModel.load(lmDir, { backend: 'wasm' });
    try {
      const prompts = ['The cat', 'It was', 'On the mat', ''];
      const sequentialGen: Generation[] = [];
      for (const [i, prompt] of prompts.entries())
        sequentialGen.push(await lm.generate(prompt, { words: 15, seed: i }));
      const sequentialScore: TextScore[] = await lm.score(prompts.map((p) => `${p} was happy.`));
      const collect = async (prompt: string, seed: number): Promise<string[]> => {
        const tokens: string[] = [];
        for await (const { token } of lm.stream(prompt, { words: 15, seed })) tokens.push(token);
        return tokens;
      };
      const [generated, scored, streamed] = await Promise.all([
        Promise.all(prompts.map((prompt, i) => lm.generate(prompt, { words: 15, seed: i }))),
        Promise.all(prompts.map((p) => lm.score(`${p} was happy.`))),
        Promise.all(prompts.map((prompt, i) => collect(prompt, i))),
      ]);
      expect(generated).toEqual(sequentialGen);
      expect(scored).toEqual(sequentialScore);
      expect(streamed).toEqual(sequentialGen.map((g) => g.tokens));
    } finally {
      await lm.dispose();
    }
  });

  it('loads a shipped model by name; refuses a classifier and a missing model with codes', async () => {
    const lm = await LanguageModel.load('brown-lm', { backend: 'wasm' });
    try {
      const { text } = await lm.generate('She looked at him and', { words: 5, temperature: 0 });
      expect(text.startsWith('She looked at him and')).toBe(true);
    } finally {
      await lm.dispose();
    }
    const clasDir = join(root, 'clas');
    writeTinyLm(clasDir, { kind: 'classifier' });
    expect((await rejection(LanguageModel.load(clasDir, { backend: 'wasm' }))).code).toBe('E_MODEL_DIR');
    expect((await rejection(LanguageModel.load('no-such-model', { backend: 'wasm' }))).code).toBe(
      'E_INPUT_MISSING',
    );
    const disposed = await LanguageModel.load(lmDir, { backend: 'wasm' });
    await disposed.dispose();
    expect((await rejection(disposed.generate('x'))).code).toBe('E_USAGE');
  });
});
