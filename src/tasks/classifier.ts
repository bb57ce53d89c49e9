/**
 * Stage 3 of ULMFiT as a library function: `trainClassifier` trains fastai's text classifier
 * (`text_classifier_learner`: SentenceEncoder over the AWD-LSTM + PoolingLinearClassifier) on
 * labeled documents, starting from a language model's encoder (or, with `fromScratch`, from random
 * weights: the baseline that shows what transfer buys), with fastai's gradual-unfreezing recipe.
 * It writes a run directory (design.md §3): model-last/, model-best/ (by valid loss),
 * checkpoint/ (exact `resume`), metrics.jsonl and config.json. `ulmfit train-classifier` is a
 * thin wrapper.
 *
 * The classifier reuses the encoder's vocab and tokenizer (fastai passes `vocab=dls_lm.vocab`):
 * raw inputs are tokenized with them, and a tokenized corpus directory must have been made with
 * them.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '../backend.js';
import type { LibraryOptions } from '../config/schema.js';
import {
  CLASSIFIER_DEFAULTS,
  CLASSIFIER_RUN_CONFIG,
  TRAINING_DEFAULTS,
  type TRAIN_CLASSIFIER,
} from '../config/training.js';
import { UlmfitError, usageError } from '../errors.js';
import { SortedBatches } from '../data/clas-batches.js';
import type { ClasBatch } from '../data/batches.js';
import {
  hasCheckpoint,
  readModelDir,
  resolveModelDir,
  runCompleted,
  RUN_LAYOUT,
  vocabSha256,
  type ArchMeta,
  type LoadedModelDir,
} from '../io/artifact.js';
import {
  AWD_LSTM_CLAS_CONFIG,
  AWD_LSTM_LM_CONFIG,
  withDropMult,
  type AwdLstmConfig,
} from '../model/awd-lstm.js';
import { TextClassifier } from '../model/heads.js';
import { weightReaders, withTfWeights } from '../model/persist.js';
import { Rng } from '../random.js';
import { defaultTokenizerSettings, type TokenizerSettings } from '../text/settings.js';
import { Learner, type EpochRow, type Stage } from '../train/learner.js';
import { lrFind, type LrFindOptions, type LrFindResult } from '../train/lr-find.js';
import { baselineValidations, trainBaseline, type BaselineTrainResult } from './baseline.js';
import {
  networkProbabilities,
  sameDocuments,
  scoreRunEnsemble,
  type BaselineValidation,
  type EnsembleScore,
} from './ensemble-score.js';
import { chooseEnsemble, tallyHeldOut, type HeldOutPredictions } from './ensemble-choice.js';
import { writeEnsembleChoice, type EnsembleChoiceFile } from '../io/ensemble-choice.js';
import { corpusInputOptions, isCorpusDir, loadCorpusInput, type CorpusInputOptions } from './corpus-input.js';
import { labeledDocuments, reportReading, type LabeledData, type LabeledDocs } from './labeled-data.js';
import {
  networkSeed,
  planClassifierNetworks,
  planClassifierRecipe,
  type NetworksPlan,
} from './recipe-plan.js';
import { bestRow, epochRecord, readEpochRecords, validateStages, type EpochRecord } from './run-dir.js';
import { Run, type TrainingTaskOptions } from './run.js';

export { defaultClassifierStages } from './recipe-plan.js';
export { checkLabels, labeledDocuments, type LabeledData, type LabeledDocs } from './labeled-data.js';

/**
 * Training a classifier: the options of `ulmfit train-classifier` as config/training.ts declares
 * them (each with its help, default and range; LibraryOptions types them), but two the library
 * takes in a richer form than the flag's text, and the library's own.
 */
export interface ClassifierTrainOptions
  extends Omit<LibraryOptions<typeof TRAIN_CLASSIFIER>, 'stages' | 'settings'>, TrainingTaskOptions {
  /** Labeled inputs (folder-per-label, CSV/TSV/JSONL with a label column) or a tokenized corpus dir. */
  inputs: string[];
  /** The whole recipe, used as given (`--schedule`); default `defaultClassifierStages`, stretched on small data (recipe-plan.ts). */
  stages?: Stage[] | undefined;
  /** Tokenizer for `fromScratch` (`--no-rules`); with `lm` the encoder's is always used. */
  settings?: TokenizerSettings | undefined;
  onWarning?: ((message: string) => void) | undefined;
}

