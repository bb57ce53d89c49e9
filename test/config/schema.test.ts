import { describe, expect, it } from 'vitest';
import { attributeName, commandLine, FLAG_RANGES, runConfigKeys } from '../../src/config/schema.js';
import {
  CLASSIFIER_RUN_CONFIG,
  LM_DEFAULTS,
  LM_RUN_CONFIG,
  PRETRAIN,
  TRAIN_CLASSIFIER,
  TRAINING_COMMANDS,
} from '../../src/config/training.js';
import { AWD_LSTM_LM_CONFIG } from '../../src/model/awd-lstm.js';

describe('the settings schema (config/)', () => {
  it('stores in config.json every setting of a run and none of the run itself', () => {
    expect(new Set(LM_RUN_CONFIG)).toEqual(
      new Set([
        'inputs',
        'pretrained',
        'valid',
        'validPct',
        'emb',
        'hidden',
        'layers',
        'dropMult',
        'config',
        'embInit',
        'bs',
        'bptt',
        'stages',
        'epochs',
        'lr',
        'wd',
        'clip',
        'alpha',
        'beta',
        'seed',
        'backwards',
        'settings',
        'minFreq',
        'maxVocab',
        'textCol',
        'lineDocs',
        'saveEncoder',
        'keepPretrainedVocab',
        'trainWorkers',
      ]),
    );
    expect(new Set(CLASSIFIER_RUN_CONFIG)).toEqual(
      new Set([
        'inputs',
        'lm',
        'fromScratch',
        'valid',
        'validPct',
        'emb',
        'hidden',
        'layers',
        'dropMult',
        'bs',
        'bptt',
        'maxLen',
        'stages',
        'lr',
        'epochs',
        'wd',
        'clip',
        'alpha',
        'beta',
        'seed',
        'backwards',
        'settings',
        'minFreq',
        'maxVocab',
        'textCol',
        'labelCol',
        'ignoreLabels',
        'baseline',
      ]),
    );
    expect(runConfigKeys([PRETRAIN], ['config'])[0]).toBe('inputs');
  });

  it("keeps fastai's architecture defaults equal to the model's", () => {
    expect([LM_DEFAULTS.emb, LM_DEFAULTS.hidden, LM_DEFAULTS.layers]).toEqual([
      AWD_LSTM_LM_CONFIG.emb_sz,
      AWD_LSTM_LM_CONFIG.n_hid,
      AWD_LSTM_LM_CONFIG.n_layers,
    ]);
  });

  it('gives every option a flag once per command, and every numeric option a range', () => {
    for (const command of TRAINING_COMMANDS) {
      const names = command.options.map((option) => attributeName(option.flag));
      expect(new Set(names).size, command.name).toBe(names.length);
      for (const option of command.options) {
        if (option.parse === 'int' || option.parse === 'number' || option.parse === 'fraction') {
          expect(FLAG_RANGES[attributeName(option.flag)], `${command.name} ${option.flag}`).toBeDefined();
        }
      }
    }
  });

  it('writes command lines from option values, in the order given', () => {
    expect(
      commandLine(TRAIN_CLASSIFIER, {
        bs: 8,
        schedule: '-1:1@2e-2',
        overwrite: true,
        baseline: false,
        epochs: undefined,
      }),
    ).toEqual(['--bs', 8, '--schedule=-1:1@2e-2', '--overwrite', '--no-baseline']);
    expect(commandLine(TRAIN_CLASSIFIER, { baseline: true })).toEqual([]);
    expect(() => commandLine(PRETRAIN, { lm: 'x' })).toThrow(/pretrain has no option lm/);
  });
});
