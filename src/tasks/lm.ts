/**
 * Stages 1 and 2 of ULMFiT as library functions: `trainLanguageModel` pretrains an AWD-LSTM from
 * scratch or fine-tunes a pretrained one (fastai's `language_model_learner` + recipe), writing a
 * run directory (design.md §3) with model-last/, model-best/, encoder/, checkpoint/,
 * metrics.jsonl and config.json. `ulmfit pretrain` and `ulmfit finetune-lm` are thin wrappers.
 */
import { initBackend } from '../backend.js';
import type { LibraryOptions } from '../config/schema.js';
import {
  LM_DEFAULTS,
  LM_RUN_CONFIG,
  TRAINING_DEFAULTS,
  type FINETUNE_LM,
  type PRETRAIN,
} from '../config/training.js';
import { UlmfitError, usageError } from '../errors.js';
import { splitValid, LmStream } from '../data/lm-stream.js';
import {
  readModelDir,
  resolveModelDir,
  RUN_LAYOUT,
  type ArchMeta,
  type LoadedModelDir,
  type ModelDirContents,
} from '../io/artifact.js';
import { materialize, type TensorEntry, type TensorSource } from '../io/tensors.js';
import {
  AWD_LSTM_LM_CONFIG,
  LanguageModel,
  withDropMult,
  type AwdLstmConfig,
  type EmbeddingInit,
} from '../model/awd-lstm.js';
import { weightReaders, withTfWeights } from '../model/persist.js';
import {
  appendPretrainedVocab,
  matchEmbeds,
  MAX_VOCAB,
  pretrainedTokensToAppend,
} from '../model/transfer.js';
import { Rng } from '../random.js';
import { defaultTokenizerSettings, type TokenizerSettings } from '../text/settings.js';
import { checkDataParallel, DataParallelLm } from '../train/data-parallel.js';
import { Learner, type EpochRow, type Stage } from '../train/learner.js';
import type { LrSpec } from '../train/schedule.js';
import { lrFind, type LrFindOptions, type LrFindResult } from '../train/lr-find.js';
import { corpusInputOptions, loadCorpusInput } from './corpus-input.js';
import { planLmRecipe } from './recipe-plan.js';
import { validateStages } from './run-dir.js';
import { Run, type TrainingTaskOptions } from './run.js';

/**
 * Pretraining and fine-tuning: the options of `ulmfit pretrain` and `ulmfit finetune-lm` as
 * config/training.ts declares them (each with its help, default and range; LibraryOptions types
 * them), but three the library takes in a richer form than the flag's text, and the library's own.
 */
export interface LmTrainOptions
  extends
    Omit<LibraryOptions<typeof PRETRAIN | typeof FINETUNE_LM>, 'stages' | 'lr' | 'settings'>,
    TrainingTaskOptions {
  inputs: string[];
  /**
   * Exact architecture values that replace the ones above after `dropMult` is applied (e.g. every
   * dropout probability by name); ignored when fine-tuning.
   */
  config?: Partial<AwdLstmConfig> | undefined;
  /** Embedding initialisation when pretraining: fastai's U(-0.1, 0.1) (default) or N(0, 1). */
  embInit?: EmbeddingInit | undefined;
  /**
   * The whole recipe, used as given (`--schedule`). Default: pretrain = one one-cycle fit, finetune =
   * fastai's two stages, whose main stage is stretched on a small corpus (recipe-plan.ts).
   */
  stages?: Stage[] | undefined;
  /** The default recipe's main stage lr (`--lr`'s text, parsed: train/schedule.ts parseLr). */
  lr?: LrSpec | undefined;
  /** Tokenizer for raw inputs when pretraining (`--no-rules`); fine-tuning always uses the pretrained model's. */
  settings?: TokenizerSettings | undefined;
  /**
   * Fine-tuning with validation text, not resuming: the pretrained model's validation score in
   * the corpus vocab (after match_embeds, on the run's own validation batches) before the first
   * epoch, the "before" row. The same pass as `evaluateLanguageModel` with `vocabFrom` (lm-eval.ts).
   */
  onBeforeTraining?: ((score: LmScore) => void) | undefined;
}

/** A language model's validation score (one pass, dropout off). */
export interface LmScore {
  validLoss: number;
  accuracy: number;
  perplexity: number;
  /** Wall time of the pass. */
  seconds: number;
}