export interface ClassifierTrainResult {
  runDir: string;
  history: EpochRow[];
  /** The epoch model-best/ holds: highest validation accuracy, lower loss on ties. */
  best: EpochRow | undefined;
  /** The batch size and recipe the run used (planned unless given), and why. */
  bs: number;
  stages: Stage[];
  recipe: string;
  /** Class names, index = class id (sorted like fastai's Categorize). */
  labels: string[];
  trainDocs: number;
  validDocs: number;
  /** Where the validation documents came from (labeled-data.ts): `drawn` = a random share of the labeled ones. */
  validFrom: LabeledData['validFrom'];
  vocabSize: number;
  /** The encoder directory loaded, or null from scratch. */
  encoder: string | null;
  /**
   * Every network the run trained (planned: several on small data, `planClassifierNetworks`): the
   * first is the run directory itself (`history` and `best` above are its own), the others
   * `networks/<k>/`. `classify --model <run>` averages their model-best/.
   */
  networks: ClassifierNetwork[];
  /** The NB-SVM baseline on the same split (with `baseline`), else null. */
  baseline: BaselineTrainResult | null;
  /**
   * Validation scores of what `classify --model <run>` uses with a baseline: the networks and the
   * baseline averaged (null without a baseline or validation documents). When the validation
   * documents were drawn from the labeled ones, each network held out its own share, so only the
   * first network is scored with the baseline (`ensemble.networks` says which were).
   */
  ensemble: EnsembleScore | null;
  /**
   * What `classify --model <run>` uses, chosen on held-out documents and saved as
   * `<run>/ensemble.json` (tasks/ensemble-choice.ts); null without a baseline or validation documents.
   */
  ensembleChoice: EnsembleChoiceFile | null;
  /** The training curves drawn into the run directory (tasks/training-plot.ts). */
  plot: string;
  backend: string;
}

/** One network of a run. */
export interface ClassifierNetwork {
  /** Its run directory (model-best/, model-last/, metrics.jsonl, config.json). */
  runDir: string;
  seed: number;
  /** The epoch its model-best/ holds (null when it recorded none). */
  best: EpochRecord | null;
}

/** Options that shape the run and are stored in config.json (what `resume` restores): from train-classifier's options. */
const PERSISTED = CLASSIFIER_RUN_CONFIG as readonly (keyof ClassifierTrainOptions)[];

/** fastai's classifier head: lin_ftrs [50], ps [0.1] (not scaled by drop_mult). */
const LIN_FTRS = [50];
const HEAD_PS = [0.1];

export async function trainClassifier(given: ClassifierTrainOptions): Promise<ClassifierTrainResult> {
  const info = given.onInfo ?? (() => undefined);
  const warn = given.onWarning ?? info;
  checkSource(given);
  return Run.with(given, 'classifier', PERSISTED, info, (run, options) =>
    trainInRunDir(run, options, info, warn),
  );
}

/** Everything a classifier run needs before training starts. */
interface ClassifierSetup {
  backend: string;
  rng: Rng;
  seed: number;
  model: TextClassifier;
  encoder: LoadedModelDir | undefined;
  itos: string[];
  settings: TokenizerSettings;
  labels: string[];
  trainDocs: number;
  validDocs: number;
  /** The validation documents (token ids) and their class ids. */
  valid: LabeledDocs;
  /** Where they came from: given, the data's own split, or drawn at random (labeled-data.ts). */
  validFrom: LabeledData['validFrom'];
  /** The batch size and recipe (planned unless given), and why. */
  plan: ReturnType<typeof planClassifierRecipe>;
  trainBatches: SortedBatches;
  validBatches: SortedBatches | undefined;
  arch: ArchMeta;
  /** Whether documents are read right to left: --backwards, else the encoder's direction. */
  backwards: boolean;
  /**
   * The validation documents (copied) that a run with `seed` draws from the same labeled documents:
   * a further network's own share (`networkSeed`), with the class names its ids index; null when
   * that draw leaves a class without training documents (that network is not trained). Only while
   * the corpora are open (before `close`).
   */
  validShareFor(seed: number): Promise<{ labels: string[]; valid: LabeledDocs } | null>;
  /** Closes the corpora (and removes temporary ones). The model is disposed separately. */
  close(): void;
}

