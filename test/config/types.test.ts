/**
 * The types derived from config/: checked by the type check (npm run typecheck), which is where a
 * wrong derivation or an option added on one side only fails.
 */
import { describe, expectTypeOf, it } from 'vitest';
import type {
  AttributeName,
  BackendName,
  CommandFlags,
  CommandSpec,
  LibraryOptions,
} from '../../src/config/schema.js';
import type { BASELINE, DEMO, FINETUNE_LM, PRETRAIN, TRAIN_CLASSIFIER } from '../../src/config/training.js';
import type { EVALUATE } from '../../src/config/inference.js';
import type { BENCH } from '../../src/config/utility.js';
import type { AwdLstmConfig } from '../../src/config/awd-lstm.js';
import type { ArchMeta } from '../../src/io/artifact.js';
import type { LmTrainOptions } from '../../src/tasks/lm.js';
import type { ClassifierTrainOptions } from '../../src/tasks/classifier.js';
import type { BaselineTrainOptions } from '../../src/tasks/baseline.js';
import type { LmEvalOptions } from '../../src/tasks/lm-eval.js';
import type { DemoOptions } from '../../src/tasks/demo.js';
import type { LrFindOptions } from '../../src/train/lr-find.js';
import type { Stage } from '../../src/train/learner.js';
import type { LrSpec } from '../../src/train/schedule.js';
import type { TokenizerSettings } from '../../src/text/settings.js';

/** The keys of a library option type that its command does not declare: the library's own. */
type Own<Options, Command extends CommandSpec> = Exclude<keyof Options, keyof LibraryOptions<Command>>;

describe('types derived from the declarations', () => {
  it('reads flag names as attributeName does', () => {
    expectTypeOf<AttributeName<'--valid-pct <p>'>>().toEqualTypeOf<'validPct'>();
    expectTypeOf<AttributeName<'--no-rules'>>().toEqualTypeOf<'rules'>();
    expectTypeOf<AttributeName<'--model <dir|name|name=dir>'>>().toEqualTypeOf<'model'>();
    expectTypeOf<AttributeName<'--max-body-bytes <n>'>>().toEqualTypeOf<'maxBodyBytes'>();
  });

  it("types commander's flags: defaults and --no- switches always set, lists, choices", () => {
    type Pretrain = CommandFlags<typeof PRETRAIN>;
    expectTypeOf<Pretrain['bptt']>().toEqualTypeOf<number>();
    expectTypeOf<Pretrain['lr']>().toEqualTypeOf<string | undefined>();
    expectTypeOf<Pretrain['rules']>().toEqualTypeOf<boolean>();
    expectTypeOf<Pretrain['valid']>().toEqualTypeOf<string[] | undefined>();
    expectTypeOf<Pretrain['backend']>().toEqualTypeOf<BackendName>();
    expectTypeOf<Pretrain['out']>().toEqualTypeOf<string>();
    expectTypeOf<CommandFlags<typeof BENCH>['update']>().toEqualTypeOf<'replicated' | 'broadcast'>();
    expectTypeOf<CommandFlags<typeof BASELINE>['ngrams']>().toEqualTypeOf<number>();
    // Of two commands, a flag is always set only where both always set it.
    type Lm = CommandFlags<typeof PRETRAIN | typeof FINETUNE_LM>;
    expectTypeOf<Lm['dropMult']>().toEqualTypeOf<number | undefined>();
    expectTypeOf<Lm['pretrained']>().toEqualTypeOf<string | undefined>();
    expectTypeOf<Lm['bptt']>().toEqualTypeOf<number>();
  });

  it('types the library options from the commands: every other field is listed here', () => {
    expectTypeOf<Own<LmTrainOptions, typeof PRETRAIN | typeof FINETUNE_LM>>().toEqualTypeOf<
      | 'inputs'
      | 'config'
      | 'embInit'
      | 'onBeforeTraining'
      | 'explicit'
      | 'onInfo'
      | 'onBatchEnd'
      | 'onEpochEnd'
    >();
    expectTypeOf<Exclude<keyof LibraryOptions<typeof PRETRAIN>, keyof LmTrainOptions>>().toBeNever();
    expectTypeOf<Exclude<keyof LibraryOptions<typeof FINETUNE_LM>, keyof LmTrainOptions>>().toBeNever();
    expectTypeOf<LmTrainOptions['out']>().toEqualTypeOf<string>();
    expectTypeOf<LmTrainOptions['pretrained']>().toEqualTypeOf<string | undefined>();
    expectTypeOf<LmTrainOptions['stages']>().toEqualTypeOf<Stage[] | undefined>();
    expectTypeOf<LmTrainOptions['lr']>().toEqualTypeOf<LrSpec | undefined>();
    expectTypeOf<LmTrainOptions['settings']>().toEqualTypeOf<TokenizerSettings | undefined>();
    expectTypeOf<LmTrainOptions>().not.toHaveProperty('json');

    expectTypeOf<Own<ClassifierTrainOptions, typeof TRAIN_CLASSIFIER>>().toEqualTypeOf<
      'inputs' | 'onWarning' | 'explicit' | 'onInfo' | 'onBatchEnd' | 'onEpochEnd'
    >();
    expectTypeOf<
      Exclude<keyof LibraryOptions<typeof TRAIN_CLASSIFIER>, keyof ClassifierTrainOptions>
    >().toBeNever();
    expectTypeOf<ClassifierTrainOptions['lr']>().toEqualTypeOf<number | undefined>();
    expectTypeOf<ClassifierTrainOptions['ignoreLabels']>().toEqualTypeOf<string[] | undefined>();

    expectTypeOf<Own<BaselineTrainOptions, typeof BASELINE>>().toEqualTypeOf<
      'inputs' | 'nbsvm' | 'refitOnAll' | 'onInfo' | 'onWarning'
    >();
    expectTypeOf<Own<LmEvalOptions, typeof EVALUATE>>().toEqualTypeOf<
      'inputs' | 'vocabFrom' | 'minFreq' | 'maxVocab' | 'workers' | 'noCache' | 'cacheDir'
    >();
    expectTypeOf<LmEvalOptions['model']>().toEqualTypeOf<string>();
    expectTypeOf<Pick<LrFindOptions, 'startLr' | 'endLr' | 'numIt'>>().toEqualTypeOf<{
      startLr?: number | undefined;
      endLr?: number | undefined;
      numIt?: number | undefined;
    }>();
    expectTypeOf<Own<DemoOptions, typeof DEMO>>().toEqualTypeOf<
      'workers' | 'plan' | 'print' | 'onInfo' | 'onBatchEnd' | 'onEpochEnd'
    >();
  });

  it("makes meta.json's arch the model's config", () => {
    expectTypeOf<ArchMeta>().toMatchTypeOf<AwdLstmConfig>();
    expectTypeOf<keyof AwdLstmConfig>().toEqualTypeOf<
      | 'emb_sz'
      | 'n_hid'
      | 'n_layers'
      | 'pad_token'
      | 'hidden_p'
      | 'input_p'
      | 'embed_p'
      | 'weight_p'
      | 'output_p'
      | 'tie_weights'
      | 'out_bias'
    >();
    expectTypeOf<AwdLstmConfig['tie_weights']>().toEqualTypeOf<boolean>();
    expectTypeOf<AwdLstmConfig['hidden_p']>().toEqualTypeOf<number>();
  });
});
