import { GENERATION_DEFAULTS } from '../config/inference.js';
import { usageError } from '../errors.js';
import { Rng } from '../random.js';
import { drawToken, tokenDistribution, validateSamplingOptions, type SamplingOptions } from './sampling.js';

/**
 * Text generation from a language model: fastai's `LMLearner.predict` (fastai/text/learner.py), with
 * the prompt fed once and then one token per step on the carried hidden state (fastai re-feeds
 * the whole sequence every step: the same result in eval mode, but O(n²)).
 *
 * The model, tokenizer and vocab are small interfaces so that generation can be tested with a
 * fake model and used with the real AWD-LSTM through a thin adapter.
 */

/** A language model seen one sequence (batch 1) at a time, in eval mode (no dropout). */
export interface NextTokenModel {
  /** Forgets the hidden state: the next `nextLogits` starts a new sequence. */
  reset(): void;
  /**
   * Feeds `ids` after everything fed since the last reset and returns the logits at the last
   * position. The caller owns the returned array (no tensors cross this boundary).
   * @param ids [n] token ids, n ≥ 1
   * @returns [vocab] logits
   */
  nextLogits(ids: Int32Array): Float32Array | Promise<Float32Array>;
}

/** The model's own tokenizer: the same rules (xxbos, xxmaj, ...) it was trained with. */
export interface GenerationTokenizer {
  /** Text → tokens, rules applied (with fastai's rules the first token is xxbos). */
  tokenize(text: string): string[] | Promise<string[]>;
  /** Tokens in reading order → prose (case restored, specials dropped, punctuation joined). */
  detokenize(tokens: readonly string[]): string;
}

/** The model's vocabulary: id → token string (specials first, fastai order). */
export interface GenerationVocab {
  readonly itos: readonly string[];
}

export interface GenerateOptions {
  /** The text to continue; empty starts from xxbos alone. */
  prompt: string;
  /** How much to generate per sample, ≥ 1: tokens (fastai's n_words), or words with `unit: 'words'`. */
  words: number;
  /**
   * What `words` counts. 'tokens' (default, fastai's n_words): model tokens, so `xxmaj`, `n't` and
   * punctuation count. 'words': words of the text as printed (whitespace-separated, prompt not
   * counted); generation stops before the token that would start one word too many, or after
   * `MAX_TOKENS_PER_WORD` tokens a word.
   */
  unit?: 'tokens' | 'words' | undefined;
  /** ≥ 0; 0 is greedy. */
  temperature: number;
  topK?: number | undefined;
  topP?: number | undefined;
  /** fastai's min_p: an absolute probability threshold. */
  minP?: number | undefined;
  /** Never sample xxunk (fastai's no_unk, default true). xxpad and xxfake are never sampled. */
  noUnk?: boolean | undefined;
  /** Seeds the one Rng all samples draw from, in order (sample 0 is the same for any `samples`); default 42. */
  seed?: number | undefined;
  /** Independent continuations of the same prompt, ≥ 1 (default 1). */
  samples?: number | undefined;
  /** Stop a sample when the model ends the document (xxeos, or xxbos: the next one begins). */
  stopAtEos?: boolean | undefined;
  /**
   * The model reads text right to left (trained on reversed documents, fastai's backwards=True): it
   * generates the text that precedes the prompt. Inputs are reversed for it and outputs reversed
   * back, so every token list and text here reads forwards.
   */
  backwards?: boolean | undefined;
  /** Called once at the end with anything the user should know (fastai warns the same way). */
  onWarning?: ((message: string) => void) | undefined;
  /** Called after each generated token, for streaming. */
  onToken?: ((event: TokenEvent) => void) | undefined;
  /** Called when a sample is complete, before the next one starts. */
  onSample?: ((result: GeneratedSample, sample: number) => void) | undefined;
}

export interface TokenEvent {
  /** Which sample (0-based). */
  sample: number;
  /** The token just generated. */
  token: string;
  /** The prompt tokens and everything generated so far, in reading order. */
  readingOrder: readonly string[];
}

export interface GeneratedSample {
  /** The prompt as given. */
  prompt: string;
  /** The generated tokens only, in reading order (a stopping xxeos/xxbos is not included). */
  tokens: string[];
  /** Prompt plus continuation, detokenized (backwards: continuation plus prompt). */
  text: string;
  /** The prompt's tokens and the generated ones, in reading order (what `text` detokenizes). */
  readingOrder: string[];
}

/** In 'words' mode, the token budget per word: a model lost in punctuation or markers still stops. */
export const MAX_TOKENS_PER_WORD = 8;

const BOS = 'xxbos';
const EOS = 'xxeos';
/** Never sampled: padding, and the fillers that round the vocab up to a multiple of 8. */
const NEVER_SAMPLED = ['xxpad', 'xxfake'];
const UNK = 'xxunk';

/** Throws a usage error for options outside their ranges (before any model work). */
export function validateGenerateOptions(options: GenerateOptions): void {
  const unit = options.unit ?? 'tokens';
  if (unit !== 'tokens' && unit !== 'words')
    throw usageError(`unit must be 'tokens' or 'words', got '${String(unit)}'`);
  if (!Number.isInteger(options.words) || options.words < 1) {
    throw usageError(
      `words must be an integer ≥ 1, got ${options.words}`,
      unit === 'words' ? 'e.g. --words 40' : 'e.g. --tokens 40',
    );
  }
  const samples = options.samples ?? 1;
  if (!Number.isInteger(samples) || samples < 1) {
    throw usageError(`samples must be an integer ≥ 1, got ${samples}`, 'e.g. --samples 3');
  }
  if (options.seed !== undefined && !Number.isInteger(options.seed)) {
    throw usageError(`seed must be an integer, got ${options.seed}`, 'e.g. --seed 42');
  }
  validateSamplingOptions(samplingOptions(options, []));
}