/**
 * Loads the encoder and the labeled data (tokenized with the encoder's tokenizer and vocab), splits
 * it, builds the classifier with the encoder's weights and plans the recipe.
 */
async function setUpClassifier(
  options: ClassifierTrainOptions,
  info: (message: string) => void,
  warn: (message: string) => void,
): Promise<ClassifierSetup> {
  const seed = options.seed ?? TRAINING_DEFAULTS.seed;
  const rng = new Rng(seed);
  if (options.stages) validateStages(options.stages);
  const encoder = options.lm !== undefined ? loadEncoder(options.lm, options.backwards) : undefined;
  // The classifier reads documents in its encoder's direction unless told (and then they must agree).
  const backwards = options.backwards ?? encoder?.meta.backwards ?? false;
  if (options.backwards === undefined && encoder?.meta.backwards)
    info(`backwards encoder (${encoder.dir}): documents are read right to left`);
  const settings = encoder
    ? (encoder.tokenizer as unknown as TokenizerSettings)
    : (options.settings ?? defaultTokenizerSettings());
  const corpusOptions: CorpusInputOptions = {
    ...corpusInputOptions(settings, options, encoder?.spmModel),
    ...(encoder ? { vocab: encoder.vocab, requireSettings: settings } : {}),
  };
  if (encoder) checkCorpusVocab(options.inputs, encoder);
  const backend = await initBackend(options.backend ?? 'auto');
  const train = await loadCorpusInput(options.inputs, corpusOptions);
  const closers = [train.close];
  const close = (): void => {
    for (const c of closers) c();
  };
  try {
    const corpus = train.corpus;
    const itos = [...corpus.vocab.itos];
    reportReading(train.corpus, options.inputs, info, warn);
    const data = await labeledDocuments(options, corpus, itos, corpusOptions, rng, closers, info, warn);
    const { labels } = data;
    info(
      `classes: ${labels.length} (${labels.join(', ')}); ${data.train.docs.length} training and ${data.valid.docs.length} validation documents`,
    );

    const config = classifierConfig(encoder, options);
    const bptt = options.bptt ?? TRAINING_DEFAULTS.bptt;
    const maxLen = options.maxLen ?? CLASSIFIER_DEFAULTS.maxLen;
    const pool = options.pool ?? CLASSIFIER_DEFAULTS.pool;
    const model = new TextClassifier(itos.length, labels.length, config, {
      rng,
      bptt,
      maxLen,
      linFtrs: LIN_FTRS,
      ps: HEAD_PS,
      alpha: options.alpha ?? TRAINING_DEFAULTS.alpha,
      beta: options.beta ?? TRAINING_DEFAULTS.beta,
      labelSmoothing: options.labelSmoothing ?? CLASSIFIER_DEFAULTS.labelSmoothing,
      pool,
    });
    try {
      if (encoder) {
        const prefix = encoder.meta.kind === 'lm' ? '0.' : '';
        withTfWeights(encoder.weights, (tensors) => model.loadEncoderWeights(tensors, prefix));
        info(
          `encoder: ${encoder.dir} (${encoder.meta.kind}, emb ${config.emb_sz}, hidden ${config.n_hid}, ${config.n_layers} layers, vocab ${itos.length})`,
        );
      }
      const plan = planClassifierRecipe({
        trainDocs: data.train.docs.length,
        bs: options.bs,
        stages: options.stages,
        lr: options.lr,
        epochs: options.epochs,
        fromScratch: options.fromScratch,
      });
      validateStages(plan.stages);
      info(`recipe: ${plan.reason}`);
      const batchOptions = { bs: plan.bs, seqLen: bptt, padIdx: config.pad_token, backwards };
      const trainBatches = new SortedBatches(data.train.docs, data.train.y, {
        ...batchOptions,
        shuffle: true,
        rng,
        dropLast: plan.dropLast,
      });
      const validBatches =
        data.valid.docs.length > 0
          ? new SortedBatches(data.valid.docs, data.valid.y, batchOptions)
          : undefined;
      const arch: ArchMeta = {
        name: 'awd_lstm',
        ...config,
        seq_len: bptt,
        max_len: maxLen,
        lin_ftrs: LIN_FTRS,
        ps: HEAD_PS,
        // fastai's pooling leaves it out, so a model without it reads `last`
        ...(pool !== 'last' ? { pool } : {}),
      };
      return {
        backend,
        rng,
        seed,
        model,
        encoder,
        itos,
        settings,
        labels,
        trainDocs: data.train.docs.length,
        validDocs: data.valid.docs.length,
        valid: data.valid,
        validFrom: data.validFrom,
        validShareFor: async (shareSeed: number) => {
          const quiet = (): void => undefined;
          try {
            const share = await labeledDocuments(
              options,
              corpus,
              itos,
              corpusOptions,
              new Rng(shareSeed),
              closers,
              quiet,
              quiet,
            );
            const valid = { docs: share.valid.docs.map((doc) => doc.slice()), y: share.valid.y.slice() };
            return { labels: share.labels, valid };
          } catch (error) {
            if (error instanceof UlmfitError && error.code === 'E_LABELS') return null;
            throw error;
          }
        },
        plan,
        trainBatches,
        validBatches,
        arch,
        backwards,
        close,
      };
    } catch (error) {
      model.dispose();
      throw error;
    }
  } catch (error) {
    close();
    throw error;
  }
}

