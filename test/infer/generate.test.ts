import { describe, expect, it } from 'vitest';
import { UlmfitError } from '../../src/errors.js';
import {
  generate,
  type GenerateOptions,
  type GenerationTokenizer,
  type NextTokenModel,
} from '../../src/infer/generate.js';

const ITOS = [
  'xxunk',
  'xxpad',
  'xxbos',
  'xxeos',
  'xxfld',
  'xxrep',
  'xxwrep',
  'xxup',
  'xxmaj',
  'the',
  'cat',
  'sat',
  'on',
  'mat',
  '.',
  'xxfake',
];
const id = (token: string) => ITOS.indexOf(token);

/**
 * A fake LM whose logits depend on the whole history fed since reset, so a model that dropped
 * or re-fed state would produce different text. `scores(history)` gives the logits.
 */
class FakeModel implements NextTokenModel {
  history: number[] = [];
  calls: number[][] = [];
  resets = 0;
  constructor(private scores: (history: readonly number[]) => number[]) {}
  reset(): void {
    this.history = [];
    this.resets++;
  }
  nextLogits(ids: Int32Array): Float32Array {
    this.calls.push(Array.from(ids));
    this.history.push(...ids);
    return Float32Array.from(this.scores(this.history));
  }
}

/** Prefers a fixed successor of the last token, with some spread so sampling has choices. */
function chainScores(history: readonly number[]): number[] {
  const successor: Record<string, string> = {
    xxbos: 'the',
    the: 'cat',
    cat: 'sat',
    sat: 'on',
    on: 'the',
    mat: '.',
    '.': 'xxmaj',
    xxmaj: 'the',
  };
  const last = ITOS[history[history.length - 1]!]!;
  const next = successor[last] ?? 'mat';
  // Token scores also depend on the history length, as a recurrent state would.
  return ITOS.map((token, i) => (token === next ? 3 : 0) + 0.1 * Math.sin(i * history.length));
}

/** Lower-cases with an xxmaj marker and adds xxbos, like fastai's rules (without the tokenizer). */
const tokenizer: GenerationTokenizer = {
  tokenize(text) {
    const words = text.split(/\s+/).filter((w) => w.length > 0);
    return [
      'xxbos',
      ...words.flatMap((w) => (/^[A-Z][a-z]/.test(w) ? ['xxmaj', w.toLowerCase()] : [w.toLowerCase()])),
    ];
  },
  detokenize(tokens) {
    const out: string[] = [];
    let maj = false;
    for (const t of tokens) {
      if (t === 'xxbos' || t === 'xxpad') continue;
      if (t === 'xxmaj') maj = true;
      else {
        out.push(maj ? t[0]!.toUpperCase() + t.slice(1) : t);
        maj = false;
      }
    }
    return out.join(' ').replace(/ \./g, '.');
  },
};

const base: GenerateOptions = { prompt: 'The cat', words: 5, temperature: 0, seed: 42 };

