/**
 * SentencePiece's text normalizer (normalizer.cc), in TypeScript, so that ulmfit normalizes text
 * exactly as spm_train, spm_encode and sentencepiece-js do.
 *
 * A model carries its normalization rules as a "precompiled charsmap": a Darts-clone double-array
 * trie over UTF-8 byte strings whose values point at replacement strings. At each position the
 * longest matching rule is applied (no match: the character is copied). Then whitespace is
 * handled: leading, trailing and repeated spaces are dropped (`remove_extra_whitespaces`), a space
 * is put in front (`add_dummy_prefix`), and every space becomes U+2581 "▁"
 * (`escape_whitespaces`). User-defined symbols are matched first and copied unnormalized.
 *
 * Everything works on UTF-8 bytes, like the C++ code, so longest matches and the trie agree
 * byte for byte.
 */
import { UlmfitError } from '../../errors.js';
import { NORMALIZER_SPEC_DEFAULTS, type NormalizerSpec } from './model-proto.js';

const SPACE = 0x20;
/** U+2581 "▁" in UTF-8. */
const WS_BYTES = [0xe2, 0x96, 0x81] as const;

/** The length in bytes of the UTF-8 character that starts with `lead` (input is valid UTF-8). */
export function utf8CharLength(lead: number): number {
  if (lead < 0x80) return 1;
  if (lead < 0xe0) return 2;
  if (lead < 0xf0) return 3;
  return 4;
}

/**
 * A reader of a precompiled charsmap: `<trie size: uint32 LE><double array units><replacement
 * strings, each ended by a NUL byte>`.
 */
class CharsMap {
  private readonly units: Uint32Array;
  private readonly replacements: Uint8Array;
  /** rootHasChild[b]: some rule starts with byte b (else a character starting with b is copied). */
  readonly rootHasChild: Uint8Array;
  /** The value of the last successful `longestMatch`: an offset into `replacements`. */
  private matchValue = 0;

  constructor(blob: Uint8Array) {
    const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
    if (blob.length <= 4) throw new Error('charsmap blob is too short');
    const trieSize = view.getUint32(0, true);
    if (trieSize >= blob.length || trieSize % 4 !== 0) throw new Error('charsmap trie size is out of range');
    this.units = new Uint32Array(trieSize / 4);
    for (let i = 0; i < this.units.length; i++) this.units[i] = view.getUint32(4 + i * 4, true);
    this.replacements = blob.subarray(4 + trieSize);
    this.rootHasChild = new Uint8Array(256);
    const rootOffset = CharsMap.offset(this.units[0]!);
    for (let b = 1; b < 256; b++) {
      const pos = rootOffset ^ b;
      if (pos < this.units.length && CharsMap.label(this.units[pos]!) === b) this.rootHasChild[b] = 1;
    }
  }

  // Darts-clone's unit layout: bit 8 = has a leaf, bits 0-7 (and 31) = label, bits 10+ = offset.
  private static hasLeaf(unit: number): boolean {
    return ((unit >>> 8) & 1) === 1;
  }
  private static value(unit: number): number {
    return unit & 0x7fffffff;
  }
  private static label(unit: number): number {
    return (unit & 0x800000ff) >>> 0;
  }
  private static offset(unit: number): number {
    return (unit >>> 10) * ((unit & 0x200) !== 0 ? 256 : 1);
  }

  /** The byte length of the longest rule that matches bytes[pos..end) (0: none). */
  longestMatch(bytes: Uint8Array, pos: number, end: number): number {
    const units = this.units;
    let nodePos = CharsMap.offset(units[0]!);
    let longest = 0;
    for (let i = pos; i < end; i++) {
      const c = bytes[i]!;
      nodePos ^= c;
      if (nodePos >= units.length) break;
      const unit = units[nodePos]!;
      if (CharsMap.label(unit) !== c) break;
      nodePos ^= CharsMap.offset(unit);
      if (CharsMap.hasLeaf(unit)) {
        longest = i + 1 - pos;
        this.matchValue = CharsMap.value(units[nodePos]!);
      }
    }
    return longest;
  }

  /** [start, end) in `replacementBytes` of the replacement chosen by the last longestMatch. */
  replacementRange(): [number, number] {
    const start = this.matchValue;
    let end = start;
    while (end < this.replacements.length && this.replacements[end] !== 0) end++;
    return [start, end];
  }