/** The training itself, holding the run directory's lock. */
async function trainInRunDir(
  run: Run<ClassifierTrainOptions>,
  options: ClassifierTrainOptions,
  info: (message: string) => void,
  warn: (message: string) => void,
): Promise<ClassifierTrainResult> {
  // The other networks read the same data: a warning the first gave is not repeated for each.
  const firstWarnings = new Set<string>();
  const first = await trainFirstNetwork(run, options, info, (message) => {
    firstWarnings.add(message);
    warn(message);
  });
  const { summary, history, best, baseline, networksPlan } = first;
  const runDir = run.dir;
  const networks: ClassifierNetwork[] = [
    { runDir, seed: summary.seed, best: best ? epochRecord(best, 'classifier') : null },
  ];
  for (let k = 1; k < networksPlan.networks; k++) {
    const network = await trainNetwork(runDir, options, summary.seed, k, networksPlan.networks, {
      info,
      warn,
      firstWarnings,
    });
    if (network) networks.push(network);
  }
  // A drawn validation share is each network's own: the others trained on part of the first's.
  const scored = (summary.validFrom === 'drawn' ? networks.slice(0, 1) : networks).map((network) =>
    join(network.runDir, RUN_LAYOUT.modelBest),
  );
  const chosen = baseline?.validation
    ? await chooseRunEnsemble(options, first, scored, networks, baseline.validation)
    : null;
  const ensembleChoice = chosen?.choice ?? null;
  if (ensembleChoice) writeEnsembleChoice(runDir, ensembleChoice);
  const finished = run.finish(options);
  const ensemble =
    baseline?.validation && chosen?.scoredNetworks
      ? scoreRunEnsemble(scored, summary.labels, first.valid, baseline.validation, chosen.scoredNetworks)
      : null;
  const { seed: _seed, ...reported } = summary;
  return {
    ...reported,
    runDir,
    history,
    best,
    networks,
    baseline,
    ensemble,
    ensembleChoice,
    plot: finished.plot,
  };
}

/**
 * What `classify --model <run>` will use (tasks/ensemble-choice.ts), from documents held out from
 * both sides: the `scored` networks (all of them, averaged, on a validation set that was given or
 * the data's own split; the first alone on its drawn share) beside the run's baseline, and when
 * the shares were drawn each further network on its own share beside an NB-SVM trained on that
 * network's training side. A set whose two sides do not hold the same documents is left out.
 * `scoredNetworks` is the first set's network side, for the ensemble's validation score
 * (`scoreRunEnsemble`) without running those networks again; null when that set was left out.
 */