describe('generate', () => {
  it('feeds the prompt once, then one token per step, and resets per sample', async () => {
    const model = new FakeModel(chainScores);
    const [result] = await generate(model, tokenizer, { itos: ITOS }, base);
    expect(model.resets).toBe(1);
    expect(model.calls[0]).toEqual([id('xxbos'), id('xxmaj'), id('the'), id('cat')]);
    expect(model.calls.slice(1).every((c) => c.length === 1)).toBe(true);
    // 5 tokens need the prompt call plus 4 single-token calls (the last token is never fed).
    expect(model.calls.length).toBe(5);
    expect(result!.tokens).toEqual(['sat', 'on', 'the', 'cat', 'sat']);
    expect(result!.prompt).toBe('The cat');
    expect(result!.text).toBe('The cat sat on the cat sat');
    expect(result!.readingOrder).toEqual(['xxbos', 'xxmaj', 'the', 'cat', 'sat', 'on', 'the', 'cat', 'sat']);
  });

  it('matches re-feeding the whole sequence every step (fastai) on a stateful model', async () => {
    const model = new FakeModel(chainScores);
    const options = { ...base, temperature: 0.8, words: 12, seed: 3 };
    const [carried] = await generate(model, tokenizer, { itos: ITOS }, options);
    // fastai's way: reset and feed prompt + everything generated, every step.
    class Refeed implements NextTokenModel {
      fed: number[] = [];
      inner = new FakeModel(chainScores);
      reset() {
        this.fed = [];
      }
      nextLogits(ids: Int32Array) {
        this.fed.push(...ids);
        this.inner.reset();
        return this.inner.nextLogits(Int32Array.from(this.fed));
      }
    }
    const [refed] = await generate(new Refeed(), tokenizer, { itos: ITOS }, options);
    expect(refed!.tokens).toEqual(carried!.tokens);
  });

  it('is deterministic when greedy and repeatable for a seed', async () => {
    const run = (options: Partial<GenerateOptions>) =>
      generate(new FakeModel(chainScores), tokenizer, { itos: ITOS }, { ...base, words: 20, ...options });
    expect(await run({ seed: 1 })).toEqual(await run({ seed: 2 }));
    const sampled = await run({ temperature: 3, seed: 7 });
    expect(await run({ temperature: 3, seed: 7 })).toEqual(sampled);
    expect((await run({ temperature: 3, seed: 8 }))[0]!.tokens).not.toEqual(sampled[0]!.tokens);
  });

  it("unit 'words' counts words of the printed text: punctuation and xxmaj are no words, the prompt does not count", async () => {
    const script = ['sat', '.', 'xxmaj', 'the', 'mat', '.', 'xxmaj', 'the', 'cat', 'sat'];
    const scripted = (history: readonly number[]): number[] =>
      ITOS.map((token) => (token === script[history.length - 4] ? 5 : 0));
    const [three] = await generate(
      new FakeModel(scripted),
      tokenizer,
      { itos: ITOS },
      { ...base, words: 3, unit: 'words' },
    );
    expect(three!.text).toBe('The cat sat. The mat.');
    expect(three!.tokens).toEqual(['sat', '.', 'xxmaj', 'the', 'mat', '.', 'xxmaj']); // stopped before `the`, the 4th word
    const [tokens] = await generate(
      new FakeModel(scripted),
      tokenizer,
      { itos: ITOS },
      { ...base, words: 3 },
    );
    expect(tokens!.tokens).toEqual(['sat', '.', 'xxmaj']);
    // A model lost in punctuation stops after MAX_TOKENS_PER_WORD (8) tokens a word.
    const dots = (): number[] => ITOS.map((token) => (token === '.' ? 5 : 0));
    const [stuck] = await generate(
      new FakeModel(dots),
      tokenizer,
      { itos: ITOS },
      { ...base, words: 2, unit: 'words' },
    );
    expect(stuck!.tokens).toHaveLength(16);
    const streamed: string[] = [];
    await generate(
      new FakeModel(scripted),
      tokenizer,
      { itos: ITOS },
      { ...base, words: 3, unit: 'words', onToken: (e) => streamed.push(e.token) },
    );
    expect(streamed).toEqual(three!.tokens); // the token that would start a 4th word is never streamed
    await expect(
      generate(new FakeModel(scripted), tokenizer, { itos: ITOS }, { ...base, words: 0, unit: 'words' }),
    ).rejects.toMatchObject({ message: 'words must be an integer ≥ 1, got 0', hint: 'e.g. --words 40' });
  });

  it('draws samples from one stream: sample 0 is the same for any --samples', async () => {
    const options = { ...base, temperature: 3, words: 15, seed: 11 };
    const model = new FakeModel(chainScores);
    const three = await generate(model, tokenizer, { itos: ITOS }, { ...options, samples: 3 });
    const one = await generate(new FakeModel(chainScores), tokenizer, { itos: ITOS }, options);
    expect(three.length).toBe(3);
    expect(model.resets).toBe(3);
    expect(three[0]).toEqual(one[0]);
    expect(new Set(three.map((s) => s.tokens.join(' '))).size).toBeGreaterThan(1);
  });

  it('never samples xxunk with noUnk (the default), nor xxpad or xxfake', async () => {
    // A model that loves the tokens that must never appear.
    const scores = () => ITOS.map((t) => (['xxunk', 'xxpad', 'xxfake'].includes(t) ? 10 : 0));
    const [result] = await generate(
      new FakeModel(scores),
      tokenizer,
      { itos: ITOS },
      { ...base, temperature: 1, words: 200 },
    );
    expect(result!.tokens.length).toBe(200);
    for (const banned of ['xxunk', 'xxpad', 'xxfake']) expect(result!.tokens).not.toContain(banned);
    const [allowed] = await generate(
      new FakeModel(scores),
      tokenizer,
      { itos: ITOS },
      { ...base, temperature: 1, words: 50, noUnk: false },
    );
    expect(allowed!.tokens).toContain('xxunk');
    expect(allowed!.tokens).not.toContain('xxpad');
  });

  it('stops at the end of a document with stopAtEos, without the stop token', async () => {
    const scores = (history: readonly number[]) =>
      ITOS.map((t) => (t === (history.length >= 6 ? 'xxeos' : 'mat') ? 5 : 0));
    const [stopped] = await generate(
      new FakeModel(scores),
      tokenizer,
      { itos: ITOS },
      { ...base, words: 10, stopAtEos: true },
    );
    expect(stopped!.tokens).toEqual(['mat', 'mat']);
    const [full] = await generate(new FakeModel(scores), tokenizer, { itos: ITOS }, { ...base, words: 10 });
    expect(full!.tokens.length).toBe(10);
    // A new document (xxbos) also ends the current one.
    const bos = () => ITOS.map((t) => (t === 'xxbos' ? 5 : 0));
    expect(
      (await generate(new FakeModel(bos), tokenizer, { itos: ITOS }, { ...base, stopAtEos: true }))[0]!
        .tokens,
    ).toEqual([]);
  });

  it('starts from xxbos alone when the prompt is empty', async () => {
    const model = new FakeModel(chainScores);
    const [result] = await generate(model, tokenizer, { itos: ITOS }, { ...base, prompt: '', words: 3 });
    expect(model.calls[0]).toEqual([id('xxbos')]);
    expect(result!.tokens).toEqual(['the', 'cat', 'sat']);
    expect(result!.text).toBe('the cat sat');
  });

  it('maps prompt words outside the vocabulary to xxunk', async () => {
    const model = new FakeModel(chainScores);
    await generate(model, tokenizer, { itos: ITOS }, { ...base, prompt: 'the zebra' });
    expect(model.calls[0]).toEqual([id('xxbos'), id('the'), id('xxunk')]);
  });

  it('generates the text before the prompt with a backwards model, reading forwards', async () => {
    // A backwards model reads right to left: after "cat" it predicts the word before it.
    const before: Record<string, string> = { cat: 'the', the: 'on', on: 'sat', sat: 'cat' };
    const scores = (history: readonly number[]) => {
      const last = ITOS[history[history.length - 1]!]!;
      return ITOS.map((t) => (t === (before[last] ?? 'mat') ? 5 : 0));
    };
    const model = new FakeModel(scores);
    const [result] = await generate(
      model,
      tokenizer,
      { itos: ITOS },
      { ...base, prompt: 'the cat', words: 3, backwards: true },
    );
    // Fed reversed, without the leading xxbos (the prompt is not the document's start).
    expect(model.calls[0]).toEqual([id('cat'), id('the')]);
    expect(result!.tokens).toEqual(['cat', 'sat', 'on']);
    expect(result!.text).toBe('cat sat on the cat');
    expect(result!.readingOrder).toEqual(['cat', 'sat', 'on', 'the', 'cat']);
  });

  it('streams each token with the text so far in reading order', async () => {
    const events: string[] = [];
    await generate(
      new FakeModel(chainScores),
      tokenizer,
      { itos: ITOS },
      {
        ...base,
        words: 2,
        samples: 2,
        onToken: (e) => events.push(`${e.sample}:${e.token}:${e.readingOrder.join(' ')}`),
        onSample: (result, sample) => events.push(`done ${sample}: ${result.text}`),
      },
    );
    expect(events).toEqual([
      '0:sat:xxbos xxmaj the cat sat',
      '0:on:xxbos xxmaj the cat sat on',
      'done 0: The cat sat on',
      '1:sat:xxbos xxmaj the cat sat',
      '1:on:xxbos xxmaj the cat sat on',
      'done 1: The cat sat on',
    ]);
  });

  it('warns once when min-p had to be skipped', async () => {
    const warnings: string[] = [];
    const flat = () => ITOS.map(() => 0);
    await generate(
      new FakeModel(flat),
      tokenizer,
      { itos: ITOS },
      {
        ...base,
        temperature: 1,
        minP: 0.5,
        onWarning: (w) => warnings.push(w),
      },
    );
    expect(warnings.length).toBe(1);
    expect(warnings[0]).toMatch(/min-p 0.5 left no token at 5 step/);
  });

  const bad: [Partial<GenerateOptions>, RegExp][] = [
    [{ words: 0 }, /words/],
    [{ words: 2.5 }, /words/],
    [{ temperature: -1 }, /temperature/],
    [{ topP: 0 }, /top-p/],
    [{ topP: 1.5 }, /top-p/],
    [{ topK: 0 }, /top-k/],
    [{ samples: 0 }, /samples/],
    [{ seed: 1.5 }, /seed/],
  ];
  it.each(bad)('rejects %o as a usage error before touching the model', async (override, message) => {
    const model = new FakeModel(chainScores);
    const error = await generate(model, tokenizer, { itos: ITOS }, { ...base, ...override }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UlmfitError);
    expect((error as UlmfitError).exitCode).toBe(2);
    expect((error as UlmfitError).message).toMatch(message);
    expect(model.calls.length).toBe(0);
  });
});
