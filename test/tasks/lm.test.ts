import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readModelDir } from '../../src/io/artifact.js';
import { tokenizeCorpus } from '../../src/text/pipeline.js';
import { defaultTokenizerSettings } from '../../src/text/settings.js';
import { toFloat32 } from '../../src/io/tensors.js';
import { Rng } from '../../src/random.js';
import { findLanguageModelLr, trainLanguageModel, type LmTrainOptions } from '../../src/tasks/lm.js';
import { evaluateLanguageModel } from '../../src/tasks/lm-eval.js';
import { UlmfitError } from '../../src/errors.js';
import { lossCurveSvg } from '../../src/cli/lr-plot.js';

const WORDS = 'the cat sat on a mat and dog ran to big red house while bird sang in tree'.split(' ');

function corpusFile(dir: string, name: string, lines: number, seed: number, words = WORDS): string {
  const rng = new Rng(seed);
  const text = Array.from(
    { length: lines },
    () => Array.from({ length: 20 }, () => words[rng.int(words.length)]).join(' ') + '.',
  ).join('\n');
  const path = join(dir, name);
  writeFileSync(path, text + '\n');
  return path;
}

function tiny(
  dir: string,
  inputs: string[],
  out: string,
  extra: Partial<LmTrainOptions> = {},
): LmTrainOptions {
  return {
    inputs,
    out: join(dir, out),
    lineDocs: true,
    minFreq: 1,
    noCache: true,
    workers: 0,
    emb: 8,
    hidden: 12,
    layers: 2,
    bs: 4,
    bptt: 8,
    backend: 'wasm',
    seed: 1,
    stages: [{ freezeTo: 0, epochs: 2, lr: 1e-2 }],
    ...extra,
  };
}

/** The UlmfitError a promise rejects with. */
async function errorOf(promise: Promise<unknown>): Promise<UlmfitError> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UlmfitError);
  return error as UlmfitError;
}

function weightsOf(dir: string): Map<string, number[]> {
  const loaded = readModelDir(dir);
  return new Map([...loaded.weights].map(([name, t]) => [name, Array.from(toFloat32(t))]));
}