async function chooseRunEnsemble(
  options: ClassifierTrainOptions,
  first: Awaited<ReturnType<typeof trainFirstNetwork>>,
  scored: readonly string[],
  networks: readonly ClassifierNetwork[],
  baselineValidation: BaselineValidation,
): Promise<{ choice: EnsembleChoiceFile; scoredNetworks: Float32Array | null }> {
  const { labels, validFrom } = first.summary;
  const backend = options.backend ?? 'auto';
  const sets: HeldOutPredictions[] = [];
  const add = async (dirs: readonly string[], valid: LabeledDocs, nb: BaselineValidation | null) => {
    if (!nb || !sameDocuments(labels, valid, nb)) return;
    const probabilities = await networkProbabilities(dirs, valid.docs, backend);
    sets.push({ networks: probabilities, baseline: nb.probabilities, gold: valid.y });
  };
  await add(scored, first.valid, baselineValidation);
  const scoredNetworks = sets[0]?.networks ?? null;
  if (validFrom === 'drawn') {
    const others = networks.slice(1).filter((network) => first.otherShares.get(network.seed));
    // Further networks train on small data only, where reading the labeled data again is cheap.
    const nbs =
      others.length === 0
        ? []
        : await baselineValidations(
            {
              inputs: options.inputs,
              validPct: options.validPct,
              ignoreLabels: options.ignoreLabels,
              textCol: options.textCol,
              labelCol: options.labelCol,
              workers: options.workers,
              noCache: options.noCache,
              cacheDir: options.cacheDir,
            },
            others.map((network) => network.seed),
          );
    for (const [i, network] of others.entries()) {
      const share = first.otherShares.get(network.seed)!;
      if (share.labels.join('\n') !== labels.join('\n')) continue;
      await add([join(network.runDir, RUN_LAYOUT.modelBest)], share.valid, nbs[i] ?? null);
    }
  }
  return { choice: chooseEnsemble(tallyHeldOut(sets, labels.length)), scoredNetworks };
}

/** What a classifier run reports of its first network's setup (ClassifierTrainResult's own fields). */
type RunSummary = Pick<
  ClassifierTrainResult,
  | 'bs'
  | 'stages'
  | 'recipe'
  | 'labels'
  | 'trainDocs'
  | 'validDocs'
  | 'validFrom'
  | 'vocabSize'
  | 'encoder'
  | 'backend'
> & { seed: number };

/**
 * The run's own network (and its baseline): trained, then its model, learner and corpora
 * released, so the other networks train in the memory of one. Returns what the rest of the run
 * needs; the validation documents are copied, so they do not keep the corpus's token buffer alive.
 */
