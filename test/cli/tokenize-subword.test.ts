import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openCorpus } from '../../src/text/corpus.js';
import { applyPreRules } from '../../src/text/rules.js';
import { loadSubwordEncoder } from '../../src/text/subword/encoder.js';
import { decodeModelProto } from '../../src/text/subword/model-proto.js';
import { runUlmfit, type ProcessResult } from '../support/process.js';

// The real CLI (bin/ulmfit.js → dist/; npm test builds first).
function ulmfit(args: string[], input = ''): Promise<ProcessResult> {
  return runUlmfit(args, { env: { ULMFIT_CACHE_DIR: cacheDir }, input });
}

const cacheDir = mkdtempSync(join(tmpdir(), 'ulmfit-subword-cache-'));
const trainText = 'fixtures/spm/train.txt';

describe('ulmfit tokenize --subword', () => {
  it('trains spm.model on the inputs and stores it in the corpus directory', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'ulmfit-subword-')), 'corpus');
    const run = await ulmfit([
      'tokenize',
      trainText,
      '--line-docs',
      '--subword',
      '--vocab-size',
      '300',
      '--out',
      out,
    ]);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/trained spm\.model: 300 pieces on 930 lines/);
    const settings = JSON.parse(readFileSync(join(out, 'tokenizer.json'), 'utf8'));
    expect(settings).toMatchObject({
      kind: 'subword',
      lang: 'en',
      subword: { vocabSize: 300, characterCoverage: 0.99999, modelFile: 'spm.model' },
    });
    const model = new Uint8Array(readFileSync(join(out, 'spm.model')));
    expect(
      decodeModelProto(model)
        .pieces.slice(0, 3)
        .map((p) => p.piece),
    ).toEqual(['▁xxunk', '▁xxpad', '▁xxbos']);

    // The corpus holds the pieces of the rule-processed documents (the rules run again on this
    // already processed text: a second xxbos).
    const encoder = await loadSubwordEncoder(model);
    const firstLine = applyPreRules(readFileSync(trainText, 'utf8').split('\n')[0]!);
    const corpus = openCorpus(out);
    try {
      const pieces = Array.from(corpus.doc(0), (id) => corpus.vocab.itos[id]);
      const expected = encoder.encode(firstLine).map((p) => (corpus.vocab.itos.includes(p) ? p : 'xxunk'));
      expect(pieces).toEqual(expected);
    } finally {
      corpus.close();
    }

    // The directory carries its tokenizer: reusing it as --vocab tokenizes new text the same way.
    const again = await ulmfit(['tokenize', '-', '--vocab', out, '--quiet'], 'The jury said hello.\n');
    expect(again.code).toBe(0);
    expect(again.stdout.trim().split(' ')).toEqual(encoder.encode('xxbos xxmaj the jury said hello.'));
  });

  it('tokenizes with a given --spm-model, as spm_encode would after the rules', async () => {
    const expected = JSON.parse(readFileSync('fixtures/spm/expected.json', 'utf8'));
    const probe = expected.probes[1] as string; // already rule-processed
    const run = await ulmfit(
      ['tokenize', '-', '--no-rules', '--spm-model', 'fixtures/spm/spm_train.model', '--quiet'],
      probe + '\n',
    );
    expect(run.code).toBe(0);
    expect(run.stdout.trim().split(' ')).toEqual(expected.spm_train[1]);
  });

  it('explains what cannot work', async () => {
    const stdin = await ulmfit(['tokenize', '-', '--subword'], 'some text\n');
    expect(stdin.code).toBe(2);
    expect(stdin.stderr).toMatch(/error \[E_USAGE\]: training a subword model needs file inputs/);
    const size = await ulmfit(['tokenize', '-', '--vocab-size', '100'], 'some text\n');
    expect(size.code).toBe(2);
    expect(size.stderr).toMatch(/--vocab-size is for subword tokenizers/);
    const bad = await ulmfit(['tokenize', '-', '--spm-model', trainText], 'some text\n');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(
      /error \[E_CHECKPOINT\]: fixtures\/spm\/train\.txt is not a SentencePiece model/,
    );
    const missing = await ulmfit(['tokenize', '-', '--spm-model', 'no/such.model'], 'some text\n');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/E_INPUT_MISSING/);
  });
});
