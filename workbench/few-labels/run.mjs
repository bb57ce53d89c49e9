#!/usr/bin/env node
// The few-label benchmark (issue 16, part 5): ulmfit with its defaults vs NB-SVM (`ulmfit
// baseline`) vs fastText on real tasks, at a few labeled documents per class, over seeds.
//
//   node workbench/few-labels/run.mjs [--tasks brown-genres,spam,sotu-party,debian-sections] [--labels 20,50,100,500]
//        [--seeds 1,2,3] [--runners nbsvm,fasttext,ulmfit] [--lm en|<dir>] [--work <dir>]
//        [--out docs/few-labels-benchmark.md] [--src <dir>] [--no-install] [--report-only]
//        [--tag <name> --ulmfit-args "<train-classifier flags>"] [--bwd-lm <backwards model>]
//
// Runners: nbsvm, fasttext, ulmfit (forward, --lm), ensemble (ulmfit + NB-SVM averaged: the
// defaults), bag (the run's networks averaged, no NB-SVM: defaults-table.mjs weighs it with NB-SVM), bwd
// (ulmfit with the backwards model --bwd-lm), bi (forward + backward averaged), bi+nbsvm (the
// three averaged), bi-defaults (the forward and backward run directories as a user passes them:
// both bags of networks and their shared NB-SVM). ensemble, bi, bi+nbsvm and bi-defaults reuse the
// runs of the variants they average.
//
// --tag runs an experiment: ulmfit's variants get the extra train-classifier flags, their results
// go to <work>/experiments-<tag>.jsonl and the table to <work>/experiments-<tag>.md, so the
// defaults' table in docs/ is left alone (the fine-tuned LMs and caches in <work> are shared).
// `{task}` in --ulmfit-args is replaced by the task's name (e.g. `--lm /lms/{task}`).
// Each finished run is appended to <work>/results.jsonl at once, and a run already there is
// skipped: an interrupted benchmark resumes where it stopped. The doc's results block is rewritten
// from all of results.jsonl after every run. Run it niced on a shared machine. Needs `npm run build`.
// Runs and fine-tuned LMs record a fingerprint of the --lm model's files: a work folder holding runs
// of other weights under the same name (`en` replaced) is refused rather than silently reused.
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { cpus, getPriority } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { readJsonl, repo } from './common.mjs';
import { TASKS, buildTask, defaultSrc, trainSet } from './data.mjs';
import { renderResults, writeDoc } from './report.mjs';
import { checkFingerprints, variants } from './runners.mjs';

const args = process.argv.slice(2);
const usage = (message) => {
  process.stderr.write(`few-labels: ${message} (--help for the flags)\n`);
  process.exit(2);
};
const flag = (name, fallback) => {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  if (i + 1 >= args.length || (args[i + 1].startsWith('--') && name !== '--ulmfit-args'))
    usage(`${name} needs a value`);
  return args[i + 1];
};
const list = (s) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
const known = new Set([
  '--tasks',
  '--labels',
  '--seeds',
  '--runners',
  '--lm',
  '--work',
  '--out',
  '--src',
  '--no-install',
  '--report-only',
  '--tag',
  '--ulmfit-args',
  '--bwd-lm',
  '--help',
  '-h',
]);
for (const [i, a] of args.entries())
  if (a.startsWith('-') && !known.has(a) && args[i - 1] !== '--ulmfit-args') usage(`unknown flag ${a}`);
if (args.includes('--help') || args.includes('-h')) {
  process.stdout.write(
    readFileSync(new URL(import.meta.url), 'utf8')
      .split('\n')
      .slice(1, 20)
      .map((l) => l.replace(/^\/\/ ?/, ''))
      .join('\n') + '\n',
  );
  process.exit(0);
}

const tasks = list(flag('--tasks', Object.keys(TASKS).join(',')));
const labels = list(flag('--labels', '20,50,100,500')).map(Number);
const seeds = list(flag('--seeds', '1,2,3')).map(Number);
const runners = list(flag('--runners', 'nbsvm,fasttext,ulmfit'));
const lm = flag('--lm', 'en');
const bwdLm = flag('--bwd-lm', undefined);
const work = resolve(flag('--work', 'runs/few-labels'));
const tag = flag('--tag', undefined);
const ulmfitArgs = list(flag('--ulmfit-args', '').replace(/\s+/g, ','));
if (ulmfitArgs.length > 0 && tag === undefined)
  usage('--ulmfit-args needs a --tag to keep its results apart');
if (tag !== undefined && !/^[\w.-]+$/.test(tag))
  usage(`--tag takes letters, digits, '.', '_' and '-', got '${tag}'`);
const outDoc = resolve(
  flag(
    '--out',
    tag === undefined ? join(repo, 'docs/few-labels-benchmark.md') : join(work, `experiments-${tag}.md`),
  ),
);
const src = resolve(flag('--src', defaultSrc));
for (const t of tasks) if (!TASKS[t]) usage(`unknown task '${t}' (known: ${Object.keys(TASKS).join(', ')})`);
for (const k of [...labels, ...seeds])
  if (!Number.isInteger(k) || k < 1) usage(`--labels and --seeds take positive integers, got ${k}`);