async function trainFirstNetwork(
  run: Run<ClassifierTrainOptions>,
  options: ClassifierTrainOptions,
  info: (message: string) => void,
  warn: (message: string) => void,
): Promise<{
  summary: RunSummary;
  history: EpochRow[];
  best: EpochRow | undefined;
  baseline: BaselineTrainResult | null;
  networksPlan: NetworksPlan;
  valid: LabeledDocs;
  /**
   * Each further network's own validation share when the shares are drawn (keyed by its seed),
   * for the ensemble choice (tasks/ensemble-choice.ts); empty otherwise.
   */
  otherShares: Map<number, { labels: string[]; valid: LabeledDocs } | null>;
}> {
  const setup = await setUpClassifier(options, info, warn);
  const {
    model,
    encoder,
    itos,
    settings,
    labels,
    plan,
    trainBatches,
    validBatches,
    arch,
    backend,
    seed,
    rng,
  } = setup;
  const { bs, stages } = plan;
  try {
    const runDir = run.dir;
    const files = {
      vocab: itos,
      labels,
      tokenizer: settings as unknown as Record<string, unknown>,
      ...(encoder?.spmModel ? { spmModel: encoder.spmModel } : {}),
    };
    const training = { seed, backend, encoder: encoder?.dir ?? null, stages, labels };
    const learner = new Learner<ClasBatch>(model, {
      train: trainBatches,
      valid: validBatches,
      rng,
      wd: options.wd,
      clip: options.clip,
      // Made before run.start restores a checkpoint: the anchor is the encoder as loaded, also on resume.
      anchor:
        encoder !== undefined
          ? { variables: model.encoderVariables(), decay: options.l2sp ?? CLASSIFIER_DEFAULTS.l2sp }
          : undefined,
      onBatchEnd: options.onBatchEnd,
      onEpochEnd: async (row, l) => {
        const weights = weightReaders(model.namedWeights());
        const meta = {
          kind: 'classifier' as const,
          arch,
          backwards: setup.backwards,
          training: { ...training, history: l.history },
        };
        run.saveEpoch(row, l.getLiveState(), weights, { meta, weights, ...files });
        await options.onEpochEnd?.(row);
      },
    });
    // A run resumed from before --networks existed trained one network; it goes on with one.
    const networksPlan = planClassifierNetworks({
      trainDocs: setup.trainDocs,
      networks: options.networks ?? (options.resume ? 1 : undefined),
    });
    if (networksPlan.reason) info(`networks: ${networksPlan.reason}`);
    try {
      run.start(learner, model, { ...options, bs, stages, networks: networksPlan.networks });
      // The baseline first: it takes seconds and shows at once the bar the classifier has to clear.
      let baseline: BaselineTrainResult | null = null;
      if (options.baseline) {
        baseline = await trainBaseline({
          inputs: options.inputs,
          out: join(runDir, RUN_LAYOUT.baseline),
          valid: options.valid,
          validPct: options.validPct,
          ignoreLabels: options.ignoreLabels,
          seed,
          textCol: options.textCol,
          labelCol: options.labelCol,
          workers: options.workers,
          noCache: options.noCache,
          cacheDir: options.cacheDir,
          overwrite: true,
          refitOnAll: true,
        });
        const saved =
          baseline.savedDocs > baseline.trainDocs
            ? `; refit on all ${baseline.savedDocs} labeled documents (it selects nothing on validation)`
            : '';
        info(
          `baseline: NB-SVM on the same ${baseline.trainDocs} training documents: validation accuracy ${fmtScore(baseline.accuracy)}, macro-F1 ${fmtScore(baseline.f1Macro)} (${baseline.trainSeconds.toFixed(1)} s)${saved} → ${baseline.out}`,
        );
      }
      info(
        `training on ${setup.trainDocs} documents (${trainBatches.numBatches} batches of ${bs}), backend ${backend}`,
      );
      await learner.fitRecipe(stages);
      const history = learner.history;
      const valid = { docs: setup.valid.docs.map((doc) => doc.slice()), y: setup.valid.y.slice() };
      const otherShares = new Map<number, { labels: string[]; valid: LabeledDocs } | null>();
      if (options.baseline && setup.validFrom === 'drawn')
        for (let k = 1; k < networksPlan.networks; k++) {
          const shareSeed = networkSeed(seed, k);
          otherShares.set(shareSeed, await setup.validShareFor(shareSeed));
        }
      const summary: RunSummary = {
        bs,
        stages,
        recipe: plan.reason,
        labels,
        trainDocs: setup.trainDocs,
        validDocs: setup.validDocs,
        validFrom: setup.validFrom,
        vocabSize: itos.length,
        encoder: encoder?.dir ?? null,
        backend,
        seed,
      };
      return { summary, history, best: run.bestOf(history), baseline, networksPlan, valid, otherShares };
    } finally {
      learner.dispose();
    }
  } finally {
    model.dispose();
    setup.close();
  }
}

/**
 * Network `k` (from 1) of a run of `count`: a run directory of its own, `<run>/networks/<k+1>/`,
 * trained as the first network was but with seed `networkSeed(seed, k)` (so its own validation
 * share when one is drawn, initialization and batch order) and no baseline. A network that
 * completed before (a resumed run) is kept; one interrupted is resumed from its checkpoint.
 * `onBatchEnd` sees its batches; `onEpochEnd` and `onInfo` are the first network's alone. Null
 * when its own validation draw leaves a class without training documents (the run goes on with
 * one network fewer, and says so).
 */
