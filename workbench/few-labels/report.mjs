// The few-label benchmark's markdown: per task, accuracy / macro-F1 / seconds tables (rows: labels
// per class; columns: runners; mean ± std over seeds), and ulmfit minus the best baseline at 100
// labels per class. Written between two markers of the doc, so the prose around them is kept.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeAtomic } from './common.mjs';

export const START =
  '<!-- few-labels:results:start (written by workbench/few-labels/run.mjs; edits here are overwritten) -->';
export const END = '<!-- few-labels:results:end -->';

const BASE_LABELS = {
  nbsvm: 'NB-SVM',
  fasttext: 'fastText (defaults)',
  'fasttext-tutorial': 'fastText (ep 25, bigrams)',
};
/** `ulmfit-<lm>+nbsvm` is what `classify --model <run>` gives (the defaults); `ulmfit-<lm>` is model-best/ alone. */
const isDefaults = (id) => /^ulmfit-[^+]+\+nbsvm$/.test(id);
function ulmfitLabel(rest) {
  const [lm, ...others] = rest.split('+');
  if (others.length === 0) return `ULMFiT alone (${lm})`;
  if (others.join('+') === 'nbsvm') return `ulmfit defaults (${lm})`;
  if (others.join('+') === 'bag') return `ULMFiT's networks (${lm})`;
  return `ULMFiT ${lm}+${others.join('+')}`;
}
const columnLabel = (id) =>
  BASE_LABELS[id] ?? (id.startsWith('ulmfit-') ? ulmfitLabel(id.slice('ulmfit-'.length)) : id);
const isBaseline = (id) => id in BASE_LABELS;
const order = (id) =>
  id === 'nbsvm' ? 0 : id === 'fasttext' ? 1 : id === 'fasttext-tutorial' ? 2 : isDefaults(id) ? 3 : 4;

function stats(xs) {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const std = n > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : undefined;
  return { n, mean, std };
}

const fmt = (s, digits = 3) =>
  `${s.mean.toFixed(digits)}${s.std !== undefined ? ` ± ${s.std.toFixed(digits)}` : ''} (${s.n})`;
const fmtSec = (s) => `${s.mean < 10 ? s.mean.toFixed(1) : Math.round(s.mean)} s (${s.n})`;

/** One task's section. */
function taskSection(task, rows, lmRows, manifest) {
  const ids = [...new Set(rows.map((r) => r.runner))].sort(
    (a, b) => order(a) - order(b) || a.localeCompare(b),
  );
  const ks = [...new Set(rows.map((r) => r.labels))].sort((a, b) => a - b);
  const cell = (id, k, key) => {
    const xs = rows.filter((r) => r.runner === id && r.labels === k).map((r) => r[key]);
    return xs.length > 0 ? stats(xs) : undefined;
  };
  const out = [`### ${task}`, ''];
  if (manifest) {
    const per = (o) =>
      Object.entries(o)
        .map(([c, n]) => `${c} ${n}`)
        .join(', ');
    const majority = Math.max(...Object.values(manifest.test.perClass)) / manifest.test.docs;
    out.push(
      `${manifest.notes}.`,
      '',
      `Test ${manifest.test.docs} documents (${per(manifest.test.perClass)}; majority class ${majority.toFixed(3)} accuracy); ` +
        `pool ${manifest.pool.docs} (${per(manifest.pool.perClass)}); unlabeled text for the LM ${manifest.unlabeled.docs} documents, ${manifest.unlabeled.words.toLocaleString('en-US')} words.`,
      '',
    );
  }
  const short = (k) => manifest && Object.values(manifest.pool.perClass).some((n) => n < k);
  const rowName = (k) => (short(k) ? `${k}*` : String(k));
  const table = (title, key, better) => {
    out.push(
      `${title}`,
      '',
      `| labels/class | ${ids.map(columnLabel).join(' | ')} |`,
      `|---|${ids.map(() => '---|').join('')}`,
    );
    for (const k of ks) {
      const cells = ids.map((id) => cell(id, k, key));
      const means = cells.filter(Boolean).map((c) => c.mean);
      const best = better === 'max' ? Math.max(...means) : undefined;
      const shown = cells.map((c) =>
        c === undefined
          ? '–'
          : best !== undefined && c.mean === best && means.length > 1
            ? `**${fmt(c)}**`
            : fmt(c),
      );
      out.push(`| ${rowName(k)} | ${shown.join(' | ')} |`);
    }
    out.push('');
  };
  table('Accuracy (mean ± std over seeds, number of seeds; best per row in bold):', 'accuracy', 'max');
  table('Macro-F1:', 'f1', 'max');
  out.push(
    'Wall seconds per run (train + classify the test set; mean, number of runs):',
    '',
    `| labels/class | ${ids.map(columnLabel).join(' | ')} |`,
    `|---|${ids.map(() => '---|').join('')}`,
  );
  for (const k of ks)
    out.push(
      `| ${rowName(k)} | ${ids
        .map((id) => cell(id, k, 'seconds'))
        .map((c) => (c ? fmtSec(c) : '–'))
        .join(' | ')} |`,
    );
  out.push('');
  for (const r of lmRows)
    out.push(
      `- \`finetune-lm\` on the unlabeled text from \`${r.lm}\` (once per task, shared by every ulmfit run above): ${Math.round(r.seconds)} s.`,
    );
  // Runs that gave every test document one class (the accuracy and macro-F1 of a constant guess).
  if (manifest) {
    const K = manifest.classes.length;
    const constant = (r) =>
      Object.values(manifest.test.perClass).some((n) => {
        const share = n / manifest.test.docs;
        return Math.abs(r.accuracy - share) < 1e-9 && Math.abs(r.f1 - (2 * share) / (1 + share) / K) < 1e-6;
      });
    const flat = rows
      .filter(constant)
      .sort((a, b) => order(a.runner) - order(b.runner) || a.labels - b.labels || a.seed - b.seed);
    if (flat.length > 0)
      out.push(
        `- At chance, one class for every test document (${flat.length} of ${rows.length} runs): ${flat.map((r) => `${columnLabel(r.runner)} ${r.labels}/class seed ${r.seed}`).join(', ')}.`,
      );
  }
  if (ks.some(short)) {
    const few = Object.entries(manifest.pool.perClass)
      .filter(([, n]) => n < Math.max(...ks))
      .map(([c, n]) => `${c} has ${n}`);
    out.push(
      `- \\* fewer pool documents than labels/class for some classes (${few.join(', ')}): those classes give all they have.`,
    );
  }
  // The target's line: ulmfit minus the best baseline at 100 labels per class.
  const at = 100;
  const baselines = ids
    .filter(isBaseline)
    .map((id) => ({ id, s: cell(id, at, 'accuracy') }))
    .filter((b) => b.s);
  const ulm = ids
    .filter((id) => !isBaseline(id))
    .map((id) => ({ id, s: cell(id, at, 'accuracy') }))
    .filter((u) => u.s);
  if (baselines.length > 0 && ulm.length > 0) {
    const best = baselines.reduce((a, b) => (b.s.mean > a.s.mean ? b : a));
    for (const u of ulm) {
      const d = (u.s.mean - best.s.mean) * 100;
      out.push(
        `- **At ${at} labels/class: ${columnLabel(u.id)} minus the best baseline (${columnLabel(best.id)}, ${best.s.mean.toFixed(3)}) = ${d >= 0 ? '+' : ''}${d.toFixed(1)} accuracy points** (${u.s.n} and ${best.s.n} seeds).`,
      );
    }
  } else out.push(`- At ${at} labels/class: no ulmfit-vs-baseline comparison yet (not run).`);
  out.push('');
  return out.join('\n');
}