/**
 * Generates `samples` continuations of `prompt`. Each sample resets the model, feeds the prompt
 * once, then feeds back one sampled token per step.
 */
export async function generate(
  model: NextTokenModel,
  tokenizer: GenerationTokenizer,
  vocab: GenerationVocab,
  options: GenerateOptions,
): Promise<GeneratedSample[]> {
  validateGenerateOptions(options);
  const { itos } = vocab;
  const stoi = new Map<string, number>();
  itos.forEach((token, id) => {
    if (!stoi.has(token)) stoi.set(token, id);
  });
  const unkId = stoi.get(UNK) ?? 0;
  const banned = idsOf(itos, (options.noUnk ?? true) ? [...NEVER_SAMPLED, UNK] : NEVER_SAMPLED);
  const sampling = samplingOptions(options, banned);
  const stopIds = new Set(options.stopAtEos ? idsOf(itos, [EOS, BOS]) : []);
  const backwards = options.backwards ?? false;

  // Reading-order prompt tokens, and what the model is fed first (in its own direction).
  const promptTokens = await tokenizer.tokenize(options.prompt);
  const { readingPrefix, fed } = promptInput(promptTokens, backwards);
  // An empty prompt (or one with rules off) starts from xxbos alone, as a document does.
  if (fed.length === 0 && stoi.has(BOS)) fed.push(BOS);
  if (fed.length === 0) {
    throw usageError(
      'the prompt is empty and the model has no xxbos token to start from',
      'give a non-empty --prompt',
    );
  }
  const promptIds = Int32Array.from(fed, (token) => stoi.get(token) ?? unkId);

  const rng = new Rng(options.seed ?? GENERATION_DEFAULTS.seed);
  const countingWords = options.unit === 'words';
  const maxSteps = countingWords ? options.words * MAX_TOKENS_PER_WORD : options.words;
  const promptWords = countingWords ? wordCount(tokenizer.detokenize(readingPrefix)) : 0;
  let minPSkips = 0;
  const results: GeneratedSample[] = [];
  for (let sample = 0; sample < (options.samples ?? 1); sample++) {
    model.reset();
    let logits = await model.nextLogits(promptIds);
    const generated: string[] = []; // in the model's direction
    for (let step = 0; step < maxSteps; step++) {
      const distribution = tokenDistribution(logits, sampling);
      minPSkips += distribution.minPSkipped ? 1 : 0;
      const id = drawToken(distribution, rng);
      if (stopIds.has(id)) break;
      const token = itos[id]!;
      generated.push(token);
      const order = readingOrder(readingPrefix, generated, backwards);
      // Counted on the whole text, so a token that joins the prompt's last word (n't, a period) is no new word.
      if (countingWords && wordCount(tokenizer.detokenize(order)) - promptWords > options.words) {
        generated.pop();
        break;
      }
      options.onToken?.({ sample, token, readingOrder: order });
      // The last token needs no forward pass: nothing will be sampled after it.
      if (step + 1 < maxSteps) logits = await model.nextLogits(Int32Array.of(id));
    }
    const tokens = backwards ? [...generated].reverse() : generated;
    const all = readingOrder(readingPrefix, generated, backwards);
    const result = { prompt: options.prompt, tokens, text: tokenizer.detokenize(all), readingOrder: all };
    results.push(result);
    options.onSample?.(result, sample);
  }
  if (minPSkips > 0) {
    options.onWarning?.(
      `min-p ${options.minP} left no token at ${minPSkips} step(s), so it was not applied there (try a lower value)`,
    );
  }
  return results;
}

/**
 * The prompt's tokens in reading order (kept for the output text) and what the model is fed.
 * Forwards: the tokens as they are (xxbos first with fastai's rules). Backwards: the model reads
 * right to left and we ask it for the text before the prompt, so it is fed the prompt reversed
 * without the leading xxbos (the prompt is not the start of the document). When nothing is left
 * the caller feeds xxbos alone, from which a backwards model writes the end of a document.
 */
function promptInput(
  promptTokens: readonly string[],
  backwards: boolean,
): { readingPrefix: string[]; fed: string[] } {
  const tokens = [...promptTokens];
  const body = tokens[0] === BOS ? tokens.slice(1) : tokens;
  if (!backwards) return { readingPrefix: tokens, fed: [...tokens] };
  return { readingPrefix: body, fed: [...body].reverse() };
}

/** Prompt and generated tokens in reading order (`generated` is in the model's direction). */
function readingOrder(
  readingPrefix: readonly string[],
  generated: readonly string[],
  backwards: boolean,
): string[] {
  return backwards ? [...generated].reverse().concat(readingPrefix) : readingPrefix.concat(generated);
}

/** Words of printed text: whitespace-separated runs. */
function wordCount(text: string): number {
  const words = text.trim();
  return words === '' ? 0 : words.split(/\s+/).length;
}

function samplingOptions(options: GenerateOptions, bannedIds: number[]): SamplingOptions {
  return {
    temperature: options.temperature,
    topK: options.topK,
    topP: options.topP,
    minP: options.minP,
    bannedIds,
  };
}

/** Every id whose token is one of `tokens` (xxfake appears many times). */
function idsOf(itos: readonly string[], tokens: readonly string[]): number[] {
  const wanted = new Set(tokens);
  const ids: number[] = [];
  itos.forEach((token, id) => {
    if (wanted.has(token)) ids.push(id);
  });
  return ids;
}
