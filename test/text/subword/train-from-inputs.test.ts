import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UlmfitError } from '../../../src/errors.js';
import { applyPreRules } from '../../../src/text/rules.js';
import { defaultTokenizerSettings } from '../../../src/text/settings.js';
import { countUniqueWords, fastaiVocabSize } from '../../../src/text/subword/defaults.js';
import { decodeModelProto } from '../../../src/text/subword/model-proto.js';
import { rulePreprocessor } from '../../../src/text/subword/subword-tokenizer.js';
import {
  trainSubwordModelFromInputs,
  type SubwordTrainingProgress,
} from '../../../src/text/subword/train-from-inputs.js';

describe('trainSubwordModelFromInputs (fastai SentencePieceTokenizer.setup)', () => {
  it("applies the rules, sizes the vocab by fastai's rule and reports progress", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ulmfit-spm-train-'));
    const raw = readFileSync('fixtures/spm/train.txt', 'utf8')
      .split('\n')
      .filter(Boolean)
      .slice(0, 400)
      .map((line) => line.replace(/xxbos xxmaj /g, '').replace(/^./, (c) => c.toUpperCase()));
    const file = join(dir, 'docs.txt');
    writeFileSync(file, raw.join('\n') + '\n');
    const stages = new Set<SubwordTrainingProgress['stage']>();
    const settings = defaultTokenizerSettings();
    const trained = await trainSubwordModelFromInputs([file], {
      settings,
      lineDocs: true,
      onProgress: (p) => stages.add(p.stage),
    });

    const processed = raw.map((line) => applyPreRules(line));
    expect(trained.vocabSizeAsked).toBe(fastaiVocabSize(countUniqueWords(processed)));
    expect(trained.lines).toBe(400);
    expect(trained.subword).toEqual({
      vocabSize: decodeModelProto(trained.model).pieces.length,
      characterCoverage: 0.99999,
      modelFile: 'spm.model',
    });
    expect([...stages]).toEqual(expect.arrayContaining(['input', 'seed', 'em', 'done']));
  });

  it('needs file inputs', async () => {
    let error: unknown;
    try {
      await trainSubwordModelFromInputs(['-'], { settings: defaultTokenizerSettings() });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UlmfitError);
    expect((error as UlmfitError).code).toBe('E_USAGE');
  });

  it('trains on the text the tokenizer sees (rules, or lower-casing alone without them)', () => {
    expect(rulePreprocessor(defaultTokenizerSettings())('Hello WORLD')).toBe('xxbos xxmaj hello xxup world');
    expect(rulePreprocessor(defaultTokenizerSettings({ rules: false }))('Hello WORLD')).toBe('Hello WORLD');
    expect(rulePreprocessor(defaultTokenizerSettings({ rules: false, lowercase: true }))('Hello WORLD')).toBe(
      'hello world',
    );
  });
});
