import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram, COMMANDS } from '../src/cli/main.js';

const repo = resolve(new URL('..', import.meta.url).pathname);
const read = (path: string): string => readFileSync(join(repo, path), 'utf8');
const readme = read('README.md');

/** The README section under a `## ` heading, up to the next one. */
function section(heading: string): string {
  const start = readme.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`README.md has no "## ${heading}" section`);
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
}

/** Files git tracks or would track (untracked, not ignored), relative to the repo; else every file under it. */
function repoFiles(): string[] {
  try {
    return execFileSync('git', ['ls-files', '-co', '--exclude-standard'], {
      cwd: repo,
      encoding: 'utf8',
      maxBuffer: 64 << 20,
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .split('\n')
      .filter(Boolean);
  } catch {
    const skip = new Set(['.git', 'node_modules', 'dist', 'build']);
    const walk = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
        skip.has(e.name)
          ? []
          : e.isDirectory()
            ? walk(join(dir, e.name))
            : [relative(repo, join(dir, e.name))],
      );
    return walk(repo);
  }
}

/** The anchor GitHub gives a Markdown heading. */
const slug = (heading: string): string =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');

describe('docs/cli.md', () => {
  it('is what tools/gen-cli-doc.mjs writes for the current commands (rerun: npm run build && node tools/gen-cli-doc.mjs)', async () => {
    const generator = (await import(pathToFileURL(join(repo, 'tools', 'gen-cli-doc.mjs')).href)) as {
      cliDoc(program: Command): string;
    };
    const program = await buildProgram();
    const doc = read('docs/cli.md');
    for (const name of Object.keys(COMMANDS))
      expect(doc, `docs/cli.md lacks ulmfit ${name}`).toContain(`\n## ulmfit ${name}\n`);
    expect(doc, 'docs/cli.md is out of date: run npm run build && node tools/gen-cli-doc.mjs').toBe(
      generator.cliDoc(program),
    );
  });
});

describe('README.md', () => {
  it('fits in 250 lines', () => {
    expect(readme.trimEnd().split('\n').length).toBeLessThanOrEqual(250);
  });

  it('shows the test command CI runs', () => {
    expect(section('Tests')).toContain('\n```sh\nnpm test\n```\n');
    expect(read('.ci/run')).toContain('npm test');
  });

  it('maps every top-level folder and every src/ folder', () => {
    const layout = section('Layout');
    const dirs = new Set<string>();
    for (const file of repoFiles()) {
      const parts = file.split('/');
      if (parts.length > 1) dirs.add(`${parts[0]}/`);
      if (parts[0] === 'src' && parts.length > 2) dirs.add(`src/${parts[1]}/`);
    }
    expect(dirs.has('src/cli/')).toBe(true);
    for (const dir of dirs)
      expect(layout, `README.md's Layout does not list ${dir}`).toMatch(
        new RegExp(`(^|[\\s\`])${dir.replace(/\./g, '\\.')}`, 'm'),
      );
  });
});

describe('README.md and docs/', () => {
  const pages = [
    'README.md',
    ...readdirSync(join(repo, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .map((f) => `docs/${f}`),
  ];

  it('link only to files (and headings) that exist', () => {
    for (const page of pages) {
      const text = read(page).replace(/^```[\s\S]*?^```$/gm, '');
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(target!)) continue; // http(s), mailto
        const [path, anchor] = target!.split('#') as [string, string | undefined];
        const file = path === '' ? join(repo, page) : resolve(dirname(join(repo, page)), path);
        expect(existsSync(file), `${page} links to ${target}, which does not exist`).toBe(true);
        if (anchor && file.endsWith('.md')) {
          const headings = [...readFileSync(file, 'utf8').matchAll(/^#+ (.*)$/gm)].map((m) => slug(m[1]!));
          expect(headings, `${page} links to ${target}: no such heading`).toContain(anchor);
        }
      }
    }
  });

  it('and the comments in src/ cite only what is in the repo', () => {
    const dangling = /fastai-spec|spec §|perf-notes|\.\.\/shared\//;
    const files = [...pages, ...repoFiles().filter((f) => f.startsWith('src/') && f.endsWith('.ts'))];
    for (const file of files) {
      if (!existsSync(join(repo, file))) continue; // deleted in the working tree
      const lines = read(file).split('\n');
      lines.forEach((line, i) =>
        expect(line, `${file}:${i + 1} cites something not in the repo`).not.toMatch(dangling),
      );
    }
  });
});