async function trainNetwork(
  parentDir: string,
  options: ClassifierTrainOptions,
  seed: number,
  k: number,
  count: number,
  messages: {
    info: (message: string) => void;
    warn: (message: string) => void;
    /** What the first network warned of: the same data's warnings are not repeated per network. */
    firstWarnings: ReadonlySet<string>;
  },
): Promise<ClassifierNetwork | null> {
  const { info } = messages;
  const runDir = join(parentDir, RUN_LAYOUT.networks, String(k + 1));
  const networkSeedK = networkSeed(seed, k);
  if (runCompleted(runDir)) {
    info(`network ${k + 1} of ${count}: trained before → ${runDir}`);
    return { runDir, seed: networkSeedK, best: bestRecord(readEpochRecords(runDir)) };
  }
  const resume = hasCheckpoint(runDir);
  info(`network ${k + 1} of ${count} (seed ${networkSeedK}) → ${runDir}${resume ? ' (resumed)' : ''}`);
  try {
    const result = await trainClassifier({
      ...options,
      out: runDir,
      seed: networkSeedK,
      networks: 1,
      baseline: false,
      resume,
      overwrite: !resume,
      // Resumed, the network restores every setting from its own config.json.
      explicit: resume ? new Set<string>() : undefined,
      // Its data, encoder and recipe are the first network's, already reported; its batches still
      // show progress, but its epochs are its own metrics.jsonl's, not the run's (the first network's).
      onInfo: () => undefined,
      onEpochEnd: undefined,
      onWarning: (message) => {
        if (!messages.firstWarnings.has(message)) messages.warn(`network ${k + 1}: ${message}`);
      },
    });
    return { runDir, seed: networkSeedK, best: result.best ? epochRecord(result.best, 'classifier') : null };
  } catch (error) {
    if (!(error instanceof UlmfitError) || error.code !== 'E_LABELS') throw error;
    messages.warn(
      `network ${k + 1} of ${count} skipped: its validation share (seed ${networkSeedK}) leaves a class without training documents (${error.message}); the run goes on without it (--networks 1 trains the first network alone)`,
    );
    return null;
  }
}

/** The record a finished network's model-best/ holds, ranked as the run ranked its epochs (run-dir.ts bestRow). */
function bestRecord(records: readonly EpochRecord[]): EpochRecord | null {
  const rows = records.map((record) => ({
    record,
    trainLoss: record.train_loss ?? Number.NaN,
    validLoss: record.valid_loss,
    accuracy: record.accuracy,
  }));
  return bestRow(rows, 'accuracy')?.record ?? null;
}

export interface ClassifierLrFindOptions extends Omit<
  ClassifierTrainOptions,
  | 'out'
  | 'stages'
  | 'epochs'
  | 'lr'
  | 'resume'
  | 'overwrite'
  | 'explicit'
  | 'baseline'
  | 'networks'
  | 'keepCheckpoint'
  | 'onEpochEnd'
  | 'onBatchEnd'
> {
  /** fastai runs lr_find on the classifier as `text_classifier_learner` leaves it: frozen but for the head. `unfreeze` searches for the whole model. */
  unfreeze?: boolean | undefined;
  /** start/end lr, number of batches, divergence stop. */
  find?: LrFindOptions | undefined;
}

/**
 * fastai's `lr_find` on a text classifier built as `trainClassifier` builds it (the same encoder,
 * data, split and planned bs): frozen to the head, as fastai's learner starts, unless `unfreeze`
 * (or from scratch, where nothing is pretrained). Weights are restored afterwards.
 */
export async function findClassifierLr(
  options: ClassifierLrFindOptions,
): Promise<LrFindResult & { backend: string; bs: number; trainDocs: number }> {
  checkSource(options);
  const info = options.onInfo ?? (() => undefined);
  const setup = await setUpClassifier({ ...options, out: '' }, info, options.onWarning ?? info);
  try {
    const learner = new Learner<ClasBatch>(setup.model, {
      train: setup.trainBatches,
      rng: setup.rng,
      wd: options.wd,
      clip: options.clip,
    });
    try {
      if (!options.fromScratch && !options.unfreeze) learner.freeze();
      const result = await lrFind(learner, options.find ?? {});
      return { ...result, backend: setup.backend, bs: setup.plan.bs, trainDocs: setup.trainDocs };
    } finally {
      learner.dispose();
    }
  } finally {
    setup.model.dispose();
    setup.close();
  }
}

function fmtScore(value: number | null): string {
  return value === null ? '-' : value.toFixed(4);
}

/** Options that only shape a model built from scratch (with --lm the encoder fixes them). */
const FROM_SCRATCH_ONLY = [
  ['emb', '--emb'],
  ['hidden', '--hidden'],
  ['layers', '--layers'],
  ['minFreq', '--min-freq'],
  ['maxVocab', '--max-vocab'],
  ['settings', '--no-rules'],
] as const;

