/**
 * Acceptance benchmark for stage 2 (issue 4): fine-tuning a language model pretrained on other
 * text beats training the same model from scratch for the same number of epochs.
 *
 * Brown corpus: stage 1 pretrains on the imaginative genres (fiction, mystery, romance, ...);
 * the target domain is the informative genres' news + editorial + reviews (press) text. Every 5th
 * press file is held out for validation. "finetune" = `finetune-lm --pretrained` with fastai's
 * recipe (1 frozen epoch at 2e-2, then unfrozen at 2e-3); "scratch" = `pretrain` on the press text
 * alone with the same architecture and the same number of epochs (one-cycle at 1e-2).
 *
 *   npm run build && node bench/run.js finetune
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brownDocuments, brownFiles } from '../data/brown.js';
import { trainLanguageModel, type LmTrainOptions } from '../tasks/lm.js';

const EPOCHS = Number(process.env.FINETUNE_BENCH_EPOCHS ?? 3);
const PRESS = new Set(['news', 'editorial', 'reviews']);
const FILE_STRIDE = Number(process.env.FINETUNE_BENCH_STRIDE ?? 3);

function writeDocs(dir: string, texts: readonly string[]): string {
  mkdirSync(dir, { recursive: true });
  texts.forEach((text, i) => writeFileSync(join(dir, `${String(i).padStart(5, '0')}.txt`), text + '\n'));
  return dir;
}

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'ulmfit-finetune-bench-'));
  try {
    const files = brownFiles();
    // A subset keeps the run to minutes on a 2-core CPU; every genre stays represented.
    const general = files
      .filter((f) => f.category.group === 'imaginative')
      .filter((_, i) => i % FILE_STRIDE === 0);
    const press = files.filter((f) => PRESS.has(f.category.name)).filter((_, i) => i % 2 === 0);
    const pressValid = press.filter((_, i) => i % 5 === 4);
    const pressTrain = press.filter((_, i) => i % 5 !== 4);
    const docs = (list: typeof files) => brownDocuments({ files: list, wordsPerDoc: 200 }).map((d) => d.text);
    const generalDir = writeDocs(join(root, 'general'), docs(general));
    const trainDir = writeDocs(join(root, 'press-train'), docs(pressTrain));
    const validDir = writeDocs(join(root, 'press-valid'), docs(pressValid));

    const common: Omit<LmTrainOptions, 'inputs' | 'out'> = {
      emb: 64,
      hidden: 128,
      layers: 2,
      bs: 32,
      bptt: 32,
      minFreq: 2,
      noCache: true,
      seed: 42,
      dropMult: 0.5,
    };
    const started = performance.now();
    const pre = await trainLanguageModel({
      ...common,
      inputs: [generalDir],
      out: join(root, 'pre'),
      stages: [{ freezeTo: 0, epochs: EPOCHS, lr: 1e-2 }],
    });
    console.log(
      `stage 1 on imaginative Brown (${pre.trainTokens} tokens): valid perplexity ${pre.best?.perplexity?.toFixed(1)}`,
    );
    const finetuned = await trainLanguageModel({
      ...common,
      inputs: [trainDir],
      valid: [validDir],
      out: join(root, 'finetuned'),
      pretrained: join(root, 'pre'),
      stages: [
        { freezeTo: -1, epochs: 1, lr: 2e-2 },
        { freezeTo: 0, epochs: EPOCHS - 1, lr: 2e-3 },
      ],
    });
    const scratch = await trainLanguageModel({
      ...common,
      inputs: [trainDir],
      valid: [validDir],
      out: join(root, 'scratch'),
      stages: [{ freezeTo: 0, epochs: EPOCHS, lr: 1e-2 }],
    });
    const last = (r: typeof scratch) => r.history[r.history.length - 1]!;
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `press text: ${finetuned.trainTokens} training tokens, ${finetuned.validTokens} validation tokens (held-out files), ${EPOCHS} epochs each`,
    );
    console.log(
      `fine-tuned from imaginative Brown: valid perplexity ${last(finetuned).perplexity?.toFixed(1)}, accuracy ${last(finetuned).accuracy?.toFixed(4)} (${finetuned.transferFound}/${finetuned.vocabSize} vocab tokens transferred)`,
    );
    console.log(
      `from scratch:                      valid perplexity ${last(scratch).perplexity?.toFixed(1)}, accuracy ${last(scratch).accuracy?.toFixed(4)}`,
    );
    console.log(
      'BENCH ' +
        JSON.stringify({
          name: 'finetune',
          epochs: EPOCHS,
          finetuned_perplexity: last(finetuned).perplexity,
          scratch_perplexity: last(scratch).perplexity,
          finetuned_accuracy: last(finetuned).accuracy,
          scratch_accuracy: last(scratch).accuracy,
          seconds,
          backend: scratch.backend,
        }),
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
