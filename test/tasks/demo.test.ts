import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readModelDir } from '../../src/io/artifact.js';
import { AWD_LSTM_LM_CONFIG, withDropMult } from '../../src/model/awd-lstm.js';
import {
  FULL_PLAN,
  QUICK_PLAN,
  pretrainFlags,
  runDemo,
  SHIPPED_RECIPE,
  shippedPretrainedModel,
} from '../../src/tasks/demo.js';
import { writeDemoData } from '../../src/tasks/demo-data.js';
import { tokenizeCorpus } from '../../src/text/pipeline.js';
import { parseRecipe } from '../../src/train/recipe.js';

describe('the shipped pretrained model (fixtures/pretrained/brown-lm)', () => {
  it("is what fixtures/pretrained/README.md says: the full plan's corpus, architecture and recipe", async () => {
    const dir = shippedPretrainedModel();
    expect(dir).toBeDefined();
    const model = readModelDir(dir!, { kind: ['lm'] });
    const { emb, hidden, layers } = FULL_PLAN.arch;
    const dropouts = withDropMult(
      { ...AWD_LSTM_LM_CONFIG, emb_sz: emb, n_hid: hidden, n_layers: layers },
      FULL_PLAN.dropMult,
    );
    expect(model.meta.arch).toMatchObject({ ...dropouts });
    expect(model.meta.training).toMatchObject({ seed: 42, stages: parseRecipe(SHIPPED_RECIPE) });
    const readme = readFileSync(new URL('../../fixtures/pretrained/README.md', import.meta.url), 'utf8');
    expect(readme).toMatch(
      new RegExp(
        `ulmfit(?:\\.js)? pretrain \\S+ --out \\S+ ${pretrainFlags(FULL_PLAN, SHIPPED_RECIPE, 42).join(' ')}\n`,
      ),
    );

    // Its vocab is the one the demo's tokenize step builds from data/pretrain.
    const root = mkdtempSync(join(tmpdir(), 'ulmfit-demo-fixture-'));
    const data = writeDemoData(
      join(root, 'data'),
      { ...FULL_PLAN.data, classes: [], labeledPerClass: 0, validPerClass: 0 },
      42,
    );
    const corpus = await tokenizeCorpus([data.pretrainDir], {
      noCache: true,
      out: join(root, 'corpus'),
      minFreq: FULL_PLAN.minFreq,
      maxVocab: FULL_PLAN.maxVocab,
    });
    expect(corpus.stats.numDocs).toBe(371);
    expect(JSON.parse(readFileSync(join(root, 'corpus', 'vocab.json'), 'utf8'))).toEqual(model.vocab);
  }, 120_000);

  it('is where the demo starts stage 2 when the plan uses it', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'ulmfit-demo-shipped-')), 'demo');
    const printed: string[] = [];
    const result = await runDemo({
      out,
      backend: 'wasm',
      workers: 0,
      print: (text) => printed.push(text),
      plan: {
        ...QUICK_PLAN,
        shipped: 'brown-lm',
        data: { ...QUICK_PLAN.data, genreTrainFiles: 1, labeledPerClass: 4, validPerClass: 4 },
      },
    });
    expect(result.pretrained).toMatchObject({ dir: shippedPretrainedModel(), shipped: true });
    expect(result.pretrained.history).toHaveLength(3);
    const text = printed.join('\n');
    expect(text).toMatch(
      /Stage 1: the model shipped in .*brown-lm, an AWD-LSTM \(emb 64, hidden 256, 2 layers\) that `ulmfit pretrain` trained on this corpus for 3 epochs: valid perplexity 118\.0/,
    );
    // Its own command is shown (commented out: it takes half an hour); fine-tuning starts from the shipped copy.
    expect(result.commands[1]).toContain(
      `${pretrainFlags(FULL_PLAN, SHIPPED_RECIPE, 42).join(' ')} --overwrite   # made `,
    );
    expect(result.commands[2]).toMatch(/^ulmfit finetune-lm .* --pretrained brown-lm /);
    // The fine-tuned model kept the shipped model's sizes, and so did the from-scratch baseline.
    expect(readModelDir(join(out, 'lm-finetuned', 'model-last')).meta.arch).toMatchObject({
      emb_sz: 64,
      n_hid: 256,
      n_layers: 2,
    });
    expect(readModelDir(join(out, 'classifier-scratch', 'model-last')).meta.arch).toMatchObject({
      emb_sz: 64,
      n_hid: 256,
      n_layers: 2,
    });
    expect(
      Number.isFinite(result.genre.before.perplexity) && Number.isFinite(result.genre.after.perplexity),
    ).toBe(true);
  }, 300_000);
});