  get replacementBytes(): Uint8Array {
    return this.replacements;
  }
}

/** A longest-match dictionary of byte strings (the user-defined symbols). */
class PrefixMatcher {
  private readonly firstBytes = new Uint8Array(256);
  private readonly keys: Uint8Array[];

  constructor(symbols: readonly string[]) {
    const encoder = new TextEncoder();
    this.keys = symbols.filter((s) => s.length > 0).map((s) => encoder.encode(s));
    for (const key of this.keys) this.firstBytes[key[0]!] = 1;
  }

  get empty(): boolean {
    return this.keys.length === 0;
  }

  /** The byte length of the longest symbol that starts at bytes[pos] (0: none). */
  match(bytes: Uint8Array, pos: number, end: number): number {
    if (this.firstBytes[bytes[pos]!] === 0) return 0;
    let longest = 0;
    for (const key of this.keys) {
      if (key.length <= longest || pos + key.length > end) continue;
      let same = true;
      for (let k = 0; k < key.length; k++) {
        if (bytes[pos + k] !== key[k]) {
          same = false;
          break;
        }
      }
      if (same) longest = key.length;
    }
    return longest;
  }
}

export interface NormalizerOptions {
  /** Put the "▁" at the end of a word instead of the start (TrainerSpec). */
  treatWhitespaceAsSuffix?: boolean;
  /** Strings copied through without normalization (the model's user-defined pieces). */
  userDefinedSymbols?: readonly string[];
}

export class Normalizer {
  private readonly charsMap: CharsMap | undefined;
  private readonly matcher: PrefixMatcher;
  private readonly addDummyPrefix: boolean;
  private readonly removeExtraWhitespaces: boolean;
  private readonly escapeWhitespaces: boolean;
  private readonly treatWhitespaceAsSuffix: boolean;
  private readonly encoder = new TextEncoder();
  private readonly decoder = new TextDecoder();
  private input = new Uint8Array(1024);
  private output = new Uint8Array(4096);
  private outLength = 0;
  // The last normalizePrefix result: a byte range of `prefixSource`, and the input bytes consumed.
  private prefixSource: Uint8Array = this.input;
  private prefixStart = 0;
  private prefixEnd = 0;

  constructor(spec: NormalizerSpec, options: NormalizerOptions = {}) {
    if (spec.precompiled_charsmap && spec.precompiled_charsmap.length > 0) {
      try {
        this.charsMap = new CharsMap(spec.precompiled_charsmap);
      } catch (err) {
        throw new UlmfitError(
          'E_CHECKPOINT',
          `the SentencePiece model's normalization rules are broken (${(err as Error).message})`,
          'retrain the model or use one written by spm_train',
        );
      }
    }
    this.addDummyPrefix = spec.add_dummy_prefix ?? NORMALIZER_SPEC_DEFAULTS.add_dummy_prefix;
    this.removeExtraWhitespaces =
      spec.remove_extra_whitespaces ?? NORMALIZER_SPEC_DEFAULTS.remove_extra_whitespaces;
    this.escapeWhitespaces = spec.escape_whitespaces ?? NORMALIZER_SPEC_DEFAULTS.escape_whitespaces;
    this.treatWhitespaceAsSuffix = options.treatWhitespaceAsSuffix ?? false;
    this.matcher = new PrefixMatcher(options.userDefinedSymbols ?? []);
  }

  /** The normalized text as a string (e.g. "Hello  world" → "▁Hello▁world"). */
  normalize(text: string): string {
    const length = this.normalizeToBytes(text);
    return this.decoder.decode(this.output.subarray(0, length));
  }

  /**
   * Normalizes `text` into an internal buffer and returns its byte length; read the bytes with
   * `normalizedBytes()` before the next call.
   */
  normalizeToBytes(text: string): number {
    // encodeInto needs up to 3 bytes per UTF-16 code unit.
    if (this.input.length < text.length * 3) this.input = new Uint8Array(text.length * 3 + 16);
    const { written } = this.encoder.encodeInto(text, this.input);
    return this.normalizeUtf8(this.input, written);
  }

