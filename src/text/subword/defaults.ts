/**
 * fastai's SentencePiece settings (`SentencePieceTokenizer`, fastai/text/core.py): the vocab size
 * rule, the character coverage per language, and the special tokens as user-defined pieces.
 */
import { DEFAULT_SPECIALS } from '../specials.js';
import type { TrainUnigramOptions } from './trainer.js';

/** fastai's `max_vocab_sz`: the default vocab size never exceeds this. */
export const FASTAI_MAX_VOCAB_SIZE = 30000;

/** Languages that get character coverage 0.99999 (fastai's `eu_langs`); all others 0.9998. */
export const EU_LANGS: readonly string[] = Object.freeze([
  'bg',
  'cs',
  'da',
  'de',
  'el',
  'en',
  'es',
  'et',
  'fi',
  'fr',
  'ga',
  'hr',
  'hu',
  'it',
  'lt',
  'lv',
  'mt',
  'nl',
  'pl',
  'pt',
  'ro',
  'sk',
  'sl',
  'sv',
]);

/** fastai's character coverage for `lang`: 0.99999 for the European languages, else 0.9998. */
export function fastaiCharacterCoverage(lang: string): number {
  return EU_LANGS.includes(lang.toLowerCase()) ? 0.99999 : 0.9998;
}

/** Python's str.split() separators: runs of Unicode whitespace. */
// eslint-disable-next-line no-control-regex -- Python's whitespace set includes the control characters \x0b-\x0c, \x1c-\x1f.
const PY_WHITESPACE = /[\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/;

/** The words of a line as Python's `line.split()` gives them. */
export function pySplit(line: string): string[] {
  return line.split(PY_WHITESPACE).filter((word) => word.length > 0);
}

/**
 * Counts unique whitespace-separated words, stopping early once `stopAbove` is exceeded
 * (fastai stops reading as soon as the vocab size is capped).
 */
export function countUniqueWords(lines: Iterable<string>, stopAbove = Infinity): number {
  const words = new Set<string>();
  for (const line of lines) {
    for (const word of pySplit(line)) words.add(word);
    if (words.size > stopAbove) break;
  }
  return words.size;
}

/**
 * fastai's default vocab size (`_get_vocab_sz`): a quarter of the unique words, rounded up to a
 * multiple of 8 and at least 29; `maxVocabSize` once a quarter of the words exceeds it.
 */
export function fastaiVocabSize(uniqueWords: number, maxVocabSize = FASTAI_MAX_VOCAB_SIZE): number {
  const quarter = Math.floor(uniqueWords / 4);
  if (quarter > maxVocabSize) return maxVocabSize;
  return Math.max(Math.ceil(quarter / 8) * 8, 29);
}

/** The special tokens as SentencePiece user-defined pieces: "▁xxunk", "▁xxpad", .... */
export function fastaiUserDefinedSymbols(specials: readonly string[] = DEFAULT_SPECIALS): string[] {
  return specials.map((token) => `\u2581${token}`);
}

/**
 * fastai's trainer settings: `--character_coverage` by language, the specials as user-defined
 * symbols, `--unk_id=len(specials)`, no bos/eos/pad, `--hard_vocab_limit=false`.
 */
export function fastaiTrainerOptions(settings: {
  vocabSize: number;
  lang: string;
  characterCoverage?: number;
  specials?: readonly string[];
}): TrainUnigramOptions {
  const specials = settings.specials ?? DEFAULT_SPECIALS;
  return {
    vocabSize: settings.vocabSize,
    characterCoverage: settings.characterCoverage ?? fastaiCharacterCoverage(settings.lang),
    userDefinedSymbols: fastaiUserDefinedSymbols(specials),
    unkId: specials.length,
    hardVocabLimit: false,
  };
}
