import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildProgram, COMMANDS } from '../src/cli/main.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

describe('README', () => {
  it('holds the current --help of every command (regenerate with node tools/readme-cli.mjs)', async () => {
    const program = await buildProgram();
    for (const name of Object.keys(COMMANDS)) {
      const match = new RegExp(`<!-- cli:${name} -->\\n\`\`\`text\\n([\\s\\S]*?)\\n\`\`\`\\n<!-- /cli -->`).exec(readme);
      expect(match, `README.md lacks the --help block of ${name}`).not.toBeNull();
      const help = program.commands.find((c) => c.name() === name)!.helpInformation().trimEnd();
      expect(match![1], `README.md's ulmfit ${name} --help is out of date`).toBe(help);
    }
  });

  it('shows the test command CI runs', () => {
    expect(readme).toContain('npm test');
    expect(readFileSync(new URL('../.ci/run', import.meta.url), 'utf8')).toContain('npm test');
  });
});
