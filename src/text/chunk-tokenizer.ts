/**
 * Tokenizes a chunk of documents into compact form: token strings are replaced by ids local to
 * this tokenizer (first-seen order), and only strings not sent before travel back. A worker
 * thread runs one of these; so does the main thread when no worker is available. Sending ids
 * instead of string arrays keeps the structured-clone cost per token near zero, and a tokenizer
 * with an encoder (the word tokenizer) never makes a string per token at all.
 */
import { IdBuffer, TokenInterner, type DocumentEncoder } from './interner.js';
import type { Tokenizer } from './tokenizer.js';

export interface ChunkResult {
  /** Local type ids of every token of every document, back to back. */
  ids: Int32Array;
  /** `[numDocs]` tokens per document. */
  lengths: Int32Array;
  /** Strings of the local ids first used in this chunk, in id order (they continue the previous chunk's). */
  newTypes: string[];
}

export class ChunkTokenizer {
  private readonly interner = new TokenInterner();
  private readonly encode: DocumentEncoder;
  private readonly buffer = new IdBuffer();
  /** Local ids below this have been sent. */
  private sent = 0;

  constructor(tokenizer: Tokenizer) {
    this.encode =
      tokenizer.createEncoder?.(this.interner) ??
      ((text, out) => {
        for (const token of tokenizer.tokenize(text)) out.push(this.interner.intern(token));
      });
  }

  run(texts: readonly string[]): ChunkResult {
    const lengths = new Int32Array(texts.length);
    const buffer = this.buffer;
    buffer.length = 0;
    for (let d = 0; d < texts.length; d++) {
      const before = buffer.length;
      this.encode(texts[d]!, buffer);
      lengths[d] = buffer.length - before;
    }
    const newTypes = this.interner.strings.slice(this.sent);
    this.sent = this.interner.size;
    // A copy, so the result's buffer can be transferred while this one is reused.
    return { ids: buffer.data.slice(0, buffer.length), lengths, newTypes };
  }
}
