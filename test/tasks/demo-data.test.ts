import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { brownDocuments } from '../../src/data/brown.js';
import { isUlmfitError, type UlmfitError } from '../../src/errors.js';
import { splitBrownFiles, writeDemoData, type DemoDataPlan } from '../../src/tasks/demo-data.js';

const PLAN: DemoDataPlan = {
  genre: 'news',
  classes: ['religion', 'romance'],
  wordsPerDoc: 60,
  labeledPerClass: 5,
  validPerClass: 4,
  pretrainFiles: 30,
  genreTrainFiles: 4,
  genreValidFiles: 2,
};

const ids = (dir: string) =>
  readdirSync(dir)
    .map((name) => name.replace(/\.txt$/, ''))
    .sort();
const texts = (dir: string) =>
  readdirSync(dir)
    .sort()
    .map((name) => readFileSync(join(dir, name), 'utf8').trim());

describe('demo data', () => {
  it('holds out every 5th file of each genre', () => {
    const { train, heldOut } = splitBrownFiles();
    expect(train.length + heldOut.length).toBe(500);
    const news = heldOut.filter((f) => f.category.name === 'news').map((f) => f.id);
    expect(news.slice(0, 3)).toEqual(['ca05', 'ca10', 'ca15']);
    // religion has 17 files: 3 held out.
    expect(heldOut.filter((f) => f.category.name === 'religion')).toHaveLength(3);
  });

  it('trains on no held-out file and keeps the target genre out of stage 1', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ulmfit-demo-data-'));
    const data = writeDemoData(dir, PLAN, 1);
    const { heldOut } = splitBrownFiles();
    const held = new Set(heldOut.map((f) => f.id));
    const pretrain = ids(data.pretrainDir);
    expect(pretrain).toHaveLength(30);
    expect(pretrain.some((id) => held.has(id) || id.startsWith('ca'))).toBe(false);
    // Spread over the genres, not the first 30 files.
    expect(new Set(pretrain.map((id) => id[1])).size).toBeGreaterThanOrEqual(10);
    expect(ids(data.genreTrainDir).every((id) => id.startsWith('ca') && !held.has(id))).toBe(true);
    expect(ids(data.genreValidDir).every((id) => id.startsWith('ca') && held.has(id))).toBe(true);
    // A whole file is one line of prose: no tags, no line breaks inside.
    const first = readFileSync(join(data.pretrainDir, `${pretrain[0]}.txt`), 'utf8');
    expect(first.trimEnd()).not.toMatch(/\n|\/[a-z]+ /);

    // Labeled passages come from training files of their genre, validation passages from held-out ones.
    const { train } = splitBrownFiles();
    for (const genre of PLAN.classes) {
      const of = (files: typeof train) =>
        new Set(
          brownDocuments({ wordsPerDoc: 60, files: files.filter((f) => f.category.name === genre) }).map(
            (d) => d.text,
          ),
        );
      const labeled = texts(join(data.genresDir, 'train', genre));
      const valid = texts(join(data.genresDir, 'valid', genre));
      expect(labeled).toHaveLength(5);
      expect(valid).toHaveLength(4);
      const trainPassages = of(train);
      const heldPassages = of(heldOut);
      expect(labeled.every((t) => trainPassages.has(t))).toBe(true);
      expect(valid.every((t) => heldPassages.has(t))).toBe(true);
    }
    expect(data.counts).toMatchObject({
      pretrainFiles: 30,
      genreTrainFiles: 4,
      genreValidFiles: 2,
      labeled: { religion: 5, romance: 5 },
    });
  });

  it('is the same for the same seed, another sample for another seed', () => {
    const write = (seed: number) => {
      const data = writeDemoData(mkdtempSync(join(tmpdir(), 'ulmfit-demo-data-')), PLAN, seed);
      return texts(join(data.genresDir, 'train', 'religion'));
    };
    expect(write(7)).toEqual(write(7));
    expect(write(8)).not.toEqual(write(7));
  });

  it('refuses a genre Brown does not have, naming the genres it has', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ulmfit-demo-data-'));
    let caught: unknown;
    try {
      writeDemoData(dir, { ...PLAN, classes: ['religion', 'poetry'] }, 1);
    } catch (error) {
      caught = error;
    }
    expect(isUlmfitError(caught)).toBe(true);
    expect((caught as UlmfitError).message).toContain("'poetry' is not a Brown genre");
    expect((caught as UlmfitError).hint).toContain('romance');
  });
});