/** The generated block: how it was run, then one section per task. */
export function renderResults({ results, work, command, machine, taskOrder }) {
  const runs = results.filter((r) => r.kind === 'run');
  const lms = results.filter((r) => r.kind === 'lm');
  const dates = results.map((r) => r.date).sort();
  // The commands that made the results (a row from an older harness version has none: this invocation's).
  const commands = [...new Set(runs.map((r) => r.command ?? command))];
  const machines = [...new Set(runs.map((r) => r.machine ?? machine))];
  const commits = [...new Set(runs.map((r) => r.commit).filter(Boolean))];
  const lines = [
    START,
    '',
    `${commands.length > 1 ? 'Commands' : 'Command'} (after \`npm run build\`): ${commands.map((c) => `\`${c}\``).join('; ')}`,
    '',
    `Results: ${runs.length} runs in \`${work}/results.jsonl\`, gathered ${dates.length > 0 ? `${dates[0].slice(0, 16).replace('T', ' ')} – ${dates[dates.length - 1].slice(0, 16).replace('T', ' ')} UTC` : '(none yet)'}; ${machines.length > 1 ? 'machines' : 'machine'}: ${machines.join('; ')}` +
      `${commits.length > 0 ? `; ulmfit at ${commits.map((c) => `\`${c}\``).join(', ')}` : ''}.`,
    '',
  ];
  const tasks = [...new Set([...taskOrder, ...runs.map((r) => r.task)])].filter((t) =>
    runs.some((r) => r.task === t),
  );
  for (const task of tasks) {
    const mPath = join(work, 'tasks', task, 'manifest.json');
    const manifest = existsSync(mPath) ? JSON.parse(readFileSync(mPath, 'utf8')) : undefined;
    lines.push(
      taskSection(
        task,
        runs.filter((r) => r.task === task),
        lms.filter((r) => r.task === task),
        manifest,
      ),
    );
  }
  lines.push(END);
  return lines.join('\n');
}

/** Replaces the generated block of `doc` (or appends one; or writes a bare doc). */
export function writeDoc(path, block) {
  const old = existsSync(path) ? readFileSync(path, 'utf8') : '# Few-label benchmark\n\n';
  const a = old.indexOf(START);
  const b = old.indexOf(END);
  const text =
    a >= 0 && b > a ? old.slice(0, a) + block + old.slice(b + END.length) : `${old.trimEnd()}\n\n${block}\n`;
  writeAtomic(path, text);
}
