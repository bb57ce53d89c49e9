import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/main.js';
import { INFERENCE_COMMANDS } from '../../src/config/inference.js';
import {
  attributeName,
  commandLine,
  FLAG_RANGES,
  rangeHelp,
  rangeOf,
  runConfigKeys,
  type CommandSpec,
} from '../../src/config/schema.js';
import { PROGRAM, UTILITY_COMMANDS } from '../../src/config/utility.js';
import { runInProcess } from '../support/in-process.js';
import {
  CLASSIFIER_RUN_CONFIG,
  LM_DEFAULTS,
  LM_RUN_CONFIG,
  PRETRAIN,
  TRAIN_CLASSIFIER,
  TRAINING_COMMANDS,
  defaultTokenizerWorkers,
} from '../../src/config/training.js';
import { AWD_LSTM_LM_CONFIG } from '../../src/model/awd-lstm.js';

const ALL_COMMANDS: readonly CommandSpec[] = [
  ...TRAINING_COMMANDS,
  ...INFERENCE_COMMANDS,
  ...UTILITY_COMMANDS,
];

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
        'labelSmoothing',
        'l2sp',
        'bs',
        'bptt',
        'maxLen',
        'stages',
        'lr',
        'epochs',
        'networks',
        'pool',
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
    for (const command of ALL_COMMANDS) {
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
    // A name the command lacks is a type error (commandLine's values are typed by the spec) and a runtime one.
    // @ts-expect-error: pretrain has no --lm
    expect(() => commandLine(PRETRAIN, { lm: 'x' })).toThrow(/pretrain has no option lm/);
  });
});

describe('every command built from its spec', () => {
  it("has a spec for each command, and its arguments, flags, help, defaults and required flags are the spec's", async () => {
    const program = await buildProgram();
    expect(program.commands.map((c) => c.name()).sort()).toEqual(ALL_COMMANDS.map((c) => c.name).sort());
    expect(program.description()).toBe(PROGRAM.description);
    expect(program.options.map((o) => o.flags)).toEqual([
      '-V, --version',
      ...PROGRAM.options.map((o) => o.flag),
    ]);
    for (const command of program.commands) {
      const spec = ALL_COMMANDS.find((c) => c.name === command.name())!;
      expect(command.description(), spec.name).toBe(spec.description);
      expect(
        command.registeredArguments.map((a) => ({
          syntax: `<${a.name()}${a.variadic ? '...' : ''}>`,
          help: a.description,
          ...(a.argChoices ? { choices: a.argChoices } : {}),
        })),
        spec.name,
      ).toEqual(spec.arguments ?? []);
      expect(
        command.options.map((o) => o.flags),
        spec.name,
      ).toEqual(spec.options.map((o) => o.flag));
      spec.options.forEach((option, i) => {
        const built = command.options[i]!;
        const range = rangeOf(option);
        const shown = range ? rangeHelp(range) : undefined;
        const help = option.help.replace('{cpus}', String(defaultTokenizerWorkers()));
        expect(built.description, `${spec.name} ${option.flag}`).toBe(
          shown ? `${help} [range ${shown}]` : help,
        );
        expect(built.defaultValue, `${spec.name} ${option.flag}`).toEqual(option.default);
        expect(built.mandatory, `${spec.name} ${option.flag}`).toBe(option.required ?? false);
      });
    }
  });

  it.each([
    [['serve', '--model', 'x', '--port', '70000'], '--port must be a whole number in [0, 65535], got 70000'],
    [
      ['serve', '--model', 'x', '--timeout-ms', '3000000000'],
      '--timeout-ms must be a whole number in [1, 2147483647]',
    ],
    [['bench', '--workers', '2000'], '--workers must be a whole number in [1, 1024], got 2000'],
    [['bench', '--workers', '0'], "'--workers <n>' argument '0' is invalid. expected a whole number ≥ 1"],
    [['tokenize', 'x', '--max-vocab', '99999999'], '--max-vocab must be a whole number in [1, 16777216]'],
    [
      ['baseline', 'x', '--out', 'y', '--ngrams', '3'],
      "'--ngrams <n>' argument '3' is invalid. expected 1 or 2",
    ],
    [['baseline', 'x', '--out', 'y', '--max-features', '1e9'], '--max-features must be a whole number'],
    [['generate', '--model', 'x', '--samples', '20000'], '--samples must be a whole number in [1, 10000]'],
    [
      ['classify', 'x', '--model', 'y', '--top-k', '99999999'],
      '--top-k must be a whole number in [1, 16777216]',
    ],
    [['evaluate', 'x', '--model', 'y', '--bptt', '70000'], '--bptt must be a whole number in [1, 65536]'],
    [['cache', 'ls', '--older-than', '99999'], '--older-than must be a number in [0, 36500]'],
  ])('checks the ranges of every command: %j', async (args, message) => {
    const run = await runInProcess(...args);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^error \[E_USAGE\]: /);
    expect(run.stderr).toContain(message);
    expect(run.stdout).toBe('');
  });
});