  /** The bytes written by the last `normalizeToBytes` (a view into a reused buffer). */
  normalizedBytes(): Uint8Array {
    return this.output;
  }

  private normalizeUtf8(bytes: Uint8Array, length: number): number {
    this.outLength = 0;
    // A normalized character is at most a few times longer than its source; the ▁ escape
    // triples a space. Reserve generously once, then append without checks.
    if (this.output.length < length * 3 + 16) this.output = new Uint8Array(length * 3 + 16);
    let pos = 0;
    if (this.removeExtraWhitespaces) {
      while (pos < length) {
        const consumed = this.normalizePrefix(bytes, pos, length);
        if (!(this.prefixEnd - this.prefixStart === 1 && this.prefixSource[this.prefixStart] === SPACE))
          break;
        pos += consumed;
      }
    }
    if (pos >= length) return 0;

    if (!this.treatWhitespaceAsSuffix && this.addDummyPrefix) this.appendSpace();

    let isPrevSpace = this.removeExtraWhitespaces;
    while (pos < length) {
      const consumed = this.normalizePrefix(bytes, pos, length);
      let start = this.prefixStart;
      const end = this.prefixEnd;
      const source = this.prefixSource;
      while (isPrevSpace && start < end && source[start] === SPACE) start++;
      if (start < end) {
        this.ensureOutput((end - start) * 3);
        for (let i = start; i < end; i++) {
          const b = source[i]!;
          if (b === SPACE && this.escapeWhitespaces) this.appendWs();
          else this.output[this.outLength++] = b;
        }
        isPrevSpace = source[end - 1] === SPACE;
      }
      pos += consumed;
      if (!this.removeExtraWhitespaces) isPrevSpace = false;
    }

    if (this.removeExtraWhitespaces) {
      const out = this.output;
      if (this.escapeWhitespaces) {
        while (
          this.outLength >= 3 &&
          out[this.outLength - 3] === WS_BYTES[0] &&
          out[this.outLength - 2] === WS_BYTES[1] &&
          out[this.outLength - 1] === WS_BYTES[2]
        ) {
          this.outLength -= 3;
        }
      } else {
        while (this.outLength > 0 && out[this.outLength - 1] === SPACE) this.outLength--;
      }
    }

    if (this.treatWhitespaceAsSuffix && this.addDummyPrefix) this.appendSpace();
    return this.outLength;
  }

  /**
   * Normalizes the character(s) at bytes[pos]: sets prefixSource/Start/End to the replacement
   * and returns how many input bytes it replaces.
   */
  private normalizePrefix(bytes: Uint8Array, pos: number, end: number): number {
    if (!this.matcher.empty) {
      const userLength = this.matcher.match(bytes, pos, end);
      if (userLength > 0) {
        this.setPrefix(bytes, pos, pos + userLength);
        return userLength;
      }
    }
    const charsMap = this.charsMap;
    if (charsMap !== undefined && charsMap.rootHasChild[bytes[pos]!] === 1) {
      const ruleLength = charsMap.longestMatch(bytes, pos, end);
      if (ruleLength > 0) {
        const [start, stop] = charsMap.replacementRange();
        this.setPrefix(charsMap.replacementBytes, start, stop);
        return ruleLength;
      }
    }
    const charLength = Math.min(utf8CharLength(bytes[pos]!), end - pos);
    this.setPrefix(bytes, pos, pos + charLength);
    return charLength;
  }

  private setPrefix(source: Uint8Array, start: number, end: number): void {
    this.prefixSource = source;
    this.prefixStart = start;
    this.prefixEnd = end;
  }

  private appendSpace(): void {
    this.ensureOutput(3);
    if (this.escapeWhitespaces) this.appendWs();
    else this.output[this.outLength++] = SPACE;
  }

  private appendWs(): void {
    this.output[this.outLength++] = WS_BYTES[0];
    this.output[this.outLength++] = WS_BYTES[1];
    this.output[this.outLength++] = WS_BYTES[2];
  }

  private ensureOutput(extra: number): void {
    if (this.outLength + extra <= this.output.length) return;
    const grown = new Uint8Array((this.outLength + extra) * 2);
    grown.set(this.output.subarray(0, this.outLength));
    this.output = grown;
  }
}
