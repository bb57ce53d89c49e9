#!/usr/bin/env node
// Writes docs/json-output.md: the JSON Schema of every JSON output (each command's --json,
// metrics.jsonl), generated from the zod schemas in src/cli/json-output.ts, which the commands
// type their output with. test/cli/json-output.test.ts fails when the doc differs from what this
// writes, and the CLI tests validate real outputs against the same schemas. After changing an
// output, rerun:
//
//   npm run build && node tools/gen-json-doc.mjs
import { writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The text of docs/json-output.md for `JSON_OUTPUTS` and `jsonSchemaOf` (src/cli/json-output.ts). */
export function jsonDoc(outputs, jsonSchemaOf) {
  const anchor = (title) =>
    title
      .toLowerCase()
      .replace(/[^a-z0-9 -]/g, '')
      .replace(/ /g, '-');
  const lines = [
    '# JSON output',
    '',
    'Generated from the schemas the commands type their output with (`JSON_OUTPUTS` in',
    'src/cli/json-output.ts) by tools/gen-json-doc.mjs; do not edit by hand. After changing an output,',
    'run `npm run build && node tools/gen-json-doc.mjs` (test/cli/json-output.test.ts fails while this',
    'file is out of date; the CLI tests validate real outputs against the same schemas).',
    '',
    'One convention everywhere, in `--json`, metrics.jsonl and the printed tables:',
    '',
    '- keys are snake_case (`train_loss`, `f1_macro`, `run_dir`);',
    "- stage and epoch count from 1, as the tables print them (the table's `stage 2 epoch 3` is",
    '  `{"stage": 2, "epoch": 3}`);',
    "- an epoch has its task's columns: language models `perplexity`, classifiers `f1_macro` (no",
    '  perplexity); a value that does not exist (no validation set, not finite) is `null`;',
    '- tables print perplexity with 2 decimals and losses, accuracy and F1 with 4, in every command;',
    '- numbers in JSON are not rounded (seconds to the millisecond);',
    '- errors are never JSON: one `error [CODE]: …` line on stderr and a non-zero exit.',
    '',
    'metrics.jsonl lines written by earlier versions (camelCase keys, stage and epoch from 0) are read',
    'back converted (`readEpochRecords`, src/tasks/epoch-record.ts).',
    '',
    ...outputs.map((o) => `- [${o.title}](#${anchor(o.title)}): ${o.where}`),
  ];
  for (const output of outputs) {
    lines.push(
      '',
      `## ${output.title}`,
      '',
      `${output.where}; ${output.form === 'lines' ? 'each line is one JSON object of this shape' : 'one JSON object of this shape'}.`,
      '',
      '```json',
      compactJson(jsonSchemaOf(output)),
      '```',
    );
  }
  return lines.join('\n') + '\n';
}

/** `value` as JSON on one line, with a space after each `:` and `,`. */
function oneLine(value) {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(oneLine).join(', ')}]`;
  return `{${Object.entries(value)
    .map(([k, v]) => `${JSON.stringify(k)}: ${oneLine(v)}`)
    .join(', ')}}`;
}

/** JSON indented by 2, with every object or array that fits in 100 columns on one line. */
export function compactJson(value, indent = '') {
  const flat = oneLine(value);
  if (value === null || typeof value !== 'object' || indent.length + flat.length <= 100) return flat;
  const inner = indent + '  ';
  const items = Array.isArray(value)
    ? value.map((v) => inner + compactJson(v, inner))
    : Object.entries(value).map(([k, v]) => `${inner}${JSON.stringify(k)}: ${compactJson(v, inner)}`);
  return `${Array.isArray(value) ? '[' : '{'}\n${items.join(',\n')}\n${indent}${Array.isArray(value) ? ']' : '}'}`;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { JSON_OUTPUTS, jsonSchemaOf } = await import('../dist/cli/json-output.js');
  const out = fileURLToPath(new URL('../docs/json-output.md', import.meta.url));
  writeFileSync(out, jsonDoc(JSON_OUTPUTS, jsonSchemaOf));
  console.log(`wrote docs/json-output.md: ${JSON_OUTPUTS.length} outputs`);
}