export interface LmTrainResult {
  runDir: string;
  history: EpochRow[];
  best: EpochRow | undefined;
  vocabSize: number;
  trainTokens: number;
  validTokens: number;
  /** Fine-tuning: new-vocab tokens found in the pretrained vocab. */
  transferFound?: number | undefined;
  /** Fine-tuning: the score before the first epoch (see `onBeforeTraining`); null otherwise or on resume. */
  before: LmScore | null;
  /** The training curves drawn into the run directory (tasks/training-plot.ts). */
  plot: string;
  backend: string;
}

/** fastai's recipes (config/training.ts LM_DEFAULTS): from scratch one stage; fine-tuning, the embedding/decoder group first, then all. */
export function defaultLmStages(finetune: boolean, epochs?: number, lr?: LrSpec): Stage[] {
  const d = LM_DEFAULTS;
  if (!finetune) return [{ epochs: epochs ?? d.pretrainEpochs, lr: lr ?? d.pretrainLr, freezeTo: 0 }];
  return [
    { freezeTo: -1, epochs: d.frozenEpochs, lr: d.frozenLr },
    { freezeTo: 0, epochs: epochs ?? d.finetuneEpochs, lr: lr ?? d.finetuneLr },
  ];
}

/** Options that shape the run and are stored in config.json (what `--resume` restores): from the commands' options. */
const PERSISTED = LM_RUN_CONFIG as readonly (keyof LmTrainOptions)[];

/** Everything a language-model run needs before training starts. */
interface LmSetup {
  backend: string;
  rng: Rng;
  seed: number;
  model: LanguageModel;
  config: AwdLstmConfig;
  itos: string[];
  settings: TokenizerSettings;
  spmModel: Uint8Array | undefined;
  backwards: boolean;
  trainStream: LmStream;
  validStream: LmStream | undefined;
  /** The recipe to run: as given, or the default one planned for the corpus size. */
  stages: Stage[];
  trainTokens: number;
  validTokens: number;
  transferFound: number | undefined;
  /** Fine-tuning with keepPretrainedVocab: the pretrained model, whose other tokens encoder/ appends. */
  pretrained: LoadedModelDir | undefined;
  /** Closes the corpora (and removes temporary ones). The model is disposed separately. */
  close(): void;
}

/**
 * Loads and splits the corpus (tokenizing raw inputs through the cache), builds the model and,
 * when fine-tuning, transfers the pretrained weights with match_embeds.
 */
