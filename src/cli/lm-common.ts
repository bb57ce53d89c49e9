/** The flags (as commander parses config/training.ts's options) and the action shared by `ulmfit pretrain` and `ulmfit finetune-lm`. */
import { trainLanguageModel, type LmTrainOptions } from '../tasks/lm.js';
import { parseRecipe } from '../train/recipe.js';
import { parseLr } from '../train/schedule.js';
import { defaultTokenizerSettings } from '../text/settings.js';
import { epochRecord } from '../tasks/epoch-record.js';
import { EpochTable, formatCell } from './epoch-table.js';
import type { LmOutput } from './json-output.js';
import type { CommandFlags } from '../config/schema.js';
import type { FINETUNE_LM, PRETRAIN } from '../config/training.js';

/** The flags of pretrain or finetune-lm: the ones only one of them has (or defaults) are optional here. */
export type LmFlags = CommandFlags<typeof PRETRAIN | typeof FINETUNE_LM>;

export async function runLm(
  inputs: string[],
  flags: LmFlags,
  finetune: boolean,
  explicit?: ReadonlySet<string>,
): Promise<void> {
  const table = new EpochTable(['trainLoss', 'validLoss', 'accuracy', 'perplexity'], flags);
  const info = (message: string): void => {
    if (!flags.quiet) process.stderr.write(message + '\n');
  };
  const settings = defaultTokenizerSettings(flags.rules ? {} : { rules: false, lowercase: false });
  const stages = flags.schedule ? parseRecipe(flags.schedule) : undefined;
  const options: LmTrainOptions = {
    inputs,
    out: flags.out,
    pretrained: flags.pretrained,
    valid: flags.valid,
    validPct: flags.validPct,
    emb: flags.emb,
    hidden: flags.hidden,
    layers: flags.layers,
    dropMult: flags.dropMult,
    bs: flags.bs,
    bptt: flags.bptt,
    stages,
    epochs: flags.epochs,
    lr: flags.lr !== undefined ? parseLr(flags.lr) : undefined,
    wd: flags.wd,
    clip: flags.clip,
    alpha: flags.alpha,
    beta: flags.beta,
    seed: flags.seed,
    backwards: flags.backwards,
    settings: finetune ? undefined : settings,
    minFreq: flags.minFreq,
    maxVocab: flags.maxVocab,
    textCol: flags.textCol,
    lineDocs: flags.lineDocs,
    workers: flags.workers,
    trainWorkers: flags.trainWorkers,
    noCache: !flags.cache,
    cacheDir: flags.cacheDir,
    saveEncoder: flags.saveEncoder,
    keepPretrainedVocab: flags.keepPretrainedVocab,
    overwrite: flags.overwrite,
    resume: flags.resume,
    keepCheckpoint: flags.keepCheckpoint,
    explicit,
    backend: flags.backend,
    onInfo: info,
    onBatchEnd: table.batch,
    onEpochEnd: table.epoch,
    onBeforeTraining: table.before,
  };
  const result = await trainLanguageModel(options);
  const best = result.best;
  if (flags.json) {
    const before = result.before
      ? {
          valid_loss: result.before.validLoss,
          accuracy: result.before.accuracy,
          perplexity: result.before.perplexity,
        }
      : null;
    process.stdout.write(
      JSON.stringify({
        run_dir: result.runDir,
        backend: result.backend,
        vocab_size: result.vocabSize,
        train_tokens: result.trainTokens,
        valid_tokens: result.validTokens,
        transfer_found: result.transferFound ?? null,
        before,
        best: best ? epochRecord(best, 'lm') : null,
        history: result.history.map((row) => epochRecord(row, 'lm')),
        plot: result.plot,
      } satisfies LmOutput) + '\n',
    );
  } else if (best) {
    info(
      `best: valid loss ${formatCell(best.validLoss, 'validLoss')}, accuracy ${formatCell(best.accuracy, 'accuracy')}, perplexity ${formatCell(best.perplexity, 'perplexity')} → ${result.runDir}`,
    );
  }
}
