/**
 * The subword flags of `ulmfit tokenize` (`--subword`, `--vocab-size`, `--lang`, `--spm-model`):
 * turn the tokenizer settings into fastai's SentencePiece tokenizer and get its model, by
 * training one on the inputs (fastai's `SentencePieceTokenizer.setup`) or reading a given one.
 */
import { readFile } from 'node:fs/promises';
import type { CommandFlags } from '../config/schema.js';
import type { TOKENIZE } from '../config/utility.js';
import { UlmfitError, usageError } from '../errors.js';
import type { SourceOptions } from '../data/sources.js';
import type { TokenizerSettings } from '../text/settings.js';
import { fastaiCharacterCoverage } from '../text/subword/defaults.js';
import { decodeModelProto } from '../text/subword/model-proto.js';
import { SPM_MODEL_FILE } from '../text/subword/subword-tokenizer.js';
import { trainSubwordModelFromInputs } from '../text/subword/train-from-inputs.js';
import type { Progress } from './progress.js';

export type SubwordFlags = Pick<
  CommandFlags<typeof TOKENIZE>,
  'subword' | 'vocabSize' | 'lang' | 'spmModel' | 'quiet'
>;

/**
 * Subword settings and model for `settings` (unchanged, without a model, when no subword flag is
 * set). A model from `--vocab <dir>` (`givenModel`) is reused; `--spm-model` is read; otherwise
 * a model is trained on the inputs, with progress on `progress`.
 */
export async function resolveSubword(
  inputs: readonly string[],
  flags: SubwordFlags,
  settings: TokenizerSettings,
  givenModel: Uint8Array | undefined,
  source: SourceOptions,
  progress: Progress,
): Promise<{ settings: TokenizerSettings; spmModel?: Uint8Array }> {
  const wanted = Boolean(flags.subword || flags.spmModel);
  if (flags.lang) settings.lang = flags.lang;
  if (!wanted) {
    if (flags.vocabSize !== undefined)
      throw usageError('--vocab-size is for subword tokenizers', 'add --subword');
    return givenModel ? { settings, spmModel: givenModel } : { settings };
  }
  if (flags.spmModel) {
    const model = await readFile(flags.spmModel).catch((err: NodeJS.ErrnoException) => {
      throw new UlmfitError(
        'E_INPUT_MISSING',
        `cannot read --spm-model ${flags.spmModel}: ${err.code ?? err.message}`,
        'give the path of a .model file',
      );
    });
    const bytes = new Uint8Array(model);
    const proto = decodeModelProto(bytes, flags.spmModel);
    const subword = {
      vocabSize: proto.pieces.length,
      characterCoverage: proto.trainerSpec.character_coverage ?? fastaiCharacterCoverage(settings.lang),
      modelFile: SPM_MODEL_FILE,
    };
    return { settings: { ...settings, kind: 'subword', subword }, spmModel: bytes };
  }
  if (givenModel && settings.kind === 'subword') return { settings, spmModel: givenModel };

  const trained = await trainSubwordModelFromInputs(inputs, {
    ...source,
    settings,
    ...(flags.vocabSize !== undefined ? { vocabSize: flags.vocabSize } : {}),
    onProgress: (p) => {
      if (p.stage === 'input')
        progress.update({
          done: p.bytesRead,
          total: p.totalBytes,
          counters: { docs: p.docs },
          text: 'reading for spm',
        });
      else progress.update({ text: `training spm: ${p.stage}${p.pieces ? ` ${p.pieces} pieces` : ''}` });
    },
  });
  progress.finish();
  if (!flags.quiet) {
    const short =
      trained.subword.vocabSize < trained.vocabSizeAsked
        ? ` (asked ${trained.vocabSizeAsked}: the text supports no more)`
        : '';
    process.stderr.write(
      `trained spm.model: ${trained.subword.vocabSize} pieces${short} on ${trained.sentences} lines\n`,
    );
  }
  return { settings: { ...settings, kind: 'subword', subword: trained.subword }, spmModel: trained.model };
}
