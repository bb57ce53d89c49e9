// Small helpers shared by the few-label benchmark's data builders, runners and report.
import { existsSync, readFileSync, writeFileSync, renameSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const cacheHome = process.env.XDG_CACHE_HOME ?? join(process.env.HOME ?? '.', '.cache');

/** ulmfit's own seeded generator (xoshiro128**), so the benchmark's draws are the library's. Needs `npm run build`. */
export { Rng } from '../../dist/random.js';

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
  writeAtomic(
    path,
    ['text,label', ...rows.map((r) => `${csvField(r.text)},${csvField(r.label)}`)].join('\n') + '\n',
  );
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
