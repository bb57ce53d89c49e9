/** `ulmfit train-classifier`: stage 3 of ULMFiT, a text classifier on a language model's encoder (options: config/training.ts). */
import type { Command } from 'commander';
import { trainClassifier, type ClassifierTrainOptions } from '../tasks/classifier.js';
import { defaultTokenizerSettings } from '../text/settings.js';
import { parseRecipe } from '../train/recipe.js';
import { epochRecord } from '../tasks/epoch-record.js';
import { EpochTable, formatCell } from './epoch-table.js';
import type { ClassifierOutput } from './json-output.js';
import { TRAIN_CLASSIFIER } from '../config/training.js';
import type { CommandFlags } from '../config/schema.js';
import { addCommand, givenOptions } from './options.js';
import { join } from 'node:path';
import { RUN_LAYOUT } from '../io/artifact.js';
import { describeChoice } from '../tasks/ensemble-choice.js';

type Flags = CommandFlags<typeof TRAIN_CLASSIFIER>;

export function register(program: Command): void {
  addCommand(program, TRAIN_CLASSIFIER).action(async (inputs: string[], flags: Flags, command: Command) =>
    run(inputs, flags, givenOptions(command)),
  );
}

async function run(inputs: string[], flags: Flags, explicit: ReadonlySet<string>): Promise<void> {
  const table = new EpochTable(['trainLoss', 'validLoss', 'accuracy', 'f1Macro'], flags);
  const info = (message: string): void => {
    table.endProgress();
    if (!flags.quiet) process.stderr.write(message + '\n');
  };
  const fromScratch = flags.fromScratch ?? false;
  const stages = flags.schedule ? parseRecipe(flags.schedule) : undefined;
  const options: ClassifierTrainOptions = {
    inputs,
    out: flags.out,
    lm: flags.lm,
    fromScratch,
    valid: flags.valid,
    validPct: flags.validPct,
    emb: flags.emb,
    hidden: flags.hidden,
    layers: flags.layers,
    dropMult: flags.dropMult,
    labelSmoothing: flags.labelSmoothing,
    l2sp: flags.l2sp,
    pool: flags.pool,
    bs: flags.bs,
    networks: flags.networks,
    bptt: flags.bptt,
    maxLen: flags.maxLen,
    stages,
    lr: flags.lr,
    epochs: flags.epochs,
    wd: flags.wd,
    clip: flags.clip,
    alpha: flags.alpha,
    beta: flags.beta,
    seed: flags.seed,
    backwards: flags.backwards,
    // --no-rules without --from-scratch is passed on, for the task to refuse (the encoder has its tokenizer).
    settings:
      fromScratch || !flags.rules ? defaultTokenizerSettings(flags.rules ? {} : { rules: false }) : undefined,
    minFreq: flags.minFreq,
    maxVocab: flags.maxVocab,
    textCol: flags.textCol,
    labelCol: flags.labelCol,
    ignoreLabels: flags.ignoreLabel,
    baseline: flags.baseline,
    workers: flags.workers,
    noCache: !flags.cache,
    cacheDir: flags.cacheDir,
    overwrite: flags.overwrite,
    resume: flags.resume,
    keepCheckpoint: flags.keepCheckpoint,
    explicit,
    backend: flags.backend,
    onInfo: info,
    onWarning: (message) => {
      table.endProgress();
      process.stderr.write(`warning: ${message}\n`);
    },
    onBatchEnd: table.batch,
    onEpochEnd: table.epoch,
  };
  const result = await trainClassifier(options);
  const best = result.best;
  if (flags.json) {
    process.stdout.write(
      JSON.stringify({
        run_dir: result.runDir,
        backend: result.backend,
        encoder: result.encoder,
        labels: result.labels,
        train_docs: result.trainDocs,
        valid_docs: result.validDocs,
        vocab_size: result.vocabSize,
        bs: result.bs,
        recipe: result.recipe,
        best: best ? epochRecord(best, 'classifier') : null,
        history: result.history.map((row) => epochRecord(row, 'classifier')),
        networks: result.networks.map((network) => ({
          run_dir: network.runDir,
          seed: network.seed,
          best: network.best,
        })),
        baseline: result.baseline
          ? {
              model: 'nbsvm',
              dir: result.baseline.out,
              accuracy: result.baseline.accuracy,
              f1_macro: result.baseline.f1Macro,
              train_seconds: result.baseline.trainSeconds,
            }
          : null,
        ensemble:
          result.baseline && result.ensemble
            ? {
                members: [...result.ensemble.networks, result.baseline.out],
                accuracy: result.ensemble.accuracy,
                f1_macro: result.ensemble.f1Macro,
              }
            : null,
        ensemble_choice: result.ensembleChoice,
      } satisfies ClassifierOutput) + '\n',
    );
  } else if (best) {
    info(
      `best: valid loss ${formatCell(best.validLoss, 'validLoss')}, accuracy ${formatCell(best.accuracy, 'accuracy')}, macro-F1 ${formatCell(best.f1Macro, 'f1Macro')} → ${result.runDir}`,
    );
    const base = result.baseline;
    if (base && base.accuracy !== null && best.accuracy !== null) {
      const diff = 100 * (best.accuracy - base.accuracy);
      const verdict =
        diff > 0
          ? `ULMFiT is ${diff.toFixed(1)} points better`
          : diff < 0
            ? `the baseline is ${(-diff).toFixed(1)} points better`
            : 'a tie';
      info(
        `vs the NB-SVM baseline on the same split: accuracy ${base.accuracy.toFixed(4)}, macro-F1 ${base.f1Macro?.toFixed(4) ?? '-'} (${verdict})`,
      );
    }
    const count = result.networks.length;
    if (count > 1) {
      const accuracies = result.networks.map((network) => network.best?.accuracy ?? null);
      info(
        `networks: ${count} (validation accuracy ${accuracies.map((a) => (a === null ? '-' : a.toFixed(4))).join(', ')}${result.validFrom === 'drawn' ? ', each on its own validation share' : ''})`,
      );
    }
    const alone = `--model ${join(result.runDir, RUN_LAYOUT.modelBest)} for the first network alone`;
    const choice = result.ensembleChoice;
    const ensemble = result.ensemble;
    const scores = ensemble
      ? `validation accuracy ${ensemble.accuracy.toFixed(4)}, macro-F1 ${ensemble.f1Macro.toFixed(4)}`
      : '';
    // When the run chose the baseline alone, the average is only a score: describeChoice says what classify uses.
    if (ensemble && (choice?.use === 'baseline' || ensemble.networks.length !== count))
      info(
        `model-best/ and baseline/ averaged: ${scores}` +
          (choice?.use === 'baseline'
            ? ''
            : `; classify --model ${result.runDir} averages all ${count} networks with baseline/, which these held-out documents cannot score (the other networks trained on some of them) (${alone})`),
      );
    else if (ensemble)
      info(
        `classify --model ${result.runDir} averages ${count > 1 ? `the ${count} networks' model-best/` : 'model-best/'} and baseline/: ${scores} (${alone})`,
      );
    if (choice) info(describeChoice(choice, result.runDir));
  }
}
