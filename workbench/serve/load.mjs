#!/usr/bin/env node
// Load benchmark of `ulmfit serve` (a benchmark, not a test): autocannon against the server on
// 127.0.0.1 at several concurrencies, one Brown passage per request, against calling
// Classifier.predict in process; optionally a soak with the server's RSS sampled.
//
//   npm run build && node bench/run.js serve [--duration 20] [--concurrency 1,8,64] [--soak-s 600] [--model <dir>] [--json]
//
// The classifier: with --model, that one; else one made from the shipped `en` language model
// (its encoder: emb 128, hidden 512, 2 layers, vocab 20,008) and a freshly initialised head with
// 4 labels, written once to .ulmfit-cache/bench/serve-clf (git-ignored). Its predictions mean nothing; its cost per
// document is a trained classifier's of that size (the same tensors are multiplied either way).
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { loadBrownDocs } from '../../bench/brown-text.mjs';

const repo = join(dirname(fileURLToPath(import.meta.url)), '../..');
const dist = (path) => import(join(repo, 'dist', path));

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? args[at + 1] : fallback;
};
const duration = Number(flag('duration', '20')); // seconds per concurrency level
const concurrencies = flag('concurrency', '1,8,64').split(',').map(Number);
const soakSeconds = Number(flag('soak-s', '0'));
const backend = flag('backend', 'wasm');
const json = args.includes('--json');
const say = (line) => process.stderr.write(line + '\n');

/** Brown paragraphs of 30-200 words: one document per request, as a service would get them. */
function documents(count) {
  const docs = [];
  for (const text of loadBrownDocs()) {
    for (const paragraph of text.split('\n\n')) {
      const words = paragraph.split(/\s+/).length;
      if (words >= 30 && words <= 200) docs.push(paragraph);
    }
  }
  // Every k-th, so the sample spans the corpus's genres; fixed, so runs compare.
  const step = Math.max(1, Math.floor(docs.length / count));
  return docs.filter((_, i) => i % step === 0).slice(0, count);
}

/** The benchmark classifier (see the header). */
async function benchClassifier() {
  const given = flag('model', undefined);
  if (given) return given;
  const dir = join(repo, '.ulmfit-cache', 'bench', 'serve-clf');
  if (existsSync(join(dir, 'meta.json'))) return dir;
  const { readModelDir, writeModelDir, resolveModelDir } = await dist('io/artifact.js');
  const { TextClassifier } = await dist('model/heads.js');
  const { weightsToTensorMap, withTfWeights } = await dist('model/persist.js');
  const { initBackend } = await dist('backend.js');
  await initBackend(backend);
  const lm = readModelDir(resolveModelDir('en'), { kind: ['lm'] });
  const labels = ['hobbies', 'news', 'religion', 'romance'];
  const arch = { ...lm.meta.arch, seq_len: 72, max_len: 72 * 20, lin_ftrs: [50], ps: [0.1] };
  const model = new TextClassifier(lm.vocab.length, labels.length, arch, {
    seed: 1,
    bptt: 72,
    maxLen: 72 * 20,
    linFtrs: [50],
    ps: [0.1],
  });
  withTfWeights(lm.weights, (tensors) => model.loadEncoderWeights(tensors, '0.'));
  writeModelDir(dir, {
    meta: {
      kind: 'classifier',
      arch,
      backwards: false,
      description: 'serve benchmark: en encoder, untrained head',
    },
    weights: weightsToTensorMap(model.namedWeights()),
    vocab: lm.vocab,
    tokenizer: lm.tokenizer,
    labels,
  });
  model.dispose();
  return dir;
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Classifier.predict in this process: one document per call, then batches of 64. */
async function inProcess(model, docs) {
  const { Classifier } = await dist('index.js');
  const clf = await Classifier.load(model, { backend });
  await clf.predict(docs.slice(0, 64)); // warm-up
  const latencies = [];
  const started = performance.now();
  let done = 0;
  while (performance.now() - started < duration * 1000) {
    const t = performance.now();
    await clf.predict(docs[done % docs.length]);
    latencies.push(performance.now() - t);
    done++;
  }
  const single = done / ((performance.now() - started) / 1000);
  latencies.sort((a, b) => a - b);
  const batchStart = performance.now();
  let batched = 0;
  while (performance.now() - batchStart < duration * 1000) {
    await clf.predict(docs.slice((batched * 64) % docs.length, ((batched * 64) % docs.length) + 64));
    batched++;
  }
  const batchedRate = (batched * 64) / ((performance.now() - batchStart) / 1000);
  await clf.dispose();
  return {
    single: { docsPerSecond: single, p50: percentile(latencies, 50), p99: percentile(latencies, 99) },
    batched64: { docsPerSecond: batchedRate },
  };
}

/** `ulmfit serve` as a child process; resolves with its URL once it listens. */
function startServer(model) {
  const child = spawn(
    process.execPath,
    [
      join(repo, 'bin/ulmfit.js'),
      'serve',
      '--model',
      `clf=${model}`,
      '--port',
      '0',
      '--quiet',
      '--backend',
      backend,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d) => {
      out += d;
      const match = /(http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (match) resolve({ child, url: match[1] });
    });
    child.on('exit', (code) => reject(new Error(`ulmfit serve exited with ${code}`)));
  });
}

function rssMiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1]) / 1024;
}

async function load(url, docs, connections, seconds) {
  let next = 0;
  const result = await autocannon({
    url: `${url}/v1/classify`,
    method: 'POST',
    connections,
    duration: seconds,
    headers: { 'content-type': 'application/json' },
    timeout: 60, // s; the server's own limit (30 s, 503) is what a slow answer should meet, not the client's default 10 s
    requests: [
      {
        setupRequest: (request) => ({
          ...request,
          body: JSON.stringify({ texts: [docs[next++ % docs.length]] }),
        }),
      },
    ],
  });
  return {
    connections,
    docsPerSecond: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    requests: result.requests.total,
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
  };
}

const docs = documents(512);
const model = await benchClassifier();
const words = docs.reduce((n, d) => n + d.split(/\s+/).length, 0) / docs.length;
const loadBefore = loadavg()[0];
say(
  `classifier ${model}; ${docs.length} Brown paragraphs, ${words.toFixed(0)} words on average; backend ${backend}; ${duration} s per level`,
);

say('in process: Classifier.predict …');
const direct = await inProcess(model, docs);
say(
  `  one document per call ${direct.single.docsPerSecond.toFixed(1)} docs/s (p50 ${direct.single.p50.toFixed(1)} ms, p99 ${direct.single.p99.toFixed(1)} ms); batches of 64 ${direct.batched64.docsPerSecond.toFixed(1)} docs/s`,
);

const server = await startServer(model);
const levels = [];
try {
  await load(server.url, docs, 8, 3); // warm-up
  for (const connections of concurrencies) {
    const level = await load(server.url, docs, connections, duration);
    levels.push(level);
    say(
      `  serve, ${connections} concurrent: ${level.docsPerSecond.toFixed(1)} docs/s, p50 ${level.p50} ms, p99 ${level.p99} ms, ${level.ok} ok, ${level.non2xx} non-2xx, ${level.errors} errors, ${level.timeouts} timeouts`,
    );
  }
  const models = await (await fetch(`${server.url}/v1/models`)).json();
  const queue = models.models[0].queue;
  say(`  batches ${queue.batches}, ${(queue.items / queue.batches).toFixed(1)} documents a batch on average`);
  let soak;
  if (soakSeconds > 0) {
    say(`soak: 8 concurrent for ${soakSeconds} s, server RSS sampled every 10 s …`);
    const samples = [{ s: 0, rssMiB: rssMiB(server.child.pid) }];
    const started = Date.now();
    const timer = setInterval(
      () => samples.push({ s: Math.round((Date.now() - started) / 1000), rssMiB: rssMiB(server.child.pid) }),
      10_000,
    );
    const result = await load(server.url, docs, 8, soakSeconds);
    clearInterval(timer);
    samples.push({ s: soakSeconds, rssMiB: rssMiB(server.child.pid) });
    const rss = samples.map((x) => x.rssMiB);
    const afterWarm = samples.filter((x) => x.s >= 60).map((x) => x.rssMiB);
    soak = {
      seconds: soakSeconds,
      ...result,
      rssStartMiB: rss[0],
      rssMaxMiB: Math.max(...rss),
      rssEndMiB: rss.at(-1),
      rssMinAfter60sMiB: Math.min(...afterWarm),
      rssMaxAfter60sMiB: Math.max(...afterWarm),
      samples,
    };
    say(
      `  ${result.docsPerSecond.toFixed(1)} docs/s, ${result.ok} ok, ${result.non2xx} non-2xx, ${result.errors} errors; RSS ${rss[0].toFixed(0)} MiB at start, ${soak.rssMinAfter60sMiB.toFixed(0)}-${soak.rssMaxAfter60sMiB.toFixed(0)} MiB after the first minute, ${soak.rssEndMiB.toFixed(0)} MiB at the end`,
    );
  }
  const report = {
    name: 'serve',
    backend,
    cpus: cpus().length,
    loadAverage: { before: loadBefore, after: loadavg()[0] },
    durationPerLevel: duration,
    documents: docs.length,
    meanWords: words,
    inProcess: direct,
    serve: levels,
    batching: queue,
    ...(soak ? { soak } : {}),
  };
  if (json) console.log(JSON.stringify(report, null, 2));
  console.log(`BENCH ${JSON.stringify(report)}`);
} finally {
  server.child.kill('SIGTERM');
}