async function setUpLanguageModel(options: LmTrainOptions): Promise<LmSetup> {
  const info = options.onInfo ?? (() => undefined);
  const backend = await initBackend(options.backend ?? 'auto');
  const seed = options.seed ?? TRAINING_DEFAULTS.seed;
  const rng = new Rng(seed);
  const pretrained =
    options.pretrained !== undefined ? loadPretrained(options.pretrained, options.backwards) : undefined;
  const settings = pretrained
    ? (pretrained.tokenizer as unknown as TokenizerSettings)
    : (options.settings ?? defaultTokenizerSettings());
  const backwards = pretrained ? pretrained.meta.backwards : (options.backwards ?? false);
  if (options.backwards === undefined && pretrained?.meta.backwards)
    info(`backwards model (${pretrained.dir}): text is read right to left`);
  const tokenizeOptions = corpusInputOptions(settings, options, pretrained?.spmModel);
  const train = await loadCorpusInput(options.inputs, {
    ...tokenizeOptions,
    ...(pretrained ? { requireSettings: settings } : {}),
  });
  const closers = [train.close];
  const close = (): void => {
    for (const c of closers) c();
  };
  try {
    const corpus = train.corpus;
    // A corpus directory carries its own tokenizer (e.g. subword); the model must record that one.
    const corpusSettings = corpus.settings;
    const itos = [...corpus.vocab.itos];
    info(
      `corpus: ${corpus.numDocs} documents, ${corpus.numTokens} tokens, vocab ${itos.length}${train.hit ? ' (cached)' : ''}`,
    );
    const { trainDocs, validDocs } = await splitDocuments(
      options,
      corpus,
      itos,
      tokenizeOptions,
      rng,
      closers,
    );
    const trainTokens = trainDocs.reduce((n, d) => n + d.length, 0);
    const validTokens = validDocs.reduce((n, d) => n + d.length, 0);

    const config: AwdLstmConfig = pretrained
      ? withDropMult(
          pretrained.meta.arch as unknown as AwdLstmConfig,
          options.dropMult ?? LM_DEFAULTS.dropMult,
        )
      : {
          ...withDropMult(
            {
              ...AWD_LSTM_LM_CONFIG,
              emb_sz: options.emb ?? AWD_LSTM_LM_CONFIG.emb_sz,
              n_hid: options.hidden ?? AWD_LSTM_LM_CONFIG.n_hid,
              n_layers: options.layers ?? AWD_LSTM_LM_CONFIG.n_layers,
            },
            options.dropMult ?? LM_DEFAULTS.dropMult,
          ),
          ...options.config,
        };
    const bptt = options.bptt ?? TRAINING_DEFAULTS.bptt;
    const finetune = pretrained !== undefined;
    const stagesGiven = options.stages !== undefined || options.epochs !== undefined;
    const defaultStages = options.stages ?? defaultLmStages(finetune, options.epochs, options.lr);
    // Fine-tuning on a small corpus gets a bs and a main stage that make enough steps; pretraining
    // keeps the recipe it is given.
    const plan = finetune
      ? planLmRecipe({ tokens: trainTokens, bptt, bs: options.bs, stages: defaultStages, stagesGiven })
      : undefined;
    if (plan) info(`recipe: ${plan.reason}`);
    const bs = plan?.bs ?? options.bs ?? LM_DEFAULTS.bs;
    const stages = plan?.stages ?? defaultStages;
    validateStages(stages);
    const replicas = options.trainWorkers ?? TRAINING_DEFAULTS.trainWorkers;
    if (!Number.isInteger(replicas) || replicas < 1 || replicas > bs) {
      throw usageError(
        `--train-workers must be a whole number from 1 to --bs (${bs}), got ${replicas}`,
        'each replica needs at least one row of every batch',
      );
    }
    checkDataParallel(replicas, backend);
    const trainStream = new LmStream(trainDocs, { bs, bptt, shuffle: true, rng, backwards });
    if (trainStream.numBatches === 0) {
      throw new UlmfitError(
        'E_INPUT_EMPTY',
        `the training text has ${trainTokens} tokens, too few for --bs ${bs}`,
        'give more text or a smaller --bs',
      );
    }
    const validStream = validDocs.length > 0 ? new LmStream(validDocs, { bs, bptt, backwards }) : undefined;

    const model = new LanguageModel(itos.length, config, {
      rng,
      alpha: options.alpha ?? TRAINING_DEFAULTS.alpha,
      beta: options.beta ?? TRAINING_DEFAULTS.beta,
      ...(options.embInit && !pretrained ? { embInit: options.embInit } : {}),
    });
    let transferFound: number | undefined;
    if (pretrained) {
      try {
        const matched = matchEmbeds(pretrained.weights, pretrained.vocab, itos);
        transferFound = matched.found;
        info(
          `transfer: ${matched.found} of ${itos.length} vocab tokens found in the pretrained vocab (${pct(matched.found / itos.length)}); the rest start from the mean embedding`,
        );
        withTfWeights(matched.weights, (tensors) => model.loadWeights(tensors));
      } catch (error) {
        model.dispose();
        throw error;
      }
    }
    return {
      backend,
      rng,
      seed,
      model,
      config,
      itos,
      settings: corpusSettings,
      spmModel: pretrained?.spmModel ?? train.spmModel,
      backwards,
      trainStream,
      validStream: validStream && validStream.numBatches > 0 ? validStream : undefined,
      stages,
      trainTokens,
      validTokens,
      transferFound,
      close,
      // Held for the whole run only when the saves need its rows (WT103's weights are ~160 MB).
      pretrained: options.keepPretrainedVocab ? pretrained : undefined,
    };
  } catch (error) {
    close();
    throw error;
  }
}

export async function trainLanguageModel(given: LmTrainOptions): Promise<LmTrainResult> {
  return Run.with(given, 'lm', PERSISTED, given.onInfo ?? (() => undefined), trainInRunDir);
}

