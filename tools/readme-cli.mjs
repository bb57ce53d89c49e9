#!/usr/bin/env node
// Rewrites README.md's CLI reference from the real `--help` of every command (between the
// `<!-- cli:NAME -->` and `<!-- /cli -->` markers). test/readme.test.ts fails when they drift.
//   npm run build && node tools/readme-cli.mjs
import { readFileSync, writeFileSync } from 'node:fs';
import { buildProgram, COMMANDS } from '../dist/cli/main.js';

const program = await buildProgram();
let readme = readFileSync('README.md', 'utf8');
for (const name of Object.keys(COMMANDS)) {
  const sub = program.commands.find((c) => c.name() === name);
  const block = `<!-- cli:${name} -->\n\`\`\`text\n${sub.helpInformation().trimEnd()}\n\`\`\`\n<!-- /cli -->`;
  const pattern = new RegExp(`<!-- cli:${name} -->[\\s\\S]*?<!-- /cli -->`);
  if (!pattern.test(readme)) {
    console.error(`README.md has no <!-- cli:${name} --> block`);
    process.exitCode = 1;
    continue;
  }
  readme = readme.replace(pattern, () => block);
}
writeFileSync('README.md', readme);
