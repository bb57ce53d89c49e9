/**
 * Tokenizes a chunk of documents into compact form: token strings are replaced by ids local to
 * this tokenizer (first-seen order), and only strings not sent before travel back. A worker
 * thread runs one of these; so does the main thread when no worker is available. Sending ids
 * instead of string arrays keeps the structured-clone cost per token near zero.
 */
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
  private readonly localIds = new Map<string, number>();
  private buffer = new Int32Array(1 << 16);

  constructor(private readonly tokenizer: Tokenizer) {}

  run(texts: readonly string[]): ChunkResult {
    const lengths = new Int32Array(texts.length);
    const newTypes: string[] = [];
    let used = 0;
    for (let d = 0; d < texts.length; d++) {
      const tokens = this.tokenizer.tokenize(texts[d]!);
      if (used + tokens.length > this.buffer.length) {
        const grown = new Int32Array(Math.max(this.buffer.length * 2, used + tokens.length));
        grown.set(this.buffer.subarray(0, used));
        this.buffer = grown;
      }
      for (const token of tokens) {
        let id = this.localIds.get(token);
        if (id === undefined) {
          id = this.localIds.size;
          this.localIds.set(token, id);
          newTypes.push(token);
        }
        this.buffer[used++] = id;
      }
      lengths[d] = tokens.length;
    }
    // A copy, so the result's buffer can be transferred while this one is reused.
    return { ids: this.buffer.slice(0, used), lengths, newTypes };
  }
}