if (!existsSync(join(repo, 'dist/cli/main.js'))) usage('dist/ is missing: run `npm run build` first');

const resultsPath = join(work, tag === undefined ? 'results.jsonl' : `experiments-${tag}.jsonl`);
const shown = (p) => (p.startsWith(repo + '/') ? relative(repo, p) : p);
const command = `node workbench/few-labels/run.mjs ${args.join(' ')}`.trim();
const cpu = cpus();
const machine = `${cpu.length} cores (${cpu[0]?.model.trim() ?? 'unknown CPU'}), Node ${process.version}, niceness ${getPriority()}`;
/** The ulmfit build the runs use: HEAD, and whether src/ differed from it (dist/ is built from the work tree). */
function ulmfitCommit() {
  const git = (...a) => spawnSync('git', a, { cwd: repo, encoding: 'utf8' });
  const head = git('rev-parse', '--short', 'HEAD');
  if (head.status !== 0) return undefined;
  return (
    head.stdout.trim() +
    (git('status', '--porcelain', '--', 'src').stdout.trim() ? '+uncommitted src changes' : '')
  );
}
const commit = ulmfitCommit();
const say = (m) => process.stderr.write(`[few-labels ${new Date().toISOString().slice(11, 19)}] ${m}\n`);

function report() {
  // An experiment's table shows the defaults' and the baselines' runs beside its own.
  const results = [
    ...(tag === undefined ? [] : readJsonl(join(work, 'results.jsonl'))),
    ...readJsonl(resultsPath),
  ];
  writeDoc(
    outDoc,
    renderResults({ results, work: shown(work), command, machine, taskOrder: Object.keys(TASKS) }),
  );
}

if (args.includes('--report-only')) {
  report();
  say(`wrote ${shown(outDoc)}`);
  process.exit(0);
}

const keyOf = (r) => `${r.task}|${r.runner}|${r.labels}|${r.seed}`;
const done = new Set(
  readJsonl(resultsPath)
    .filter((r) => r.kind === 'run')
    .map(keyOf),
);
const lmDone = new Set(
  readJsonl(resultsPath)
    .filter((r) => r.kind === 'lm')
    .map((r) => `${r.task}|${r.lm}`),
);
let chosen;
try {
  chosen = variants(runners, lm, { tag, ulmfitArgs, bwdLm });
} catch (err) {
  usage(err.message);
}
try {
  const saved = readJsonl(resultsPath).filter((r) => r.kind === 'run');
  for (const v of chosen) checkFingerprints(saved, v, shown(resultsPath));
} catch (err) {
  usage(err.message);
}
let failures = 0;
let ran = 0;

for (const task of tasks) {
  const manifest = await buildTask(task, work, { src, install: !args.includes('--no-install'), log: say });
  const testPath = join(work, 'tasks', task, 'test.csv');
  for (const v of chosen) {
    for (const k of labels) {
      for (const seed of seeds) {
        const key = keyOf({ task, runner: v.id, labels: k, seed });
        if (done.has(key)) continue;
        const set = trainSet(task, work, k, seed);
        const runDir = join(work, 'runs', task, v.id, `${k}-s${seed}`);
        const log = join(work, 'logs', task, `${v.id}-${k}-s${seed}.log`);
        say(`${task} ${v.id} ${k}/class seed ${seed} …`);
        let r;
        try {
          r = await v.run({
            task,
            k,
            seed,
            trainPath: set.path,
            testPath,
            runDir,
            log,
            work,
            classes: manifest.classes,
          });
        } catch (err) {
          failures++;
          say(`FAILED ${key}: ${err.message}`);
          continue;
        }
        const trainDocs = Object.values(set.perClass).reduce((a, b) => a + b, 0);
        const row = {
          kind: 'run',
          task,
          runner: v.id,
          labels: k,
          seed,
          trainDocs,
          ...(v.fingerprint === undefined ? {} : { lmFingerprint: v.fingerprint }),
          ...r,
          date: new Date().toISOString(),
          machine,
          command,
          commit,
        };
        appendFileSync(resultsPath, JSON.stringify(row) + '\n');
        done.add(key);
        ran++;
        if (v.lm !== undefined && r.lmSeconds !== undefined && !lmDone.has(`${task}|${v.lm}`)) {
          appendFileSync(
            resultsPath,
            JSON.stringify({
              kind: 'lm',
              task,
              lm: v.lm,
              seconds: r.lmSeconds,
              date: new Date().toISOString(),
              machine,
              commit,
            }) + '\n',
          );
          lmDone.add(`${task}|${v.lm}`);
        }
        say(
          `${task} ${v.id} ${k}/class seed ${seed}: accuracy ${r.accuracy.toFixed(3)}, macro-F1 ${r.f1.toFixed(3)}, ${r.seconds.toFixed(1)} s`,
        );
        report();
      }
    }
  }
}
report();
say(`${ran} runs done, ${failures} failed; ${shown(resultsPath)}; wrote ${shown(outDoc)}`);
process.exitCode = failures > 0 ? 1 : 0;