describe('trainLanguageModel', () => {
  it('pretrains: the loss falls and the run directory holds every artifact', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ulmfit-lm-'));
    const input = corpusFile(dir, 'a.txt', 60, 1);
    const result = await trainLanguageModel(
      tiny(dir, [input], 'run', { stages: [{ freezeTo: 0, epochs: 3, lr: 3e-2 }], saveEncoder: true }),
    );
    expect(result.history).toHaveLength(3);
    expect(result.history[2]!.trainLoss).toBeLessThan(result.history[0]!.trainLoss);
    const lm = readModelDir(join(dir, 'run', 'model-best'), { kind: ['lm'] });
    expect(lm.meta.arch.emb_sz).toBe(8);
    expect(lm.weights.has('0.encoder.weight')).toBe(true);
    const encoder = readModelDir(join(dir, 'run', 'encoder'), { kind: ['encoder'] });
    expect(encoder.weights.has('encoder.weight')).toBe(true);
    expect(encoder.weights.has('1.decoder.bias')).toBe(false);
    const metrics = readFileSync(join(dir, 'run', 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n');
    expect(metrics).toHaveLength(3);
  });

  it('config sets exact dropouts over drop_mult, and the model directory records them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ulmfit-lm-config-'));
    const input = corpusFile(dir, 'a.txt', 20, 3);
    const config = { embed_p: 0, input_p: 0, weight_p: 0, hidden_p: 0, output_p: 0.4 };
    await trainLanguageModel(
      tiny(dir, [input], 'run', { dropMult: 0.5, config, stages: [{ freezeTo: 0, epochs: 1, lr: 1e-2 }] }),
    );
    const arch = readModelDir(join(dir, 'run', 'model-last'), { kind: ['lm'] }).meta.arch;
    expect(arch).toMatchObject({ ...config, emb_sz: 8, n_hid: 12, n_layers: 2 });
    expect(JSON.parse(readFileSync(join(dir, 'run', 'config.json'), 'utf8')).config).toEqual(config);
  });

  it('a run interrupted after epoch 1 and resumed ends with the same weights as an uninterrupted one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ulmfit-resume-'));
    const input = corpusFile(dir, 'a.txt', 40, 2);
    await trainLanguageModel(tiny(dir, [input], 'full'));
    let epochs = 0;
    await expect(
      trainLanguageModel(
        tiny(dir, [input], 'cut', {
          onEpochEnd: () => {
            epochs += 1;
            if (epochs === 1) throw new Error('simulated crash');
          },
        }),
      ),
    ).rejects.toThrow('simulated crash');
    await trainLanguageModel(tiny(dir, [input], 'cut', { resume: true }));
    const full = weightsOf(join(dir, 'full', 'model-last'));
    const resumed = weightsOf(join(dir, 'cut', 'model-last'));
    expect([...resumed.keys()]).toEqual([...full.keys()]);
    for (const [name, values] of full) expect(resumed.get(name), name).toEqual(values);
  });

  it('fine-tunes a pretrained model on text with another vocab, transferring known words', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ulmfit-ft-'));
    const general = corpusFile(dir, 'general.txt', 40, 3);
    await trainLanguageModel(tiny(dir, [general], 'pre'));
    const domain = corpusFile(dir, 'domain.txt', 30, 4, [...WORDS.slice(0, 10), 'zebra', 'quark']);
    const result = await trainLanguageModel(
      tiny(dir, [domain], 'ft', {
        pretrained: join(dir, 'pre'),
        keepPretrainedVocab: true,
        stages: [
          { freezeTo: -1, epochs: 1, lr: 2e-2 },
          { freezeTo: 0, epochs: 1, lr: 2e-3 },
        ],
      }),
    );
    expect(result.transferFound).toBeGreaterThan(10);
    expect(result.transferFound).toBeLessThan(result.vocabSize);
    const ft = readModelDir(join(dir, 'ft', 'model-last'), { kind: ['lm'] });
    expect(ft.vocab).toContain('zebra');
    expect(ft.meta.arch.emb_sz).toBe(8);
    // keepPretrainedVocab: the encoder keeps the pretrained words the domain text lacks, after the
    // domain's own, with the pretrained rows; the language models keep the vocab they were trained
    // and scored in. By default (fastai's) the encoder has the corpus's vocab only.
    expect(ft.vocab).toHaveLength(result.vocabSize);
    const pre = readModelDir(join(dir, 'pre', 'model-last'), { kind: ['lm'] });
    const missing = pre.vocab.filter((t) => !t.startsWith('xxfake') && !ft.vocab.includes(t));
    expect(missing.length).toBeGreaterThan(0);
    const encoder = readModelDir(join(dir, 'ft', 'encoder'), { kind: ['encoder'] });
    expect(encoder.vocab).toEqual([...ft.vocab, ...missing]);
    const rows = toFloat32(encoder.weights.get('encoder.weight')!);
    const preRows = toFloat32(pre.weights.get('0.encoder.weight')!);
    const ftRows = toFloat32(ft.weights.get('0.encoder.weight')!);
    expect(Array.from(rows.subarray(0, ftRows.length))).toEqual(Array.from(ftRows));
    const word = missing[0]!;
    const [at, from] = [encoder.vocab.indexOf(word), pre.vocab.indexOf(word)];
    expect(Array.from(rows.subarray(at * 8, at * 8 + 8))).toEqual(
      Array.from(preRows.subarray(from * 8, from * 8 + 8)),
    );

    const only = await trainLanguageModel(
      tiny(dir, [domain], 'ft-only', {
        pretrained: join(dir, 'pre'),
        stages: [{ freezeTo: -1, epochs: 1, lr: 2e-2 }],
      }),
    );
    expect(readModelDir(join(dir, 'ft-only', 'encoder'), { kind: ['encoder'] }).vocab).toHaveLength(
      only.vocabSize,
    );
  });

  it('a completed run removes checkpoint/ and draws training.svg; --resume then has nothing to resume; keepCheckpoint keeps it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ulmfit-lm-done-'));
    const input = corpusFile(dir, 'a.txt', 20, 8);
    const info: string[] = [];
    const result = await trainLanguageModel(tiny(dir, [input], 'run', { onInfo: (m) => info.push(m) }));
    const run = join(dir, 'run');
    expect(existsSync(join(run, 'checkpoint'))).toBe(false);
    expect(readdirSync(run).filter((n) => /\.(tmp|old)-\d+$/.test(n))).toEqual([]);
    expect(result.plot).toBe(join(run, 'training.svg'));
    expect(readFileSync(result.plot, 'utf8')).toContain('<path');
    expect(info.at(-1)).toBe(
      `training curves: ${result.plot}; checkpoint/ removed (--keep-checkpoint keeps it)`,
    );
    const again = await errorOf(trainLanguageModel(tiny(dir, [input], 'run', { resume: true })));
    expect(again.code).toBe('E_USAGE');
    const today = new Date().toISOString().slice(0, 10);
    expect(again.message).toBe(
      `nothing to resume: ${run} completed all 2 epochs of its recipe on ${today} (its checkpoint/ was removed at the end; --keep-checkpoint keeps it)`,
    );
    expect(JSON.parse(readFileSync(join(run, 'config.json'), 'utf8')).completedAt.slice(0, 10)).toBe(today);

    await trainLanguageModel(tiny(dir, [input], 'kept', { keepCheckpoint: true }));
    expect(existsSync(join(dir, 'kept', 'checkpoint', 'state.json'))).toBe(true);
    const kept = await errorOf(trainLanguageModel(tiny(dir, [input], 'kept', { resume: true })));
    expect(kept.message).toBe(
      `nothing to resume: ${join(dir, 'kept')} completed all 2 epochs of its recipe on ${today}`,
    );
  });

  it('fine-tuning: dropMult scales the pretrained dropouts, and the before score is the pretrained model in the corpus vocab', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ulmfit-ft-before-'));
    const general = corpusFile(dir, 'general.txt', 30, 9);
    await trainLanguageModel(
      tiny(dir, [general], 'pre', { dropMult: 0.5, stages: [{ epochs: 1, lr: 1e-2 }] }),
    );
    const domainWords = [...WORDS.slice(0, 12), 'zebra', 'quark'];
    const domain = corpusFile(dir, 'domain.txt', 24, 10, domainWords);
    const valid = corpusFile(dir, 'valid.txt', 8, 11, domainWords);
    const before: number[] = [];
    const result = await trainLanguageModel(
      tiny(dir, [domain], 'ft', {
        pretrained: join(dir, 'pre'),
        valid: [valid],
        dropMult: 0.3,
        stages: [{ freezeTo: -1, epochs: 1, lr: 2e-2 }],
        onBeforeTraining: (score) => before.push(score.validLoss),
      }),
    );
    const pre = readModelDir(join(dir, 'pre', 'model-last'), { kind: ['lm'] }).meta.arch;
    const ft = readModelDir(join(dir, 'ft', 'model-last'), { kind: ['lm'] }).meta.arch;
    for (const key of ['hidden_p', 'input_p', 'embed_p', 'weight_p', 'output_p'] as const)
      expect(ft[key]).toBeCloseTo(pre[key] * 0.3, 10);
    expect(pre.output_p).toBeCloseTo(0.05, 10); // fastai's 0.1 × 0.5
    expect(result.before).not.toBeNull();
    expect(before).toEqual([result.before!.validLoss]);
    // The same number `ulmfit evaluate --vocab-from` gives: the pretrained model in the fine-tuning vocab, same batches.
    const evaluated = await evaluateLanguageModel({
      model: join(dir, 'pre'),
      inputs: [valid],
      vocabFrom: [domain],
      minFreq: 1,
      lineDocs: true,
      noCache: true,
      workers: 0,
      bs: 4,
      bptt: 8,
      backend: 'wasm',
    });
    expect(result.before!.validLoss).toBeCloseTo(evaluated.loss, 5);
    expect(result.before!.accuracy).toBeCloseTo(evaluated.accuracy, 6);
    expect(result.before!.perplexity).toBeCloseTo(Math.exp(evaluated.loss), 3);
  });

  it('refuses a non-empty --out and a pretrained model of the other direction', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ulmfit-refuse-'));
    const input = corpusFile(dir, 'a.txt', 20, 5);
    await trainLanguageModel(tiny(dir, [input], 'pre', { stages: [{ epochs: 1, lr: 1e-2 }] }));
    await expect(trainLanguageModel(tiny(dir, [input], 'pre'))).rejects.toThrow(/not empty/);
    await expect(
      trainLanguageModel(tiny(dir, [input], 'bw', { pretrained: join(dir, 'pre'), backwards: true })),
    ).rejects.toThrow(/forwards language model/);
  });

  it("fine-tunes in the pretrained model's direction when none is given", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ulmfit-direction-'));
    const input = corpusFile(dir, 'a.txt', 20, 5);
    await trainLanguageModel(
      tiny(dir, [input], 'pre-bw', { backwards: true, stages: [{ epochs: 1, lr: 1e-2 }] }),
    );
    const messages: string[] = [];
    const result = await trainLanguageModel(
      tiny(dir, [input], 'ft-bw', {
        pretrained: join(dir, 'pre-bw'),
        stages: [{ epochs: 1, lr: 1e-2 }],
        onInfo: (m) => messages.push(m),
      }),
    );
    expect(readModelDir(join(result.runDir, 'model-last')).meta.backwards).toBe(true);
    expect(messages.some((m) => m.startsWith('backwards model ('))).toBe(true);
    await expect(
      trainLanguageModel(tiny(dir, [input], 'ft-fw', { pretrained: join(dir, 'pre-bw'), backwards: false })),
    ).rejects.toThrow(/backwards language model but this run is forwards/);
  });

  it('lr-find runs an exponential lr sweep and suggests a valley', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ulmfit-lrfind-'));
    const input = corpusFile(dir, 'a.txt', 40, 6);
    const { out: _out, stages: _stages, ...options } = tiny(dir, [input], 'unused');
    const result = await findLanguageModelLr({ ...options, find: { numIt: 30, endLr: 1 } });
    expect(result.lrs.length).toBeGreaterThanOrEqual(6);
    for (let i = 1; i < result.lrs.length; i++) expect(result.lrs[i]!).toBeGreaterThan(result.lrs[i - 1]!);
    expect(result.valley).not.toBeNull();
    expect(result.valley!.lr).toBeGreaterThan(1e-7);
    const svg = lossCurveSvg(result.lrs, result.losses, result.valley!.lr);
    expect(svg).toMatch(/^<svg/);
    expect(svg).toContain('valley');
  });

  it('pretrains on a subword corpus directory and ships its spm.model with the model', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ulmfit-subword-'));
    const input = corpusFile(dir, 'a.txt', 30, 7);
    const spmModel = readFileSync(new URL('../../fixtures/spm/ulmfit.model', import.meta.url));
    const settings = defaultTokenizerSettings({
      kind: 'subword',
      subword: { vocabSize: 0, characterCoverage: 1, modelFile: 'spm.model' },
    });
    const corpus = await tokenizeCorpus([input], {
      settings,
      spmModel,
      lineDocs: true,
      minFreq: 1,
      noCache: true,
      workers: 0,
      out: join(dir, 'corpus'),
    });
    const { inputs: _inputs, lineDocs: _lineDocs, ...options } = tiny(dir, [], 'run');
    await trainLanguageModel({ ...options, inputs: [corpus.dir], stages: [{ epochs: 1, lr: 1e-2 }] });
    const lm = readModelDir(join(dir, 'run', 'model-last'), { kind: ['lm'] });
    expect((lm.tokenizer as { kind: string }).kind).toBe('subword');
    expect(Buffer.from(lm.spmModel!).equals(spmModel)).toBe(true);
  });
});
