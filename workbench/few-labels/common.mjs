// Small helpers shared by the few-label benchmark's data builders, runners and report.
import { existsSync, readFileSync, writeFileSync, renameSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const cacheHome = process.env.XDG_CACHE_HOME ?? join(process.env.HOME ?? '.', '.cache');

/** Seeded generator (xoshiro128** seeded by splitmix32, as ulmfit's own Rng). */
export class Rng {
  constructor(seed) {
    this.s = new Uint32Array(4);
    let x = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
    if ((this.s[0] | this.s[1] | this.s[2] | this.s[3]) === 0) this.s[0] = 1;
  }
  nextUint32() {
    const s = this.s;
    const rotl = (v, k) => ((v << k) | (v >>> (32 - k))) >>> 0;
    const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }
  int(n) {
    return Math.floor((this.nextUint32() / 4294967296) * n);
  }
  shuffle(items) {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [items[i], items[j]] = [items[j], items[i]];
    }
    return items;
  }
}

/** A stable 32-bit seed from a string (FNV-1a), to give every (task, class, seed) its own stream. */
export function seedOf(...parts) {
  let h = 0x811c9dc5;
  for (const ch of parts.join('\u0000')) {
    h ^= ch.codePointAt(0);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** Control characters out, whitespace runs to one space. */
export function clean(text) {
  return text
    .replace(/\r/g, '')
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

export const words = (text) => (text.length === 0 ? 0 : text.split(' ').length);

/** A CSV field, quoted when it has to be (RFC 4180). */
const csvField = (s) => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

/** Rows of {text, label} as a `text,label` CSV. */
export function writeCsv(path, rows) {
  writeAtomic(path, ['text,label', ...rows.map((r) => `${csvField(r.text)},${csvField(r.label)}`)].join('\n') + '\n');
}

export function writeJsonl(path, rows) {
  writeAtomic(path, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
}

export function readJsonl(path) {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim().length > 0)
    .map((l) => JSON.parse(l));
}

export function writeAtomic(path, text) {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/** Accuracy and macro-F1 over the classes that are gold or predicted (as ulmfit's evaluate). */
export function score(labels, predicted, gold) {
  const n = gold.length;
  let correct = 0;
  for (let i = 0; i < n; i++) if (predicted[i] === gold[i]) correct++;
  let f1sum = 0;
  const present = labels.filter((c) => gold.includes(c) || predicted.includes(c));
  for (const c of present) {
    let tp = 0;
    let fp = 0;
    let fn = 0;
    for (let i = 0; i < n; i++) {
      if (predicted[i] === c && gold[i] === c) tp++;
      else if (predicted[i] === c) fp++;
      else if (gold[i] === c) fn++;
    }
    f1sum += tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
  }
  return { accuracy: n === 0 ? 0 : correct / n, f1: f1sum / present.length, count: n };
}
