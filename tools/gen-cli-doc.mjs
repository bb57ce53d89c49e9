#!/usr/bin/env node
// Writes docs/cli.md, the CLI reference, from the program itself: `ulmfit --help` and the --help of
// every command `buildProgram()` (src/cli/main.ts) registers. Help is 100 columns wide whatever
// the terminal, so the text is the same everywhere. test/readme.test.ts fails when docs/cli.md
// differs from what this writes; after changing a command, rerun:
//
//   npm run build && node tools/gen-cli-doc.mjs
import { writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The text of docs/cli.md for a commander program (what `buildProgram()` returns). */
export function cliDoc(program) {
  const fence = (help) => ['```text', help.trimEnd(), '```'];
  const lines = [
    '# CLI reference',
    '',
    'Generated from the program itself (`buildProgram` in src/cli/main.ts) by tools/gen-cli-doc.mjs;',
    'do not edit by hand. After changing a command, run `npm run build && node tools/gen-cli-doc.mjs`',
    '(test/readme.test.ts fails while this file is out of date). What the commands read, write and',
    'do, with examples: [usage.md](usage.md).',
    '',
    ...program.commands.map(
      (sub) => `- [\`ulmfit ${sub.name()}\`](#ulmfit-${sub.name()}): ${sub.description().split('\n')[0]}`,
    ),
    '',
    '## ulmfit',
    '',
    ...fence(program.helpInformation()),
  ];
  for (const sub of program.commands) {
    lines.push('', `## ulmfit ${sub.name()}`, '', ...fence(sub.helpInformation()));
  }
  return lines.join('\n') + '\n';
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { buildProgram } = await import('../dist/cli/main.js');
  const out = fileURLToPath(new URL('../docs/cli.md', import.meta.url));
  const program = await buildProgram();
  writeFileSync(out, cliDoc(program));
  console.log(`wrote docs/cli.md: ulmfit and ${program.commands.length} commands`);
}
