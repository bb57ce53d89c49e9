// Single-core throughput of Tokenizer.tokenize (fastai rules + spaCy-compatible split) on the
// Brown corpus. Run after `npm run build`:  node bench/tokenizer-core.mjs [seconds]
// Prints tokens/s of the word tokenizer (the run-by-run FastWordTokenizer), then of the rule
// pipeline it is tested against and of that pipeline's parts, after one warm-up pass (a fresh
// tokenizer also reports its cold first pass, when its run cache is empty).
import { createRuleWordTokenizer, createTokenizer } from '../dist/text/tokenizer.js';
import { defaultTokenizerSettings } from '../dist/text/settings.js';
import { applyPreRules } from '../dist/text/rules.js';
import { SpacyEnglishSplitter } from '../dist/text/word.js';
import { loadBrownDocs } from './brown-text.mjs';

const minSeconds = Number(process.argv[2] ?? 3);
const docs = loadBrownDocs();
const chars = docs.reduce((sum, doc) => sum + doc.length, 0);

const format = (n) => Math.round(n).toLocaleString('en-US').padStart(11);

// Reports tokens per second of wall time and of this thread's CPU time (process.cpuUsage
// counts user+system time of the whole process; the work here is single-threaded, so on a busy
// machine CPU time is the better estimate of what one free core does).
function timePasses(label, pass) {
  let tokens = 0;
  let passes = 0;
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  do {
    tokens += pass();
    passes++;
  } while (performance.now() - start < minSeconds * 1000);
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  console.log(
    `${label.padEnd(26)} ${format(tokens / seconds)} tokens/s wall ${format(tokens / cpuSeconds)} tokens/s cpu  (${passes} passes, ${((seconds / passes) * 1000).toFixed(0)} ms/pass)`,
  );
  return tokens / passes;
}

const tokenizer = await createTokenizer(defaultTokenizerSettings());
let count = 0;
const coldStart = performance.now();
const coldCpu = process.cpuUsage();
for (const doc of docs) count += tokenizer.tokenize(doc).length;
const coldSeconds = (performance.now() - coldStart) / 1000;
const coldCpuUsage = process.cpuUsage(coldCpu);
console.log(
  `Brown: ${docs.length} docs, ${chars.toLocaleString('en-US')} chars, ${count.toLocaleString('en-US')} tokens with rules`,
);
console.log(
  `${'cold first pass'.padEnd(26)} ${format(count / coldSeconds)} tokens/s wall ${format(count / ((coldCpuUsage.user + coldCpuUsage.system) / 1e6))} tokens/s cpu`,
);

timePasses('tokenize (rules + split)', () => {
  let n = 0;
  for (const doc of docs) n += tokenizer.tokenize(doc).length;
  return n;
});
const reference = createRuleWordTokenizer(defaultTokenizerSettings());
for (const doc of docs) reference.tokenize(doc); // warm its cache
timePasses('rule pipeline (reference)', () => {
  let n = 0;
  for (const doc of docs) n += reference.tokenize(doc).length;
  return n;
});
const ruled = docs.map((doc) => applyPreRules(doc));
timePasses('  its pre-rules only', () => {
  for (const doc of docs) applyPreRules(doc);
  return count;
});
const splitter = new SpacyEnglishSplitter();
for (const doc of ruled) splitter.split(doc); // warm its cache
timePasses('  its split only', () => {
  let n = 0;
  for (const doc of ruled) n += splitter.split(doc).length;
  return n;
});
