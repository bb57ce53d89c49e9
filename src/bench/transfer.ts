/**
 * Acceptance benchmark for the classifier (issue 5): what transfer learning buys. A genre task
 * from the Brown corpus — is a ~40-word passage informative prose (Brown A–J: news, learned, …)
 * or imaginative prose (K–R: fiction, romance, …)? — trained with `trainClassifier` from the
 * encoder of a small AWD-LSTM language model pretrained on Brown text, and from scratch (same
 * architecture, random weights), with the same labeled examples and epochs, at 100 / 1000 / all
 * (2000) labeled examples. ULMFiT's claim: transfer with 100 labels ≈ from scratch with 10× more.
 *
 * Three modes: `scratch` (random weights, every layer trained from the start with one one-cycle
 * fit), `ulmfit` (the LM's encoder with fastai's gradual-unfreezing recipe, the CLI default) and
 * `lm-init` (the LM's encoder with the scratch mode's schedule: isolates what the pretrained
 * weights alone buy from what the recipe does).
 *
 *   npm run build && node bench/run.js transfer
 *
 * Protocol (no leakage between training and test text):
 * - files, not passages, are split: every 5th file of each genre is a test file;
 * - the language model reads (unlabeled) passages of the training files only;
 * - labeled sets are balanced and nested (the 100 are among the 1000, which are among "all");
 * - the test set is a balanced sample of test-file passages, used only to score the final model
 *   (no validation during training, so no model selection on it) through `ulmfit classify`'s
 *   library path (`loadEnsemble` + `evaluate`);
 * - both modes get the same batches and epochs: fastai's 4-stage recipe (1+1+1+E epochs), with E
 *   raised for small sets so that every run makes at least ~60 optimizer steps.
 * Sizes are kept small so the whole run takes about 10 minutes on 2 CPU cores (wasm backend).
 * Environment overrides: TRANSFER_SIZES (e.g. "100,1000,3000"), TRANSFER_LM_DOCS, TRANSFER_SEEDS.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { brownDocuments, brownFiles, type BrownDoc, type BrownFile } from '../data/brown.js';
import { evaluate, loadEnsemble } from '../infer/classify.js';
import { Rng } from '../random.js';
import { defaultClassifierStages, trainClassifier } from '../tasks/classifier.js';
import { trainLanguageModel } from '../tasks/lm.js';

/** Model and data sizes (small: see the header). */
const WORDS_PER_DOC = 40;
const ARCH = { emb: 64, hidden: 128, layers: 2 };
const LM_DOCS = Number(process.env.TRANSFER_LM_DOCS ?? 8000);
const SIZES = (process.env.TRANSFER_SIZES ?? '100,1000,2000').split(',').map(Number);
const SEEDS = (process.env.TRANSFER_SEEDS ?? '1').split(',').map(Number);
const TEST_DOCS = 500;
const BS = 16;
const MIN_STEPS = 60;

const MODES = ['scratch', 'ulmfit', 'lm-init'] as const;
type Mode = (typeof MODES)[number];

interface RunResult {
  examples: number;
  mode: Mode;
  seed: number;
  epochs: number;
  accuracy: number;
  f1Macro: number;
  seconds: number;
  cpuSeconds: number;
}

/** Every 5th file of each genre is held out for testing. */
function splitFiles(files: readonly BrownFile[]): { train: BrownFile[]; test: BrownFile[] } {
  const seen = new Map<string, number>();
  const train: BrownFile[] = [];
  const test: BrownFile[] = [];
  for (const file of files) {
    const k = seen.get(file.category.letter) ?? 0;
    seen.set(file.category.letter, k + 1);
    (k % 5 === 4 ? test : train).push(file);
  }
  return { train, test };
}

