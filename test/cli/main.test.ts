import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/main.js';
import { runUlmfit } from '../support/process.js';

/** The one line a usage error prints, and its exit code. */
async function usage(args: string[]): Promise<string> {
  const run = await runUlmfit(args);
  expect(run.code).toBe(2);
  expect(run.stdout).toBe('');
  const lines = run.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^error \[E_USAGE\]: /);
  return lines[0]!;
}

describe('commander usage errors', () => {
  it('are one E_USAGE line with exit 2, keeping the "did you mean" and naming the help', async () => {
    expect(await usage(['tokenize', 'x.txt', '--frob'])).toBe(
      "error [E_USAGE]: unknown option '--frob' (run ulmfit tokenize --help for usage)",
    );
    expect(await usage(['clasify'])).toBe(
      "error [E_USAGE]: unknown command 'clasify' (did you mean classify?; run ulmfit --help for usage)",
    );
    expect(await usage(['tokenize', 'x.txt', '--min-fre', '2'])).toMatch(
      /unknown option '--min-fre' \(did you mean --min-freq\?; run ulmfit tokenize --help for usage\)$/,
    );
    expect(await usage(['classify', 'x.txt'])).toMatch(/required option '--model <dir>' not specified/);
    expect(await usage(['models', 'extra'])).toMatch(/too many arguments for 'models'/);
    expect(await usage(['classify', '--model', 'm', 'x', '--bs', '0'])).toMatch(
      /'--bs <n>' argument '0' is invalid/,
    );
  });

  it('help still prints and exits 0', async () => {
    const run = await runUlmfit(['classify', '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Usage: ulmfit classify/);
  });
});

describe('--help defaults', () => {
  it('shows numbers and plain words unquoted, as typed', async () => {
    const program = await buildProgram();
    const help = program.commands.map((c) => c.helpInformation()).join('\n');
    expect(help).not.toMatch(/\(default: "[\w.:-]+"\)/);
    expect(help).toMatch(/\(default: auto\)/);
  });
});
