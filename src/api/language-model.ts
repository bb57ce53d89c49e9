/**
 * `LanguageModel`: a trained AWD-LSTM language model as a Node developer uses it: continue a
 * prompt (whole, or token by token as it is sampled), or score how well it predicts a text.
 *
 * ```ts
 * const lm = await LanguageModel.load('en');
 * const { text } = await lm.generate('The jury said', { words: 20, temperature: 0.7 });
 * for await (const { token } of lm.stream('Once upon a time')) process.stdout.write(token + ' ');
 * const { perplexity } = await lm.score('The cat sat on the mat.');
 * await lm.dispose();
 * ```
 *
 * (The model class itself, for training, is `AwdLstmLanguageModel` in the package's exports.)
 */
import { GENERATION_DEFAULTS } from '../config/inference.js';
import { UlmfitError, usageError } from '../errors.js';
import {
  generate,
  validateGenerateOptions,
  type GenerateOptions,
  type GeneratedSample,
} from '../infer/generate.js';
import { loadGenerator, type LoadedGenerator } from '../infer/load-generator.js';
import type { LoadOptions } from './classifier.js';
import { disposedError, SharedModels, type SharedModel } from './shared.js';

/** How to sample (the options of `ulmfit generate`). */
export interface GenerateTextOptions {
  /** Words of text to generate (default 40), counted as the CLI's `--words` counts them. */
  words?: number;
  /** Instead of `words`: model tokens (fastai's n_words; punctuation and xxmaj count). */
  tokens?: number;
  /** ≥ 0 (default 1); 0 is greedy. */
  temperature?: number;
  /** Sample only from the k most probable tokens. */
  topK?: number;
  /** Nucleus sampling: the smallest set with probability ≥ topP, in (0, 1]. */
  topP?: number;
  /** fastai's min_p: drop tokens with probability below it. */
  minP?: number;
  /** Allow xxunk to be generated (fastai's no_unk=False); default false. */
  allowUnk?: boolean;
  /** Same seed, same backend: same text (default 42). */
  seed?: number;
  /** Stop where the model ends the document (xxeos, or xxbos). */
  stopAtEos?: boolean;
  /** Called with anything the caller should know (min-p left no token at some step). */
  onWarning?: (message: string) => void;
}

/** One continuation. */
export interface Generation {
  /** The prompt as given. */
  prompt: string;
  /** Prompt and continuation as prose (backwards model: continuation, then prompt). */
  text: string;
  /** The generated tokens only, in reading order. */
  tokens: string[];
}

/** A token as `stream` yields it. */
export interface GeneratedToken {
  token: string;
  /** Prompt plus everything generated so far, as prose. */
  text: string;
}

/** How well the model predicts one text. */
export interface TextScore {
  /** Mean next-token cross-entropy (natural log); NaN for a text with nothing to predict. */
  loss: number;
  /** exp(loss). */
  perplexity: number;
  /** Tokens predicted (every token after xxbos). */
  tokens: number;
}

const shared = new SharedModels<LoadedGenerator>();

/** Thrown inside `generate`'s token callback to stop a stream its reader left. */
const STREAM_LEFT = Symbol('stream left');

export class LanguageModel {
  /** Trained on reversed text: it writes the text that comes before the prompt. */
  readonly backwards: boolean;
  private model: SharedModel<LoadedGenerator> | undefined;

  private constructor(model: SharedModel<LoadedGenerator>) {
    this.model = model;
    this.backwards = model.value.backwards;
  }

  /**
   * Loads a language model: a model directory, a pretrain/finetune-lm run directory (its
   * model-best/) or a model name (`en`; `ulmfit models`). Loading what is already loaded in this
   * thread shares it.
   * @throws UlmfitError E_INPUT_MISSING, E_MODEL_DIR
   */
  static async load(model: string, options: LoadOptions = {}): Promise<LanguageModel> {
    if (typeof model !== 'string' || model === '')
      throw usageError('LanguageModel.load needs a model directory or name', "e.g. LanguageModel.load('en')");
    const backend = options.backend ?? 'auto';
    return new LanguageModel(await shared.acquire([model], backend, () => loadGenerator(model, backend)));
  }

  /**
   * Continues `prompt` (fastai's `LMLearner.predict`). Concurrent calls on one model run one
   * after another (the model carries a hidden state), in call order.
   * @throws UlmfitError E_USAGE for options out of range
   */
  async generate(prompt: string, options: GenerateTextOptions = {}): Promise<Generation> {
    const [first] = await this.generateSamples(prompt, 1, options);
    return first!;
  }

  /**
   * `samples` independent continuations of `prompt`, drawn in order from one seeded generator
   * (sample 0 is what `generate` returns), as `ulmfit generate --samples`.
   */
  async generateSamples(
    prompt: string,
    samples: number,
    options: GenerateTextOptions = {},
  ): Promise<Generation[]> {
    const generateOptions = this.options(prompt, options, samples);
    const model = this.use();
    const results = await model.lock.run(() =>
      generate(model.value.model, model.value.tokenizer, model.value.vocab, generateOptions),
    );
    return results.map(toGeneration);
  }