/** The training itself, holding the run directory's lock. */
async function trainInRunDir(run: Run<LmTrainOptions>, options: LmTrainOptions): Promise<LmTrainResult> {
  const info = options.onInfo ?? (() => undefined);
  const finetune = options.pretrained !== undefined;
  if (options.stages) validateStages(options.stages);
  const setup = await setUpLanguageModel(options);
  const { model, itos, settings, backwards, config, trainStream, validStream, backend, seed, rng, stages } =
    setup;
  try {
    const runDir = run.dir;
    const arch: ArchMeta = { name: 'awd_lstm', ...config };
    // With keepPretrainedVocab, the encoder handed to train-classifier keeps the pretrained model's
    // other tokens after the corpus's. The language models (model-best/, model-last/) keep the
    // vocab they were trained and validated in, so `evaluate` and `generate` agree with the
    // training table; the checkpoint and resume keep it too.
    const appendFrom = options.keepPretrainedVocab ? setup.pretrained : undefined;
    const maxVocab = options.maxVocab ?? MAX_VOCAB;
    const appended = appendFrom ? pretrainedTokensToAppend(itos, appendFrom.vocab, maxVocab).length : 0;
    if (appended > 0)
      info(
        `vocab: the encoder keeps the pretrained model's ${appended} other tokens after the corpus's ${itos.length} (${itos.length + appended})`,
      );
    /** encoder/'s weights and vocab: the LM's without the decoder, with the pretrained tokens appended when asked. */
    const encoderOf = (weights: TensorSource): { weights: TensorSource; vocab: string[] } => {
      const extended = appendFrom
        ? appendPretrainedVocab(materialize(weights), itos, appendFrom.weights, appendFrom.vocab, maxVocab)
        : { weights, itos };
      return { weights: encoderWeights(extended.weights), vocab: extended.itos };
    };
    const common = {
      vocab: itos,
      tokenizer: settings as unknown as Record<string, unknown>,
      ...(setup.spmModel ? { spmModel: setup.spmModel } : {}),
    };
    const saveEncoder = finetune || (options.saveEncoder ?? false);
    const training = { seed, backend, pretrained: options.pretrained ?? null, stages };

    const learner = new Learner(model, {
      train: trainStream,
      valid: validStream,
      rng,
      wd: options.wd,
      clip: options.clip,
      onBatchEnd: options.onBatchEnd,
      onEpochEnd: async (row, l) => {
        const weights = weightReaders(model.namedWeights());
        const meta = { arch, backwards, training: { ...training, history: l.history } };
        const lm: ModelDirContents = { meta: { kind: 'lm', ...meta }, weights, ...common };
        const encoder = {
          name: RUN_LAYOUT.encoder,
          contents: (): ModelDirContents => ({
            meta: { kind: 'encoder', ...meta },
            ...common,
            ...encoderOf(weights),
          }),
        };
        run.saveEpoch(row, l.getLiveState(), weights, lm, saveEncoder ? [encoder] : []);
        await options.onEpochEnd?.(row);
      },
    });
    try {
      run.start(learner, model, { ...options, bs: trainStream.bs, stages });
      info(
        `training on ${setup.trainTokens} tokens (${trainStream.numBatches} batches of ${trainStream.bs}×${trainStream.bptt}), validating on ${setup.validTokens}; backend ${backend}`,
      );
      const replicas = options.trainWorkers ?? TRAINING_DEFAULTS.trainWorkers;
      const parallel =
        replicas > 1
          ? await DataParallelLm.create({ replicas, model, optimizer: learner.optimizer, clip: options.clip })
          : undefined;
      if (parallel) {
        learner.useStepper(parallel);
        info(
          `data-parallel training: the ${trainStream.bs} rows of each batch split across ${replicas} replicas (the main thread and ${replicas - 1} worker thread${replicas > 2 ? 's' : ''})`,
        );
      }
      let before: LmScore | null = null;
      if (finetune && validStream && !options.resume) {
        const started = performance.now();
        const score = learner.validate(validStream);
        before = {
          validLoss: score.loss,
          accuracy: score.accuracy,
          perplexity: score.perplexity,
          seconds: (performance.now() - started) / 1000,
        };
        options.onBeforeTraining?.(before);
      }
      try {
        await learner.fitRecipe(stages);
      } finally {
        await parallel?.close();
      }
      const history = learner.history;
      const finished = run.finish(options);
      return {
        runDir,
        history,
        best: run.bestOf(history),
        vocabSize: itos.length,
        trainTokens: setup.trainTokens,
        validTokens: setup.validTokens,
        transferFound: setup.transferFound,
        before,
        plot: finished.plot,
        backend,
      };
    } finally {
      learner.dispose();
    }
  } finally {
    model.dispose();
    setup.close();
  }
}

