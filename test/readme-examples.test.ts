import { chmodSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildProgram, COMMANDS } from '../src/cli/main.js';
import { runProcess, type ProcessResult } from './support/process.js';

/**
 * Every `ulmfit …` command the README and docs/usage.md show must work as written:
 * - all of them name a real command and only flags that command has (most run on the reader's
 *   own data, so they are checked, not run), and the README shows every command at least once;
 * - the commands in the "A tour" section are run for real, in a folder holding the output of
 *   `ulmfit demo --quick` as `ulmfit-demo/` and the repo's `fixtures/`, and where the README
 *   shows an output (`# → …` after the command or on the next line) it must be exactly that.
 */

const repo = resolve(new URL('..', import.meta.url).pathname);
const readme = readFileSync(join(repo, 'README.md'), 'utf8');
/** docs/usage.md: the commands in detail, with more examples. */
const usage = readFileSync(join(repo, 'docs', 'usage.md'), 'utf8');

/** The `sh` code blocks of a piece of Markdown, with line continuations joined. */
function shellBlocks(markdown: string): string[][] {
  return [...markdown.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) =>
    m[1]!
      .replace(/\\\n\s*/g, ' ')
      .split('\n')
      .filter((line) => line.trim() !== ''),
  );
}

/** A shell line split into words, quotes removed, up to an unquoted `#` comment. */
function shellWords(line: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === "'" || c === '"') {
      const end = line.indexOf(c, i + 1);
      if (end < 0) throw new Error(`unbalanced ${c} in README line: ${line}`);
      word = (word ?? '') + line.slice(i + 1, end);
      i = end;
    } else if (/\s/.test(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else if (c === '#' && word === undefined) {
      break;
    } else {
      word = (word ?? '') + c;
    }
  }
  if (word !== undefined) words.push(word);
  return words;
}

/** The argv of every `ulmfit` (or `npx ulmfit`) invocation in a shell line. */
function ulmfitInvocations(line: string): string[][] {
  const words = shellWords(line);
  const invocations: string[][] = [];
  let current: string[] | undefined;
  for (const word of words) {
    if (word === '|' || word === '&&' || word === ';' || word === '||') {
      current = undefined;
    } else if (word === 'ulmfit' && current === undefined) {
      current = [];
      invocations.push(current);
    } else if (current !== undefined) {
      current.push(word);
    }
  }
  return invocations;
}

/** The README section under a `## ` heading, up to the next one. */
function section(heading: string): string {
  const start = readme.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`README.md has no "## ${heading}" section`);
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
}

interface TourStep {
  command: string;
  expected?: string;
}

/** The tour's commands in order, each with the output the README promises, if any. */
function tourSteps(): TourStep[] {
  const steps: TourStep[] = [];
  for (const block of shellBlocks(section('A tour'))) {
    for (const line of block) {
      const arrow = /^#\s*→\s?(.*)$/.exec(line.trim());
      if (arrow) {
        const last = steps.at(-1);
        if (!last || last.expected !== undefined)
          throw new Error(`README tour: "${line}" follows no command`);
        last.expected = arrow[1]!;
        continue;
      }
      if (line.trim().startsWith('#')) continue;
      const inline = /\s#\s*→\s?(.*)$/.exec(line);
      steps.push({ command: inline ? line.slice(0, inline.index) : line, expected: inline?.[1] });
    }
  }
  return steps;
}

function bash(command: string, cwd: string, env: NodeJS.ProcessEnv): Promise<ProcessResult> {
  return runProcess('bash', ['-o', 'pipefail', '-c', command], { cwd, env });
}

describe('README commands', () => {
  it('name real commands and only the flags those commands have', async () => {
    const program = await buildProgram();
    const pages = { 'README.md': readme, 'docs/usage.md': usage };
    const used = new Set<string>();
    for (const [page, markdown] of Object.entries(pages)) {
      const invocations = shellBlocks(markdown).flat().flatMap(ulmfitInvocations);
      expect(invocations.length, `${page} shows too few ulmfit commands`).toBeGreaterThan(10);
      for (const args of invocations) {
        const [name, ...rest] = args;
        if (name === undefined || name.startsWith('-')) continue; // `ulmfit --help`
        expect(Object.keys(COMMANDS), `${page} runs an unknown command: ulmfit ${args.join(' ')}`).toContain(
          name,
        );
        if (page === 'README.md') used.add(name);
        const command = program.commands.find((c) => c.name() === name)!;
        const flags = new Set([
          '--help',
          ...command.options.flatMap((o) => [o.long, o.short].filter((f): f is string => f !== undefined)),
        ]);
        for (const arg of rest) {
          if (!arg.startsWith('-') || arg === '-' || /^-\d/.test(arg)) continue;
          const flag = arg.split('=')[0]!;
          expect(
            flags.has(flag),
            `${page}: ulmfit ${name} has no ${flag} (in: ulmfit ${args.join(' ')})`,
          ).toBe(true);
        }
      }
    }
    // The README shows every command at least once (its "## Commands" section has a line for each).
    const missing = Object.keys(COMMANDS).filter((name) => !used.has(name));
    expect(missing, 'README.md shows no example of these commands: add one under "## Commands"').toEqual([]);
  });

  describe('the tour, run as written', () => {
    const steps = tourSteps();
    let dir: string;
    let env: NodeJS.ProcessEnv;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'ulmfit-readme-tour-'));
      const bin = join(dir, '.bin');
      mkdirSync(bin);
      writeFileSync(
        join(bin, 'ulmfit'),
        `#!/bin/sh\nexec "${process.execPath}" "${join(repo, 'bin', 'ulmfit.js')}" "$@"\n`,
      );
      chmodSync(join(bin, 'ulmfit'), 0o755);
      symlinkSync(join(repo, 'fixtures'), join(dir, 'fixtures'));
      env = {
        ...process.env,
        PATH: `${bin}:${process.env.PATH ?? ''}`,
        ULMFIT_CACHE_DIR: join(dir, '.cache'),
      };
      const demo = await bash('ulmfit demo --quick --out ulmfit-demo --backend wasm', dir, env);
      if (demo.code !== 0) throw new Error(`ulmfit demo --quick failed: ${demo.stderr}`);
    });

    it('has commands, some with their output shown', () => {
      expect(steps.length).toBeGreaterThanOrEqual(6);
      expect(steps.filter((step) => step.expected !== undefined).length).toBeGreaterThanOrEqual(2);
    });

    it('runs every command with exit code 0 and prints the output the README shows', async () => {
      for (const step of steps) {
        const run = await bash(step.command, dir, env);
        expect(run.code, `README tour: \`${step.command}\` failed: ${run.stderr}`).toBe(0);
        if (step.expected !== undefined)
          expect(run.stdout.trim(), `README tour: output of \`${step.command}\``).toBe(step.expected.trim());
      }
    }, 300_000);

    it('runs the Library API example against the built package', async () => {
      const block = /```ts\n([\s\S]*?)```/.exec(section('Library API'));
      expect(block, 'README.md: the Library API section has no ts example').not.toBeNull();
      const code = block![1]!.replace(
        /from 'ulmfit'/g,
        `from '${pathToFileURL(join(repo, 'dist', 'index.js')).href}'`,
      );
      writeFileSync(join(dir, 'api-example.mjs'), code);
      const run = await bash(`"${process.execPath}" api-example.mjs`, dir, env);
      expect(run.code, run.stderr).toBe(0);
      const lines = run.stdout.trim().split('\n');
      expect(Number(lines[0])).toBeGreaterThan(0);
      expect(lines[1]).toMatch(/^The jury said.{10,}/);
    }, 120_000);
  });
});