  /**
   * Yields each token as it is sampled (one sample). Holds the model until the loop ends: leave
   * it with `break` or `return` (for await does), never by abandoning the iterator.
   */
  async *stream(
    prompt: string,
    options: GenerateTextOptions = {},
  ): AsyncGenerator<GeneratedToken, void, undefined> {
    const generateOptions = this.options(prompt, options, 1);
    const model = this.use();
    const release = await model.lock.acquire();
    const ready: GeneratedToken[] = [];
    let wake: (() => void) | undefined;
    let finished = false;
    let failure: { error: unknown } | undefined;
    let left = false;
    const { tokenizer } = model.value;
    const running = generate(model.value.model, tokenizer, model.value.vocab, {
      ...generateOptions,
      onToken: (event) => {
        if (left) throw STREAM_LEFT;
        ready.push({ token: event.token, text: tokenizer.detokenize(event.readingOrder) });
        wake?.();
      },
    })
      .then(
        () => undefined,
        (error: unknown) => {
          if (error !== STREAM_LEFT) failure = { error };
        },
      )
      .finally(() => {
        finished = true;
        wake?.();
      });
    try {
      for (;;) {
        const next = ready.shift();
        if (next !== undefined) {
          yield next;
          continue;
        }
        if (finished) break;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
      if (failure) throw failure.error;
    } finally {
      left = true;
      await running; // the model is free again only once generation has stopped
      release();
    }
  }

  /** How well the model predicts `text` (each of `texts`, in order), from a fresh state. */
  score(text: string): Promise<TextScore>;
  score(texts: readonly string[]): Promise<TextScore[]>;
  async score(input: string | readonly string[]): Promise<TextScore | TextScore[]> {
    const single = typeof input === 'string';
    const texts = single ? [input] : input;
    if (!Array.isArray(texts)) throw usageError('score takes a string or an array of strings');
    texts.forEach((text, i) => {
      if (typeof text !== 'string')
        throw usageError(`score: text ${i} is ${text === null ? 'null' : typeof text}, not a string`);
    });
    const model = this.use();
    const scores = await model.lock.run(async () => {
      const out: TextScore[] = [];
      for (const text of texts) {
        const { lossSum, count } = await model.value.score(text);
        const loss = count > 0 ? lossSum / count : NaN;
        out.push({ loss, perplexity: Math.exp(loss), tokens: count });
      }
      return out;
    });
    return single ? scores[0]! : scores;
  }

  /** Releases this handle (the model is freed with its last handle, after its queued work). */
  async dispose(): Promise<void> {
    const model = this.model;
    this.model = undefined;
    await model?.release();
  }

  private use(): SharedModel<LoadedGenerator> {
    if (this.model === undefined) throw disposedError('LanguageModel');
    return this.model;
  }

  private options(prompt: string, options: GenerateTextOptions, samples: number): GenerateOptions {
    return toGenerateOptions(prompt, options, samples, this.backwards);
  }
}

function toGeneration(sample: GeneratedSample): Generation {
  return { prompt: sample.prompt, text: sample.text, tokens: sample.tokens };
}

/**
 * Checks generation options without a model (E_USAGE naming what is wrong), so that a server can
 * refuse a bad request before it queues.
 */
export function checkGenerateTextOptions(prompt: string, options: GenerateTextOptions, samples = 1): void {
  toGenerateOptions(prompt, options, samples, false);
}

/** The API's options as `generate`'s (the CLI's defaults filled in), checked. */
function toGenerateOptions(
  prompt: string,
  options: GenerateTextOptions,
  samples: number,
  backwards: boolean,
): GenerateOptions {
  if (typeof prompt !== 'string')
    throw usageError(`the prompt must be a string, got ${prompt === null ? 'null' : typeof prompt}`);
  if (options.words !== undefined && options.tokens !== undefined)
    throw usageError(
      'words and tokens exclude each other',
      'pass words for words of text, or tokens for model tokens',
    );
  const generateOptions: GenerateOptions = {
    prompt,
    words: options.tokens ?? options.words ?? GENERATION_DEFAULTS.words,
    unit: options.tokens !== undefined ? 'tokens' : 'words',
    temperature: options.temperature ?? GENERATION_DEFAULTS.temperature,
    topK: options.topK,
    topP: options.topP,
    minP: options.minP,
    noUnk: !(options.allowUnk ?? false),
    seed: options.seed ?? GENERATION_DEFAULTS.seed,
    samples,
    stopAtEos: options.stopAtEos ?? false,
    backwards,
    onWarning: options.onWarning,
  };
  try {
    validateGenerateOptions(generateOptions);
  } catch (error) {
    // The checks' hints name CLI flags (--words); the message itself holds for the API too.
    if (error instanceof UlmfitError) throw usageError(error.message);
    throw error;
  }
  return generateOptions;
}