/** A balanced, shuffled sample: `n` passages, half of each group, interleaved so any prefix stays balanced. */
function balanced(docs: readonly BrownDoc[], n: number, rng: Rng): BrownDoc[] {
  const informative = rng.shuffle(docs.filter((d) => d.group === 'informative'));
  const imaginative = rng.shuffle(docs.filter((d) => d.group === 'imaginative'));
  const half = Math.min(Math.floor(n / 2), informative.length, imaginative.length);
  return Array.from(
    { length: half * 2 },
    (_, i) => (i % 2 === 0 ? informative : imaginative)[Math.floor(i / 2)]!,
  );
}

function writeLabeled(path: string, docs: readonly BrownDoc[]): string {
  writeFileSync(path, docs.map((d) => JSON.stringify({ text: d.text, label: d.group })).join('\n') + '\n');
  return path;
}

/** Accuracy and macro-F1 of a classifier directory on the test passages. */
async function score(
  modelDir: string,
  docs: readonly BrownDoc[],
): Promise<{ accuracy: number; f1Macro: number }> {
  const ensemble = await loadEnsemble([modelDir], 'wasm');
  try {
    const probabilities = ensemble.predict(
      docs.map((d) => d.text),
      64,
    );
    const classes = ensemble.labels.length;
    const predicted = docs.map((_, i) => {
      const row = probabilities.subarray(i * classes, (i + 1) * classes);
      return ensemble.labels[row.indexOf(Math.max(...row))]!;
    });
    const evaluation = evaluate(
      ensemble.labels,
      predicted,
      docs.map((d) => d.group),
    );
    return { accuracy: evaluation.accuracy, f1Macro: evaluation.f1Macro };
  } finally {
    ensemble.dispose();
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ulmfit-transfer-'));
  const started = performance.now();
  try {
    const { train: trainFiles, test: testFiles } = splitFiles(brownFiles());
    const trainDocs = brownDocuments({ wordsPerDoc: WORDS_PER_DOC, files: trainFiles });
    const testDocs = brownDocuments({ wordsPerDoc: WORDS_PER_DOC, files: testFiles });
    const rng = new Rng(2024);
    const pool = balanced(trainDocs, Math.max(...SIZES), rng);
    const testSet = balanced(testDocs, TEST_DOCS, rng);
    console.log(
      `Brown: ${trainFiles.length} training files (${trainDocs.length} passages), ${testFiles.length} test files; test set ${Math.min(TEST_DOCS, testDocs.length)} balanced passages`,
    );

    // Stage 1 (+2): a language model on unlabeled passages of the training files.
    const lmText = join(dir, 'lm.txt');
    writeFileSync(
      lmText,
      rng
        .shuffle([...trainDocs])
        .slice(0, LM_DOCS)
        .map((d) => d.text)
        .join('\n') + '\n',
    );
    const lmStarted = performance.now();
    const lmCpu = process.cpuUsage().user;
    const lm = await trainLanguageModel({
      inputs: [lmText],
      out: join(dir, 'lm'),
      lineDocs: true,
      noCache: true,
      workers: 0,
      backend: 'wasm',
      seed: 1,
      ...ARCH,
      minFreq: 2,
      maxVocab: 6000,
      bs: 32,
      bptt: 72,
      validPct: 0.05,
      saveEncoder: true,
      stages: [{ freezeTo: 0, epochs: 1, lr: 1e-2 }],
    });
    const lmSeconds = (performance.now() - lmStarted) / 1000;
    const lmCpuSeconds = (process.cpuUsage().user - lmCpu) / 1e6;
    const lmRow = lm.history[lm.history.length - 1]!;
    console.log(
      `language model: ${lm.trainTokens} training tokens, vocab ${lm.vocabSize}, valid loss ${lmRow.validLoss?.toFixed(3)}, accuracy ${lmRow.accuracy?.toFixed(3)}, ${lmSeconds.toFixed(0)} s wall, ${lmCpuSeconds.toFixed(0)} s CPU`,
    );

    // Stage 3: the classifier, with and without the language model.
    const results: RunResult[] = [];
    for (const examples of SIZES) {
      const labeled = writeLabeled(join(dir, `train-${examples}.jsonl`), pool.slice(0, examples));
      for (const seed of SEEDS) {
        for (const mode of MODES) {
          const runStarted = performance.now();
          const runCpu = process.cpuUsage().user;
          const out = join(dir, `clas-${examples}-${mode}-${seed}`);
          // fastai's recipe: 1 + 1 + 1 + lastEpochs epochs (from scratch: all of them unfrozen at once).
          const stepsPerEpoch = Math.floor(Math.min(examples, pool.length) / BS);
          const lastEpochs = Math.max(1, Math.ceil(MIN_STEPS / stepsPerEpoch) - 3);
          await trainClassifier({
            inputs: [labeled],
            validPct: 0,
            out,
            noCache: true,
            workers: 0,
            backend: 'wasm',
            seed,
            bs: BS,
            // One network per run: the benchmark compares starting points, scoring model-last/ alone.
            networks: 1,
            ...(mode === 'scratch' ? { fromScratch: true, ...ARCH, minFreq: 2 } : { lm: join(dir, 'lm') }),
            stages: defaultClassifierStages({ epochs: lastEpochs, fromScratch: mode !== 'ulmfit' }),
          });
          const scored = await score(join(out, 'model-last'), testSet);
          const run = {
            examples: Math.min(examples, pool.length),
            mode,
            seed,
            epochs: 3 + lastEpochs,
            ...scored,
            seconds: (performance.now() - runStarted) / 1000,
            cpuSeconds: (process.cpuUsage().user - runCpu) / 1e6,
          };
          results.push(run);
          console.log(
            `${String(run.examples).padStart(5)} examples  ${mode.padEnd(7)}  seed ${seed}  ${run.epochs} epochs  accuracy ${run.accuracy.toFixed(3)}  macro-F1 ${run.f1Macro.toFixed(3)}  ${run.seconds.toFixed(0)} s wall, ${run.cpuSeconds.toFixed(0)} s CPU`,
          );
        }
      }
    }

    console.log(
      '\n| labeled examples | epochs | from scratch | ULMFiT (LM encoder + gradual unfreezing) | LM encoder, scratch schedule |',
    );
    console.log('|---:|---:|---|---|---|');
    for (const examples of [...new Set(results.map((r) => r.examples))]) {
      const cell = (mode: string) => {
        const rows = results.filter((r) => r.examples === examples && r.mode === mode);
        const mean = (f: (r: RunResult) => number) => rows.reduce((s, r) => s + f(r), 0) / rows.length;
        return `${mean((r) => r.accuracy).toFixed(3)} / ${mean((r) => r.f1Macro).toFixed(3)}`;
      };
      const epochs = results.find((r) => r.examples === examples)!.epochs;
      console.log(
        `| ${examples} | ${epochs} | ${cell('scratch')} | ${cell('ulmfit')} | ${cell('lm-init')} |`,
      );
    }
    const seconds = (performance.now() - started) / 1000;
    const cpuSeconds = process.cpuUsage().user / 1e6;
    console.log('(accuracy / macro-F1 on the balanced test passages, final epoch)');
    console.log(
      `\ntotal ${seconds.toFixed(0)} s wall, ${cpuSeconds.toFixed(0)} s CPU, load average ${loadavg()
        .map((x) => x.toFixed(1))
        .join(' ')}, on ${lm.backend}${SEEDS.length > 1 ? ` (means over seeds ${SEEDS.join(', ')})` : ''}`,
    );
    console.log(
      'BENCH ' +
        JSON.stringify({
          name: 'transfer',
          task: 'brown informative vs imaginative',
          words_per_doc: WORDS_PER_DOC,
          arch: ARCH,
          lm: {
            tokens: lm.trainTokens,
            vocab: lm.vocabSize,
            valid_loss: lmRow.validLoss,
            accuracy: lmRow.accuracy,
            seconds: lmSeconds,
            cpu_seconds: lmCpuSeconds,
          },
          results,
          seconds,
          cpu_seconds: cpuSeconds,
          backend: lm.backend,
        }),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