export interface LmLrFindOptions extends Omit<
  LmTrainOptions,
  | 'out'
  | 'stages'
  | 'resume'
  | 'overwrite'
  | 'saveEncoder'
  | 'keepCheckpoint'
  | 'onEpochEnd'
  | 'onBatchEnd'
  | 'onBeforeTraining'
> {
  /** fastai freezes a pretrained model before lr_find; `unfreeze` searches for the full model. */
  unfreeze?: boolean | undefined;
  /** start/end lr, number of batches, divergence stop. */
  find?: LrFindOptions | undefined;
}

/**
 * fastai's `lr_find` on a language model: exponentially growing lr over `numIt` batches, weights
 * restored afterwards; returns the curve and the valley suggestion.
 */
export async function findLanguageModelLr(
  options: LmLrFindOptions,
): Promise<LrFindResult & { backend: string }> {
  const setup = await setUpLanguageModel({ ...options, out: '' });
  try {
    const learner = new Learner(setup.model, {
      train: setup.trainStream,
      rng: setup.rng,
      wd: options.wd,
      clip: options.clip,
    });
    try {
      if (options.pretrained !== undefined && !options.unfreeze) learner.freeze();
      const result = await lrFind(learner, options.find ?? {});
      return { ...result, backend: setup.backend };
    } finally {
      learner.dispose();
    }
  } finally {
    setup.model.dispose();
    setup.close();
  }
}

/**
 * The pretrained model fine-tuning starts from. The run reads text in the model's direction; a
 * direction the caller asked for (`backwards` given) must be the model's.
 */
function loadPretrained(path: string, wantBackwards: boolean | undefined): LoadedModelDir {
  const loaded = readModelDir(resolveModelDir(path, { prefer: 'lm' }), { kind: ['lm'] });
  if (wantBackwards !== undefined && loaded.meta.backwards !== wantBackwards) {
    throw new UlmfitError(
      'E_MODEL_MISMATCH',
      `${loaded.dir} is a ${loaded.meta.backwards ? 'backwards' : 'forwards'} language model but this run is ${wantBackwards ? 'backwards' : 'forwards'}`,
      wantBackwards
        ? 'pass a backwards model (import-fastai --backwards, pretrain --backwards)'
        : 'add --backwards, or pass a forwards model',
    );
  }
  return loaded;
}

async function splitDocuments(
  options: LmTrainOptions,
  corpus: import('../text/corpus.js').Corpus,
  itos: string[],
  tokenizeOptions: Parameters<typeof loadCorpusInput>[1],
  rng: Rng,
  closers: (() => void)[],
): Promise<{ trainDocs: Int32Array[]; validDocs: Int32Array[] }> {
  const all = (ids: number[]): Int32Array[] => ids.map((i) => corpus.doc(i));
  if (options.valid && options.valid.length > 0) {
    const valid = await loadCorpusInput(options.valid, { ...tokenizeOptions, vocab: itos });
    closers.push(valid.close);
    const validDocs = [...Array(valid.corpus.numDocs).keys()].map((i) => valid.corpus.doc(i));
    return { trainDocs: all([...Array(corpus.numDocs).keys()]), validDocs };
  }
  if (corpus.splits && corpus.docsInSplit('valid').length > 0 && options.validPct === undefined) {
    const valid = corpus.docsInSplit('valid');
    const validSet = new Set(valid);
    return {
      trainDocs: all([...Array(corpus.numDocs).keys()].filter((i) => !validSet.has(i))),
      validDocs: all(valid),
    };
  }
  const validPct = options.validPct ?? LM_DEFAULTS.validPct;
  if (!(validPct >= 0 && validPct < 1)) throw usageError(`--valid-pct must be in [0, 1), got ${validPct}`);
  const split = splitValid(corpus.numDocs, validPct, rng);
  return { trainDocs: all(split.train), validDocs: all(split.valid) };
}

/** The encoder's own state dict (fastai `save_encoder`): the LM's `0.` entries without the prefix. */
function encoderWeights(lmWeights: TensorSource): TensorSource {
  const out = new Map<string, TensorEntry>();
  for (const [name, tensor] of lmWeights) if (name.startsWith('0.')) out.set(name.slice(2), tensor);
  return out;
}

function pct(x: number): string {
  return `${(100 * x).toFixed(1)}%`;
}
