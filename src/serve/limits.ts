/**
 * Every limit and default of `ulmfit serve`, defined once: the server reads them, the CLI shows
 * them as its flags' defaults (this module has no imports, so `ulmfit --help` does not load
 * fastify).
 */
export const SERVE_DEFAULTS = {
  /** documents per batched forward pass: `ulmfit classify --bs` */
  maxBatch: 64,
  /** ms the first waiting request waits for others before its batch runs (latency it may add) */
  batchWaitMs: 2,
  /** documents (classify) or prompts (generate) waiting per model before requests get 429 */
  maxQueue: 1024,
  /** ms from arrival to answer before a request gets 503 E_TIMEOUT */
  timeoutMs: 30_000,
  /** request body bytes before 413 */
  maxBodyBytes: 1 << 20,
  /** texts per classify request before 413 (at most maxQueue) */
  maxTexts: 256,
  /** characters per text (or prompt) before 413 */
  maxTextChars: 100_000,
  /** words per generate request before 413 */
  maxWords: 1000,
  /** samples per generate request before 413 */
  maxSamples: 16,
} as const;

export type ServeLimits = { -readonly [K in keyof typeof SERVE_DEFAULTS]: number };
