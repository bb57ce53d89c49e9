/**
 * Models by name (design.md §3): `--pretrained en` instead of a path.
 *
 * Names come from two places:
 *   - the models shipped in the package (`<package root>/models/en`…; SHIPPED_MODELS below), and
 *   - every sub-folder of the directories in $ULMFIT_MODELS_DIR (separated like PATH), whose
 *     folder name is the model's name; such a folder shadows a shipped model of the same name;
 *   - the models `ulmfit pull` fetches (hub/catalog.ts: wt103 = wt103-fwd, wt103-bwd), kept in
 *     the cache (hub/cache.ts); a name is known before it is pulled (then not installed).
 * An existing path always wins over a name, so `./en` on disk is used as the path it is.
 *
 * This module only maps names to directories (no model files are read: artifact.ts, which
 * validates model directories, calls `resolveModelRef` from `resolveModelDir`); it never pulls:
 * the CLI pulls a name on first use (tasks/pull.ts) before resolving it here.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UlmfitError } from '../errors.js';
import { entryDir, hubHome, sourceUrl } from '../hub/cache.js';
import { HUB_MODELS, type HubModel } from '../hub/catalog.js';

/** The package root: this file is src/io/model-names.ts or dist/io/model-names.js. */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The environment variable naming extra model directories (their sub-folders are names). */
export const MODELS_DIR_ENV = 'ULMFIT_MODELS_DIR';

export interface ShippedModel {
  name: string;
  /** relative to the package root */
  path: string;
  /** what it is, shown while it is not installed (meta.json's description wins once it is) */
  description: string;
}

/** The models the package ships (published through package.json "files"). */
export const SHIPPED_MODELS: readonly ShippedModel[] = [
  {
    name: 'en',
    path: 'models/en',
    description: 'general English AWD-LSTM language model (forward, float16 weights)',
  },
  {
    name: 'en-bwd',
    path: 'models/en-bwd',
    description: "en's backwards twin: the same corpus and vocab, text read right to left (float16 weights)",
  },
  {
    name: 'brown-lm',
    path: 'fixtures/pretrained/brown-lm',
    description: "the demo's small AWD-LSTM language model trained on the Brown corpus",
  },
];

export interface ModelName {
  name: string;
  /** absolute directory the name stands for (present or not) */
  dir: string;
  /** 'package': shipped with ulmfit; 'env': a folder of $ULMFIT_MODELS_DIR; 'cache': pulled (ulmfit pull) */
  source: 'package' | 'env' | 'cache';
  /** whether `dir` exists */
  installed: boolean;
  /** the registry's description (shipped and pulled models) */
  description?: string;
  /** where a pulled model comes from */
  url?: string;
}

/** Where names come from; the defaults are the real ones (tests replace them). */
export interface ModelNameSources {
  env?: NodeJS.ProcessEnv;
  shipped?: readonly ShippedModel[];
  packageRoot?: string;
  /** the models `ulmfit pull` fetches (default: hub/catalog.ts's) */
  pulled?: readonly HubModel[];
}

/** Folders that are never names: hidden ones and the leftovers of interrupted writes. */
const NOT_A_NAME = /^\.|\.(tmp|old)-\d+$/;

/** The directories listed in $ULMFIT_MODELS_DIR, in order (empty entries skipped). */
function modelsDirs(env: NodeJS.ProcessEnv): string[] {
  const value = env[MODELS_DIR_ENV];
  if (!value) return [];
  return value
    .split(delimiter)
    .filter((d) => d !== '')
    .map((d) => resolve(d));
}

/**
 * Every known model name, sorted by name: $ULMFIT_MODELS_DIR folders first in precedence (the
 * first directory listing a name wins), then the shipped models.
 */
