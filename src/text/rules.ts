/**
 * fastai's text rules (fastai/text/core.py), ported to behave exactly like the Python functions.
 *
 * Pre-rules are string → string functions applied to the raw document, in the order of
 * `PRE_RULES`; the post-rule maps every token after the word split. Python regex classes differ
 * from JavaScript's, so the patterns below spell them out:
 * - Python `\s` (str.isspace) is `PY_SPACE`, not JS `\s` (JS adds U+FEFF and lacks \x1c-\x1f, \x85);
 * - Python `\w` is Unicode-aware: `[\p{L}\p{N}_]` with the `u` flag (JS `\w` is ASCII-only);
 * - every regex uses the `u` flag so that a character is a code point, as in Python.
 */
import { HTML5_ENTITIES } from './html-entities.js';
import { BOS, EOS, MAJ, REP, UP, UNK, WREP } from './specials.js';

/** The characters Python's `\s` / `str.isspace()` accept, as a regex class body. */
export const PY_SPACE_CLASS =
  '\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
/** Python's Unicode `\w`, as a regex class body (needs the `u` flag). */
export const PY_WORD_CLASS = '\\p{L}\\p{N}_';

const S = `[${PY_SPACE_CLASS}]`;
const W = `[${PY_WORD_CLASS}]`;
const NOT_W = `[^${PY_WORD_CLASS}]`;

const SPACE_RUNS = new RegExp(`${S}+`, 'u');

/** Python's `str.isspace()` for one UTF-16 unit (all Python whitespace is in the BMP). */
export function isPySpace(code: number): boolean {
  if (code <= 0x20) return code === 0x20 || (code >= 0x09 && code <= 0x0d) || (code >= 0x1c && code <= 0x1f);
  if (code < 0x85) return false;
  return (
    code === 0x85 ||
    code === 0xa0 ||
    code === 0x1680 ||
    (code >= 0x2000 && code <= 0x200a) ||
    code === 0x2028 ||
    code === 0x2029 ||
    code === 0x202f ||
    code === 0x205f ||
    code === 0x3000
  );
}

/** Python's `str.strip()` (JS `trim()` uses a different whitespace set). */
export function pyStrip(text: string): string {
  // A loop, not a `\s+$` regex: V8 would try that regex at every position of the document.
  let start = 0;
  let end = text.length;
  while (start < end && isPySpace(text.charCodeAt(start))) start++;
  while (end > start && isPySpace(text.charCodeAt(end - 1))) end--;
  return start === 0 && end === text.length ? text : text.slice(start, end);
}

// ---------------------------------------------------------------------------------------------
// 1. fix_html

/** fastai's plain substring replacements, applied one after the other in this order. */
const HTML_REPLACEMENTS: ReadonlyArray<readonly [string, string]> = [
  ['#39;', "'"],
  ['amp;', '&'],
  ['#146;', "'"],
  ['nbsp;', ' '],
  ['#36;', '$'],
  ['\\n', '\n'],
  ['quot;', "'"],
  ['<br />', '\n'],
  ['\\"', '"'],
  ['<unk>', UNK],
  [' @.@ ', '.'],
  [' @-@ ', '-'],
  ['...', ' …'],
];

/** Python's `html.unescape` character-reference pattern. */
const CHARREF = /&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)/gu;

/** Numeric references that HTML5 maps to another character (Python's `_invalid_charrefs`). */
const INVALID_CHARREFS: ReadonlyMap<number, string> = new Map([
  [0x00, '\ufffd'],
  [0x0d, '\r'],
  [0x80, '\u20ac'],
  [0x81, '\x81'],
  [0x82, '\u201a'],
  [0x83, '\u0192'],
  [0x84, '\u201e'],
  [0x85, '\u2026'],
  [0x86, '\u2020'],
  [0x87, '\u2021'],
  [0x88, '\u02c6'],
  [0x89, '\u2030'],
  [0x8a, '\u0160'],
  [0x8b, '\u2039'],
  [0x8c, '\u0152'],
  [0x8d, '\x8d'],
  [0x8e, '\u017d'],
  [0x8f, '\x8f'],
  [0x90, '\x90'],
  [0x91, '\u2018'],
  [0x92, '\u2019'],
  [0x93, '\u201c'],
  [0x94, '\u201d'],
  [0x95, '\u2022'],
  [0x96, '\u2013'],
  [0x97, '\u2014'],
  [0x98, '\u02dc'],
  [0x99, '\u2122'],
  [0x9a, '\u0161'],
  [0x9b, '\u203a'],
  [0x9c, '\u0153'],
  [0x9d, '\x9d'],
  [0x9e, '\u017e'],
  [0x9f, '\u0178'],
]);

