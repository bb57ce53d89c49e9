// The few-label benchmark's runners: each trains on one labeled set and scores the task's fixed
// test set, returning { accuracy, f1, seconds, ... }. They run the real command-line tools:
// ulmfit's CLI (node bin/ulmfit.js) and Debian's fasttext.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { resolveModelDir } from '../../dist/index.js';
import { runNetworksOf } from '../../dist/infer/classify.js';
import { readJsonl, repo, score } from './common.mjs';

const ulmfitBin = join(repo, 'bin/ulmfit.js');

/**
 * Runs a command (stdout to `stdoutPath` or the log, stderr to the log); throws with the log's
 * tail when it fails. Returns the wall seconds.
 */
function sh(cmd, args, { log, stdoutPath, cwd = repo }) {
  mkdirSync(join(log, '..'), { recursive: true });
  const logFd = openSync(log, 'a');
  const outFd = stdoutPath ? openSync(stdoutPath, 'w') : logFd;
  writeFileSync(logFd, `$ ${[cmd, ...args].join(' ')}\n`);
  const t0 = process.hrtime.bigint();
  const child = spawnSync(cmd, args, { cwd, stdio: ['ignore', outFd, logFd] });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (outFd !== logFd) closeSync(outFd);
  closeSync(logFd);
  if (child.error) throw child.error;
  if (child.status !== 0) {
    const tail = readFileSync(log, 'utf8').split('\n').slice(-15).join('\n');
    throw new Error(
      `${basename(cmd)} ${args[0] ?? ''} exited ${child.status ?? child.signal}; log ${log}:\n${tail}`,
    );
  }
  return seconds;
}

const ulmfit = (args, opts) => sh(process.execPath, [ulmfitBin, ...args], opts);

/** The final `{"evaluation": …}` line of `ulmfit classify --json`. */
function evaluation(path) {
  const lines = readFileSync(path, 'utf8').trim().split('\n');
  const last = JSON.parse(lines[lines.length - 1]);
  if (!last.evaluation) throw new Error(`${path} has no evaluation line (are the test labels missing?)`);
  // f1_macro since the output convention (docs/json-output.md); f1Macro from builds before it.
  return {
    accuracy: last.evaluation.accuracy,
    f1: last.evaluation.f1_macro ?? last.evaluation.f1Macro,
    testDocs: last.evaluation.count,
  };
}

/** `ulmfit <command> --help`, or undefined when the command does not exist (yet). */
function ulmfitHelp(command) {
  const child = spawnSync(process.execPath, [ulmfitBin, command, '--help'], { cwd: repo, encoding: 'utf8' });
  return child.status === 0 && child.stdout.includes(`ulmfit ${command}`) ? child.stdout : undefined;
}

// ---- NB-SVM: ulmfit's own baseline ----------------------------------------------------------

let baselineHelp;
function nbsvm({ trainPath, testPath, runDir, log }) {
  baselineHelp ??= ulmfitHelp('baseline') ?? '';
  if (!baselineHelp)
    throw new Error(
      '`ulmfit baseline` does not exist in this build yet (src/baseline/ has not landed, or dist/ needs `npm run build`)',
    );
  // Baselines train on the whole labeled set: no validation hold-out where the command has one.
  const extra = baselineHelp.includes('--valid-pct') ? ['--valid-pct', '0'] : [];
  rmSync(runDir, { recursive: true, force: true });
  const train = ulmfit(['baseline', trainPath, '--out', runDir, ...extra], { log });
  const predictions = join(runDir, 'test-predictions.jsonl');
  const classify = ulmfit(['classify', '--model', runDir, testPath, '--json'], {
    log,
    stdoutPath: predictions,
  });
  return {
    ...evaluation(predictions),
    seconds: train + classify,
    trainSeconds: train,
    classifySeconds: classify,
  };
}

// ---- fastText (Debian's fasttext CLI, a reference) -------------------------------------------