export function knownModels(sources: ModelNameSources = {}): ModelName[] {
  const byName = new Map<string, ModelName>();
  for (const root of modelsDirs(sources.env ?? process.env)) {
    let entries: string[];
    try {
      entries = readdirSync(root);
    } catch {
      continue; // a missing or unreadable directory adds no names
    }
    for (const name of entries) {
      if (NOT_A_NAME.test(name) || byName.has(name)) continue;
      const dir = join(root, name);
      let isDir = false;
      try {
        isDir = statSync(dir).isDirectory();
      } catch {
        // a dangling link: not a name
      }
      if (isDir) byName.set(name, { name, dir, source: 'env', installed: true });
    }
  }
  for (const shipped of sources.shipped ?? SHIPPED_MODELS) {
    if (byName.has(shipped.name)) continue;
    const dir = join(sources.packageRoot ?? PACKAGE_ROOT, shipped.path);
    byName.set(shipped.name, {
      name: shipped.name,
      dir,
      source: 'package',
      installed: existsSync(dir),
      description: shipped.description,
    });
  }
  const home = hubHome(sources.env ?? process.env);
  for (const model of sources.pulled ?? HUB_MODELS) {
    const dir = entryDir(home, model);
    const url = sourceUrl(model, sources.env ?? process.env);
    for (const name of [model.name, ...(model.aliases ?? [])]) {
      if (byName.has(name)) continue;
      const description = name === model.name ? model.description : `= ${model.name}: ${model.description}`;
      byName.set(name, { name, dir, source: 'cache', installed: existsSync(dir), description, url });
    }
  }
  return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Could `ref` be a name (no path separators, not `.`/`..`)? Anything else is only a path. */
export function looksLikeName(ref: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9._+-]*$/.test(ref);
}

/** Levenshtein distance (small strings only). */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(
        previous[j]! + 1,
        row[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = row;
  }
  return previous[b.length]!;
}

/** The known name `ref` was probably meant to be, if one is close (case, a typo or two). */
export function nearestName(ref: string, names: readonly string[]): string | undefined {
  const lower = ref.toLowerCase();
  let best: { name: string; distance: number } | undefined;
  for (const name of names) {
    const distance = editDistance(lower, name.toLowerCase());
    const allowed = Math.min(2, Math.max(1, Math.floor(name.length / 3)));
    if (distance <= allowed && (!best || distance < best.distance)) best = { name, distance };
  }
  return best?.name;
}

/**
 * The directory `ref` means: `ref` itself when it exists, else the directory of the model named
 * `ref`. Throws a one-line UlmfitError (E_INPUT_MISSING) when it is neither, naming the known
 * models (and the nearest one), or when a known name's model is not installed.
 */
export function resolveModelRef(ref: string, sources: ModelNameSources = {}): string {
  if (existsSync(ref)) return ref;
  const known = knownModels(sources);
  const named = looksLikeName(ref) ? known.find((m) => m.name === ref) : undefined;
  if (named) {
    if (named.installed) return named.dir;
    if (named.source === 'cache') {
      throw new UlmfitError(
        'E_INPUT_MISSING',
        `model '${named.name}' has not been pulled into ${named.dir}`,
        `run ulmfit pull ${named.name} (it downloads ${named.url ?? 'its archive'} once), or use a command of the CLI, which pulls it on first use`,
      );
    }
    throw new UlmfitError(
      'E_INPUT_MISSING',
      `model '${named.name}' is not installed at ${named.dir}`,
      `this copy of ulmfit does not include it: install a release that ships it, put a model directory named ${named.name} in a folder listed in $${MODELS_DIR_ENV}, or pass a model directory's path`,
    );
  }
  const names = known.map((m) => m.name);
  const list = names.length ? names.join(', ') : 'none';
  if (!looksLikeName(ref)) {
    throw new UlmfitError(
      'E_INPUT_MISSING',
      `no model or run directory at ${ref}`,
      `check the path, or pass a model name (known: ${list})`,
    );
  }
  const near = nearestName(ref, names);
  throw new UlmfitError(
    'E_INPUT_MISSING',
    `no model or run directory at ${ref}, and no model is named '${ref}'${near ? `: did you mean '${near}'?` : ''}`,
    `known model names: ${list} (ulmfit models lists them); or pass a model directory's path`,
  );
}