/** Code points that HTML5 drops (Python's `_invalid_codepoints`). */
function isInvalidCodepoint(cp: number): boolean {
  return (
    (cp >= 0x1 && cp <= 0x8) ||
    cp === 0xb ||
    (cp >= 0xe && cp <= 0x1f) ||
    (cp >= 0x7f && cp <= 0x9f) ||
    (cp >= 0xfdd0 && cp <= 0xfdef) ||
    (cp & 0xfffe) === 0xfffe // U+xFFFE and U+xFFFF in every plane
  );
}

function replaceCharref(match: string, ref: string): string {
  if (ref[0] === '#') {
    const hex = ref[1] === 'x' || ref[1] === 'X';
    const digits = ref.slice(hex ? 2 : 1).replace(/;$/, '');
    // Python ints are unbounded; anything past U+10FFFF is U+FFFD either way.
    const cp = digits.length > 8 ? Infinity : parseInt(digits, hex ? 16 : 10);
    const mapped = INVALID_CHARREFS.get(cp);
    if (mapped !== undefined) return mapped;
    if ((cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return '\ufffd';
    if (isInvalidCodepoint(cp)) return '';
    return String.fromCodePoint(cp);
  }
  const whole = HTML5_ENTITIES.get(ref);
  if (whole !== undefined) return whole;
  // The longest prefix that is a known entity (HTML5 allows some names without ';').
  for (let end = ref.length - 1; end > 1; end--) {
    const prefix = HTML5_ENTITIES.get(ref.slice(0, end));
    if (prefix !== undefined) return prefix + ref.slice(end);
  }
  return match;
}

/** Python's `html.unescape`: HTML5 named and numeric character references. */
export function htmlUnescape(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(CHARREF, replaceCharref);
}

/**
 * A space-free piece of each fix_html pattern (for ' @.@ ', '@.@'), plus '&' for unescape: a
 * text in which no whitespace-delimited run contains one of these is left as it is by fix_html.
 */
const FIX_HTML_RUN_PIECES: readonly string[] = [
  '&',
  ...HTML_REPLACEMENTS.map(([from]) => from.split(' ').find((piece) => piece.length > 0)!),
];

/**
 * A character of each piece that rarely occurs in text ('&', ';', '<', '@', '\\'), or '..' for
 * the piece made of dots: a run with none of these needs no closer look.
 */
const FIX_HTML_MARKS = new Uint8Array(128);
for (const piece of FIX_HTML_RUN_PIECES) {
  const mark = piece.search(/[^A-Za-z0-9.]/);
  if (mark >= 0) FIX_HTML_MARKS[piece.charCodeAt(mark)] = 1;
  else if (!/^\.\.+$/.test(piece)) throw new Error(`fix_html piece without a mark: ${piece}`);
}

/** Whether `run` (whitespace-free) holds a piece that could make fix_html change its text. */
export function mayFixHtml(run: string): boolean {
  let marked = false;
  for (let i = 0; i < run.length && !marked; i++) {
    const code = run.charCodeAt(i);
    marked =
      code < 128 &&
      (FIX_HTML_MARKS[code] === 1 || (code === 0x2e && i + 1 < run.length && run.charCodeAt(i + 1) === 0x2e));
  }
  if (!marked) return false;
  for (const piece of FIX_HTML_RUN_PIECES) if (run.includes(piece)) return true;
  return false;
}

/** fastai `fix_html`: messy HTML leftovers (`amp;`, `<br />`, `@-@`, `...`) then html.unescape. */
export function fixHtml(text: string): string {
  let out = text;
  for (const [from, to] of HTML_REPLACEMENTS) {
    // `includes` first: most documents contain none of these, and a scan is cheaper than a copy.
    if (out.includes(from)) out = out.replaceAll(from, to);
  }
  return htmlUnescape(out);
}

// ---------------------------------------------------------------------------------------------
// 2. replace_rep

/**
 * fastai `replace_rep`: a non-space character repeated 3+ times → ` xxrep N c `.
 *
 * fastai's regex is `(\S)(\1{2,})` (code points). A hand-written scan does the same (a failed
 * match at a character means none inside its run of repeats either) without the regex engine
 * trying a capture and a backreference at every position, and returns `text` itself when
 * nothing repeats (most documents).
 */
export function replaceRep(text: string): string {
  let out = '';
  let copied = 0;
  let i = 0;
  const length = text.length;
  while (i < length) {
    const code = text.charCodeAt(i);
    // A cheap look at the next two units first: most characters do not repeat at all. (In
    // bounds: V8's optimized code gives up on a charCodeAt past the end.)
    const next = i + 1 < length ? text.charCodeAt(i + 1) : -1;
    const high = code >= 0xd800 && code <= 0xdbff;
    if (code !== next && !(high && i + 2 < length && code === text.charCodeAt(i + 2))) {
      // Step over a whole surrogate pair: the regex never starts inside one.
      i += high && next >= 0xdc00 && next <= 0xdfff ? 2 : 1;
      continue;
    }
    const point = text.codePointAt(i)!;
    const width = point > 0xffff ? 2 : 1;
    let end = i + width;
    let count = 1;
    while (end < length && text.codePointAt(end) === point) {
      end += width;
      count++;
    }
    if (count >= 3 && !isPySpace(code)) {
      out += `${text.slice(copied, i)} ${REP} ${count} ${text.slice(i, i + width)} `;
      copied = end;
    }
    i = end;
  }
  return copied === 0 ? text : out + text.slice(copied);
}

// ---------------------------------------------------------------------------------------------
// 3. replace_wrep

const WORD_REPETITION = new RegExp(`(?:${S}|^)(${W}+)${S}+((?:\\1${S}+)+)\\1(${S}|${NOT_W}|$)`, 'gu');

/**
 * Whether two whitespace-delimited runs in a row are equal. replace_wrep's pattern can only match
 * where they are (its first two copies of the word are whole runs), so without them it has
 * nothing to do; that scan is far cheaper than the regex, which tries at every word.
 */
export function hasRepeatedRun(text: string): boolean {
  const length = text.length;
  let previousStart = 0;
  let previousLength = -1;
  let i = 0;
  while (i < length) {
    while (i < length && isPySpace(text.charCodeAt(i))) i++;
    const start = i;
    while (i < length && !isPySpace(text.charCodeAt(i))) i++;
    const runLength = i - start;
    if (runLength === previousLength && runLength > 0) {
      let k = 0;
      while (k < runLength && text.charCodeAt(start + k) === text.charCodeAt(previousStart + k)) k++;
      if (k === runLength) return true;
    }
    previousStart = start;
    previousLength = runLength;
  }
  return false;
}

/** fastai `replace_wrep`: a word repeated 3+ times → ` xxwrep N word E`. */
export function replaceWrep(text: string): string {
  if (!hasRepeatedRun(text)) return text;
  return text.replace(WORD_REPETITION, (_m, word: string, repeats: string, end: string) => {
    const count = pyStrip(repeats).split(SPACE_RUNS).length + 2;
    return ` ${WREP} ${count} ${word} ${end}`;
  });
}

// ---------------------------------------------------------------------------------------------
// 4. spec_add_spaces, 5. rm_useless_spaces

const SPEC_CHARS = /([/#\\])/g;

/** fastai `spec_add_spaces`: a space on each side of `/`, `#` and `\`. */
export function specAddSpaces(text: string): string {
  if (!text.includes('/') && !text.includes('#') && !text.includes('\\')) return text;
  return text.replace(SPEC_CHARS, ' $1 ');
}

const SPACE_RUN = / {2,}/g;

/** fastai `rm_useless_spaces`: runs of 2+ U+0020 spaces become one (newlines and tabs stay). */
export function rmUselessSpaces(text: string): string {
  if (!text.includes('  ')) return text;
  return text.replace(SPACE_RUN, ' ');
}

// ---------------------------------------------------------------------------------------------
// 6. replace_all_caps, 7. replace_maj

const ALL_CAPS = new RegExp(`(${S}|^)([A-Z]+[^a-z${PY_SPACE_CLASS}]*)(?=(${S}|$))`, 'gu');

/** fastai `replace_all_caps`: `WORD` → `xxup word`; a single capital letter is just lower-cased. */
export function replaceAllCaps(text: string): string {
  return text.replace(ALL_CAPS, (_m, before: string, word: string) =>
    word.length > 1 ? `${before}${UP} ${word.toLowerCase()}` : `${before}${word.toLowerCase()}`,
  );
}

const CAPITALIZED = new RegExp(`(${S}|^)([A-Z][^A-Z${PY_SPACE_CLASS}]*)(?=(${S}|$))`, 'gu');

/** fastai `replace_maj`: `Word` → `xxmaj word`; a single capital letter is just lower-cased. */
export function replaceMaj(text: string): string {
  return text.replace(CAPITALIZED, (_m, before: string, word: string) =>
    word.length > 1 ? `${before}${MAJ} ${word.toLowerCase()}` : `${before}${word.toLowerCase()}`,
  );
}

const CAPITALIZED_LONGER = new RegExp(`(${S}|^)([A-Z][^A-Z${PY_SPACE_CLASS}]+)(?=${S}|$)`, 'gu');

/**
 * `lowercase(replaceMaj(text))` in one step: when the whole text is lower-cased right after, the
 * words replace_maj marks need not be lower-cased one by one, so a replacement string does the
 * job of the per-match callback (replace_maj fires on every capitalized word: this is hot).
 */
export function replaceMajThenLowercase(text: string): string {
  return lowercase(text.replace(CAPITALIZED_LONGER, `$1${MAJ} $2`));
}

// ---------------------------------------------------------------------------------------------
// 8. lowercase

/**
 * fastai `lowercase(t, add_bos=True, add_eos=False)`: `'xxbos ' + t.lower().strip()`. This is
 * where every document gets its xxbos.
 */
export function lowercase(text: string, addBos = true, addEos = false): string {
  return (addBos ? `${BOS} ` : '') + pyStrip(text.toLowerCase()) + (addEos ? ` ${EOS}` : '');
}

// ---------------------------------------------------------------------------------------------
// Post-rule: replace_space

/** fastai `replace_space`: a space inside a token becomes `▁` (U+2581), so tokens never hold ' '. */
export function replaceSpace(token: string): string {
  return token.includes(' ') ? token.replaceAll(' ', '\u2581') : token;
}

// ---------------------------------------------------------------------------------------------
// The pipelines

export interface PreRule {
  /** fastai's function name; this is what TokenizerSettings.preRules records. */
  readonly name: string;
  readonly apply: (text: string) => string;
}

export interface PostRule {
  readonly name: string;
  readonly apply: (token: string) => string;
}

/** fastai's `defaults.text_proc_rules`, in their order. The order matters: do not sort. */
export const PRE_RULES: readonly PreRule[] = Object.freeze([
  { name: 'fix_html', apply: fixHtml },
  { name: 'replace_rep', apply: replaceRep },
  { name: 'replace_wrep', apply: replaceWrep },
  { name: 'spec_add_spaces', apply: specAddSpaces },
  { name: 'rm_useless_spaces', apply: rmUselessSpaces },
  { name: 'replace_all_caps', apply: replaceAllCaps },
  { name: 'replace_maj', apply: replaceMaj },
  { name: 'lowercase', apply: (text: string) => lowercase(text) },
]);

/** fastai's `defaults.text_postproc_rules`. */
export const POST_RULES: readonly PostRule[] = Object.freeze([
  { name: 'replace_space', apply: replaceSpace },
]);

const PRE_RULES_BY_NAME = new Map(PRE_RULES.map((rule) => [rule.name, rule]));
const POST_RULES_BY_NAME = new Map(POST_RULES.map((rule) => [rule.name, rule]));

export function findPreRule(name: string): PreRule | undefined {
  return PRE_RULES_BY_NAME.get(name);
}

export function findPostRule(name: string): PostRule | undefined {
  return POST_RULES_BY_NAME.get(name);
}

/** Runs all fastai pre-rules in order (what fastai hands to spaCy). */
export function applyPreRules(text: string, rules: readonly PreRule[] = PRE_RULES): string {
  let out = text;
  for (const rule of rules) out = rule.apply(out);
  return out;
}

/**
 * The same rules with `replace_maj` + `lowercase` fused where they are adjacent (same output,
 * faster: see `replaceMajThenLowercase`). This is what the tokenizer runs.
 */
export function fusePreRules(rules: readonly PreRule[]): PreRule[] {
  const fused: PreRule[] = [];
  for (let i = 0; i < rules.length; i++) {
    if (rules[i]!.name === 'replace_maj' && rules[i + 1]?.name === 'lowercase') {
      fused.push({ name: 'replace_maj+lowercase', apply: replaceMajThenLowercase });
      i++;
    } else {
      fused.push(rules[i]!);
    }
  }
  return fused;
}