/** Lower-cased, punctuation split off: fastText's own tutorial preprocessing, roughly. */
export function fasttextTokens(text) {
  return text
    .toLowerCase()
    .replace(/([^\p{L}\p{N}\s'])/gu, ' $1 ')
    .replace(/\s+/g, ' ')
    .trim();
}

export const csvRows = (path) => {
  // The files are ours (data.mjs writes them): a small RFC 4180 reader is enough.
  const text = readFileSync(path, 'utf8');
  const rows = [];
  let field = '';
  let row = [];
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += ch;
  }
  if (field.length > 0 || row.length > 0) rows.push([...row, field]);
  const [header, ...body] = rows;
  const ti = header.indexOf('text');
  const li = header.indexOf('label');
  return body.map((r) => ({ text: r[ti], label: r[li] }));
};

function fasttext(settings) {
  return ({ trainPath, testPath, runDir, log, seed, classes }) => {
    rmSync(runDir, { recursive: true, force: true });
    mkdirSync(runDir, { recursive: true });
    const train = csvRows(trainPath);
    const test = csvRows(testPath);
    const trainTxt = join(runDir, 'train.txt');
    const testTxt = join(runDir, 'test.txt');
    writeFileSync(
      trainTxt,
      train.map((r) => `__label__${r.label} ${fasttextTokens(r.text)}`).join('\n') + '\n',
    );
    writeFileSync(testTxt, test.map((r) => fasttextTokens(r.text)).join('\n') + '\n');
    const model = join(runDir, 'model');
    // One thread: fastText is reproducible for a seed only single-threaded.
    const trainS = sh(
      'fasttext',
      [
        'supervised',
        '-input',
        trainTxt,
        '-output',
        model,
        '-thread',
        '1',
        '-seed',
        String(seed),
        '-verbose',
        '0',
        ...settings,
      ],
      { log },
    );
    const predictions = join(runDir, 'predictions.txt');
    const classifyS = sh('fasttext', ['predict', `${model}.bin`, testTxt], { log, stdoutPath: predictions });
    const predicted = readFileSync(predictions, 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.replace(/^__label__/, ''));
    if (predicted.length !== test.length)
      throw new Error(`fasttext predicted ${predicted.length} labels for ${test.length} documents`);
    // The model files (hundreds of MB with word bigrams' hash buckets) are not kept.
    for (const f of [`${model}.bin`, `${model}.vec`, trainTxt, testTxt]) rmSync(f, { force: true });
    const s = score(
      classes,
      predicted,
      test.map((r) => r.label),
    );
    return {
      accuracy: s.accuracy,
      f1: s.f1,
      testDocs: s.count,
      seconds: trainS + classifyS,
      trainSeconds: trainS,
      classifySeconds: classifyS,
    };
  };
}

// ---- ulmfit: finetune-lm once per task, train-classifier per labeled set -----------------------

/** An --lm value as ulmfit takes it: a model name (`en`) as given, a path made absolute. */
const lmRef = (lm) => (lm.includes('/') || existsSync(lm) ? resolve(lm) : lm);

/** The name an --lm value goes by in results: `en`, or a path's last part. */
export const lmName = (lm) => basename(lmRef(lm));

/**
 * The pretrained model's content, in 12 hex digits: a sha256 over the files of the model directory
 * that `--lm` resolves to (weights, vocab, tokenizer, meta.json; not its README). Results and
 * fine-tuned LMs are keyed by the model's name, and a name (`en`) can come to mean other weights;
 * the fingerprint tells the runs of one from the other's.
 */
export function lmFingerprint(lm) {
  const dir = resolveModelDir(lmRef(lm), { prefer: 'lm' });
  const hash = createHash('sha256');
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    // A README beside the weights is documentation: editing it leaves the model what it was.
    if (!statSync(path).isFile() || name.endsWith('.md')) continue;
    hash.update(name);
    hash.update(readFileSync(path));
  }
  return hash.digest('hex').slice(0, 12);
}

/**
 * Refuses to mix runs of two models that go by one name: `rows` (results.jsonl) holding runs of
 * `variant` whose recorded fingerprint is not the model's now. Rows written before fingerprints
 * were recorded carry none and are taken as they are.
 */
export function checkFingerprints(rows, variant, resultsPath) {
  if (variant.fingerprint === undefined) return;
  const other = rows.find(
    (r) =>
      r.runner === variant.id && r.lmFingerprint !== undefined && r.lmFingerprint !== variant.fingerprint,
  );
  if (other)
    throw new Error(
      `${resultsPath} holds ${variant.id} runs of another '${variant.lm}' (fingerprint ${other.lmFingerprint}, now ${variant.fingerprint}): pass a new --work folder`,
    );
}

/**
 * Fine-tunes the LM on the task's unlabeled text once (a marker file says it finished, and from
 * which weights: `fingerprint`, lmFingerprint's); returns its run dir and seconds.
 */
export function ensureLm({ task, lm, fingerprint, work, log }) {
  const dir = join(work, 'lm', `${task}-${lmName(lm)}`);
  const marker = join(dir, 'few-labels-done.json');
  if (existsSync(marker)) {
    const done = JSON.parse(readFileSync(marker, 'utf8'));
    if (done.fingerprint !== undefined && done.fingerprint !== fingerprint)
      throw new Error(
        `${dir} was fine-tuned from another '${lmName(lm)}' (fingerprint ${done.fingerprint}, now ${fingerprint}): pass a new --work folder`,
      );
    return { dir, ...done, reused: true };
  }
  const pretrained = lmRef(lm);
  const seconds = ulmfit(
    [
      'finetune-lm',
      join(work, 'tasks', task, 'unlabeled.jsonl'),
      '--pretrained',
      pretrained,
      '--out',
      dir,
      '--seed',
      '42',
      '--overwrite',
      '--cache-dir',
      join(work, 'cache'),
    ],
    { log },
  );
  const done = { seconds, pretrained, fingerprint, date: new Date().toISOString() };
  writeFileSync(marker, JSON.stringify(done) + '\n');
  return { dir, ...done, reused: false };
}

function ulmfitRunner(lm, fingerprint, extraArgs = []) {
  const lmFailed = new Map(); // task -> error: a failed finetune-lm is not retried for every labeled set
  return ({ task, trainPath, testPath, runDir, log, seed, work }) => {
    if (lmFailed.has(task)) throw lmFailed.get(task);
    let lmRun;
    try {
      lmRun = ensureLm({
        task,
        lm,
        fingerprint,
        work,
        log: join(work, 'logs', task, `finetune-lm-${lmName(lm)}.log`),
      });
    } catch (err) {
      lmFailed.set(task, err);
      throw err;
    }
    // A run killed earlier may have left classify's output beside it, which --overwrite refuses to clear.
    rmSync(runDir, { recursive: true, force: true });
    const train = ulmfit(
      [
        'train-classifier',
        trainPath,
        '--lm',
        lmRun.dir,
        '--out',
        runDir,
        '--seed',
        String(seed),
        '--overwrite',
        '--cache-dir',
        join(work, 'cache'),
        ...extraArgs.map((a) => a.replaceAll('{task}', task)),
      ],
      { log },
    );
    const predictions = join(runDir, 'test-predictions.jsonl');
    // model-best/ alone: the run directory would also average in the baseline (the `ensemble` runner).
    const classify = ulmfit(['classify', '--model', join(runDir, 'model-best'), testPath, '--json'], {
      log,
      stdoutPath: predictions,
    });
    return {
      ...evaluation(predictions),
      seconds: train + classify,
      trainSeconds: train,
      classifySeconds: classify,
      lmSeconds: lmRun.seconds,
    };
  };
}

/** `classify --model m1 --model m2 … <test> --json` into `<runDir>/test-predictions.jsonl`, scored: nothing is trained. */
function classifyMembers(members, testPath, runDir) {
  mkdirSync(runDir, { recursive: true });
  const predictions = join(runDir, 'test-predictions.jsonl');
  const classify = ulmfit(['classify', ...members.flatMap((m) => ['--model', m]), testPath, '--json'], {
    log: join(runDir, 'classify.log'),
    stdoutPath: predictions,
  });
  return { ...evaluation(predictions), seconds: classify, trainSeconds: 0, classifySeconds: classify };
}

/**
 * Classifiers already trained on the same labeled set, their class probabilities averaged
 * (`classify --model a --model b …`): the model-best/ of the ulmfit variants `ids` (which must come
 * first in the same harness run), plus the NB-SVM baseline train-classifier trained beside the
 * first one when `withNbsvm`. `asRunDir`: the variants' run directories as a user passes them,
 * each standing for its networks and its baseline (ulmfit's default). Nothing is
 * trained again, so the seconds are classifying only.
 */
function averagedRunner(ids, withNbsvm, { asRunDir = false } = {}) {
  return ({ testPath, runDir }) => {
    const runs = ids.map((id) => join(dirname(dirname(runDir)), id, basename(runDir)));
    const members = asRunDir ? runs : runs.map((run) => join(run, 'model-best'));
    if (withNbsvm && !asRunDir) members.push(join(runs[0], 'baseline'));
    const needed = asRunDir
      ? [...runs.map((run) => join(run, 'model-best')), join(runs[0], 'baseline')]
      : members;
    for (const m of needed)
      if (!existsSync(join(m, 'meta.json')))
        throw new Error(`${m} has no model: run the ${ids.join(' and ')} variants first`);
    return classifyMembers(members, testPath, runDir);
  };
}

/**
 * A run's networks averaged without its NB-SVM (`classify --model <run>/model-best --model
 * <run>/networks/<k>/model-best …`): the bag's own predictions, for ensemble-weights.mjs.
 */
function bagRunner(id) {
  return ({ testPath, runDir }) => {
    const first = join(dirname(dirname(runDir)), id, basename(runDir), 'model-best');
    if (!existsSync(join(first, 'meta.json')))
      throw new Error(`${first} has no model: run the ${id} variant first`);
    // The networks classify would average (runNetworksOf: completed ones, in order).
    return classifyMembers([first, ...runNetworksOf(first)], testPath, runDir);
  };
}

// ---- the registry ---------------------------------------------------------------------------

/**
 * `--runners` names → the variants they run. A variant's id is what results.jsonl and the tables
 * key on; `label` is its column header.
 */
export function variants(runners, lm, { tag, ulmfitArgs = [], bwdLm } = {}) {
  const out = [];
  const suffix = tag === undefined ? '' : `@${tag}`;
  let fingerprint; // computed once, and only when a variant uses --lm
  const fingerprintOf = () => (fingerprint ??= lmFingerprint(lm));
  for (const r of runners) {
    if (r === 'nbsvm')
      out.push({ id: 'nbsvm', label: 'NB-SVM (`ulmfit baseline`)', baseline: true, run: nbsvm });
    else if (r === 'fasttext') {
      out.push({ id: 'fasttext', label: 'fastText (defaults)', baseline: true, run: fasttext([]) });
      out.push({
        id: 'fasttext-tutorial',
        label: 'fastText (`-epoch 25 -wordNgrams 2`)',
        baseline: true,
        run: fasttext(['-epoch', '25', '-wordNgrams', '2']),
      });
    } else if (r === 'ulmfit')
      out.push({
        id: `ulmfit-${lmName(lm)}${suffix}`,
        label: `ulmfit (${lmName(lm)})${tag ? ` ${ulmfitArgs.join(' ')}` : ''}`,
        baseline: false,
        lm: lmName(lm),
        fingerprint: fingerprintOf(),
        run: ulmfitRunner(lm, fingerprintOf(), ulmfitArgs),
      });
    else if (r === 'ensemble') {
      const id = `ulmfit-${lmName(lm)}${suffix}`;
      out.push({
        id: `${id}+nbsvm`,
        label: `ulmfit defaults (${lmName(lm)}): ULMFiT + NB-SVM, averaged`,
        baseline: false,
        lm: lmName(lm),
        fingerprint: fingerprintOf(),
        run: averagedRunner([id], true, { asRunDir: true }),
      });
    } else if (r === 'bag') {
      const id = `ulmfit-${lmName(lm)}${suffix}`;
      out.push({
        id: `${id}+bag`,
        label: `ulmfit's networks (${lmName(lm)}), averaged without NB-SVM`,
        baseline: false,
        lm: lmName(lm),
        fingerprint: fingerprintOf(),
        run: bagRunner(id),
      });
    } else if (r === 'bwd' || r === 'bi' || r === 'bi+nbsvm' || r === 'bi-defaults') {
      if (bwdLm === undefined) throw new Error(`the ${r} runner needs --bwd-lm <backwards model>`);
      const fwdId = `ulmfit-${lmName(lm)}${suffix}`;
      const bwdId = `ulmfit-${lmName(bwdLm)}${suffix}`;
      if (r === 'bwd') {
        const bwdFingerprint = lmFingerprint(bwdLm);
        out.push({
          id: bwdId,
          label: `ulmfit (${lmName(bwdLm)}, backwards)`,
          baseline: false,
          lm: lmName(bwdLm),
          fingerprint: bwdFingerprint,
          run: ulmfitRunner(bwdLm, bwdFingerprint, ulmfitArgs), // the direction follows the model
        });
      } else if (r === 'bi')
        out.push({
          id: `${fwdId}+bwd`,
          label: `ulmfit forward + backward (${lmName(lm)}, ${lmName(bwdLm)}), averaged`,
          baseline: false,
          run: averagedRunner([fwdId, bwdId], false),
        });
      else if (r === 'bi-defaults')
        out.push({
          id: `${fwdId}+bwd-runs`,
          label: `ulmfit defaults forward + backward: both run directories (their networks and NB-SVM), averaged`,
          baseline: false,
          run: averagedRunner([fwdId, bwdId], false, { asRunDir: true }),
        });
      else
        out.push({
          id: `${fwdId}+bwd+nbsvm`,
          label: `ulmfit forward + backward + NB-SVM, averaged`,
          baseline: false,
          run: averagedRunner([fwdId, bwdId], true),
        });
    } else
      throw new Error(
        `unknown runner '${r}' (known: nbsvm, fasttext, ulmfit, ensemble, bag, bwd, bi, bi+nbsvm, bi-defaults)`,
      );
  }
  return out;
}

export { readJsonl };