function checkSource(
  options: Pick<
    ClassifierTrainOptions,
    'lm' | 'fromScratch' | 'resume' | 'l2sp' | (typeof FROM_SCRATCH_ONLY)[number][0]
  >,
): void {
  if (options.lm !== undefined && options.fromScratch) {
    throw usageError(
      '--lm and --from-scratch exclude each other',
      'pass --lm <encoder-dir> to transfer, or --from-scratch for random weights',
    );
  }
  const ignored = FROM_SCRATCH_ONLY.filter(([key]) => options[key] !== undefined).map(([, flag]) => flag);
  if (!options.fromScratch && ignored.length > 0) {
    throw usageError(
      `${ignored.join(', ')} only apply with --from-scratch; with --lm the encoder fixes the architecture, vocab and tokenizer`,
      `drop ${ignored.length > 1 ? 'them' : 'it'}, or train from random weights with --from-scratch`,
    );
  }
  if (options.fromScratch && (options.l2sp ?? 0) > 0) {
    throw usageError(
      '--l2sp pulls the encoder towards the language model it came from; --from-scratch has none',
      'drop --l2sp, or pass --lm <encoder, lm or run directory> instead of --from-scratch',
    );
  }
  if (options.lm === undefined && !options.fromScratch && !options.resume) {
    throw usageError(
      'no encoder given',
      'pass --lm <encoder, lm or run directory> (ULMFiT), or --from-scratch to train from random weights',
    );
  }
}

/** The encoder (or LM) a classifier starts from; a direction the caller gave must be its own. */
export function loadEncoder(path: string, backwards: boolean | undefined): LoadedModelDir {
  const dir = resolveModelDir(path, { prefer: 'encoder' });
  const loaded = readModelDir(dir, { kind: ['encoder', 'lm'] });
  if (backwards !== undefined && loaded.meta.backwards !== backwards) {
    throw new UlmfitError(
      'E_MODEL_MISMATCH',
      `${loaded.dir} is a ${loaded.meta.backwards ? 'backwards' : 'forwards'} encoder but this run is ${backwards ? 'backwards' : 'forwards'}`,
      loaded.meta.backwards
        ? 'add --backwards, or pass a forwards encoder'
        : 'drop --backwards, or pass a backwards encoder (finetune-lm --backwards)',
    );
  }
  return loaded;
}

/** A tokenized corpus directory must share the encoder's vocab: say which directories differ. */
function checkCorpusVocab(inputs: readonly string[], encoder: LoadedModelDir): void {
  if (inputs.length !== 1 || !isCorpusDir(inputs[0]!)) return;
  const corpusMeta = JSON.parse(readFileSync(join(inputs[0]!, 'meta.json'), 'utf8')) as {
    vocabSha256?: string;
    vocabSize?: number;
  };
  if (corpusMeta.vocabSha256 !== vocabSha256(encoder.vocab)) {
    throw new UlmfitError(
      'E_MODEL_MISMATCH',
      `the corpus ${inputs[0]} (vocab of ${corpusMeta.vocabSize ?? '?'} tokens) and the encoder ${encoder.dir} (vocab of ${encoder.vocab.length} tokens) have different vocabularies`,
      `pass the raw text instead, or re-tokenize it with ulmfit tokenize --vocab ${encoder.dir}`,
    );
  }
}

/** The classifier's AWD-LSTM config: the encoder's sizes with fastai's classifier dropouts × drop_mult. */
function classifierConfig(
  encoder: LoadedModelDir | undefined,
  options: ClassifierTrainOptions,
): AwdLstmConfig {
  const sizes = encoder
    ? {
        emb_sz: encoder.meta.arch.emb_sz,
        n_hid: encoder.meta.arch.n_hid,
        n_layers: encoder.meta.arch.n_layers,
        pad_token: encoder.meta.arch.pad_token,
      }
    : {
        emb_sz: options.emb ?? AWD_LSTM_LM_CONFIG.emb_sz,
        n_hid: options.hidden ?? AWD_LSTM_LM_CONFIG.n_hid,
        n_layers: options.layers ?? AWD_LSTM_LM_CONFIG.n_layers,
        pad_token: AWD_LSTM_LM_CONFIG.pad_token,
      };
  const dropMult = options.dropMult ?? CLASSIFIER_DEFAULTS.dropMult;
  if (!(dropMult >= 0)) throw usageError(`--drop-mult must be ≥ 0, got ${dropMult}`);
  return withDropMult({ ...AWD_LSTM_CLAS_CONFIG, ...sizes }, dropMult);
}
