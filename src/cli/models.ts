/**
 * `ulmfit models`: the model names every command accepts in place of a model directory
 * (`--pretrained en`, `--lm en`, `--model en`): the models shipped in the package, the folders
 * of $ULMFIT_MODELS_DIR and the models `ulmfit pull` fetches (src/io/model-names.ts), then the
 * datasets it fetches (hub/catalog.ts), with what each is, its size (on disk, or the download's
 * before it is pulled), where it is and whether it is installed or cached.
 */
import type { Command } from 'commander';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isUlmfitError } from '../errors.js';
import { MODEL_FILES, readModelMeta, resolveModelDir } from '../io/artifact.js';
import { knownModels, MODELS_DIR_ENV, type ModelName, type ModelNameSources } from '../io/model-names.js';
import { entryDir, hubHome, sourceUrl } from '../hub/cache.js';
import { findHubEntry, HUB_DATASETS } from '../hub/catalog.js';
import { readSafetensorsHeader } from '../io/safetensors.js';
import { snakeKeys } from './json-output.js';
import { addCommand } from './options.js';
import type { CommandFlags } from '../config/schema.js';
import { MODELS } from '../config/utility.js';

type Flags = CommandFlags<typeof MODELS>;

export interface ModelListing {
  name: string;
  installed: boolean;
  /** 'package' (shipped with ulmfit), 'env' (a folder of $ULMFIT_MODELS_DIR) or 'cache' (ulmfit pull) */
  source: ModelName['source'];
  /** where `ulmfit pull` fetches it from (pulled models and datasets) */
  url?: string;
  /** the download's size, where fastai publishes it (pulled models and datasets) */
  downloadBytes?: number;
  /** the directory the name stands for */
  dir: string;
  /** the model directory it resolves to (a run directory's model-best/…), when installed */
  modelDir?: string;
  description?: string;
  kind?: string;
  backwards?: boolean;
  emb?: number;
  hidden?: number;
  layers?: number;
  vocab?: number;
  /** the float weights' dtype(s) in weights.safetensors */
  weights?: string;
  /** bytes on disk of the model directory */
  bytes?: number;
  /** why an installed name is not a loadable model */
  error?: string;
}

/** Every known name with what it is (reads meta.json and the weights' header only). */
export function listModels(sources: ModelNameSources = {}): ModelListing[] {
  return knownModels(sources).map((entry) => {
    const listing: ModelListing = {
      name: entry.name,
      installed: entry.installed,
      source: entry.source,
      dir: entry.dir,
      ...(entry.description !== undefined ? { description: entry.description } : {}),
      ...(entry.url !== undefined ? { url: entry.url } : {}),
      ...(entry.source === 'cache' && findHubEntry(entry.name)?.bytes !== undefined
        ? { downloadBytes: findHubEntry(entry.name)!.bytes }
        : {}),
    };
    if (!entry.installed) return listing;
    try {
      const modelDir = resolveModelDir(entry.dir);
      const meta = readModelMeta(modelDir);
      const dtypes = new Set(
        readSafetensorsHeader(join(modelDir, MODEL_FILES.weights))
          .map((t) => t.dtype)
          .filter((d) => d.startsWith('float')),
      );
      return {
        ...listing,
        modelDir,
        ...(meta.description !== undefined ? { description: meta.description } : {}),
        kind: meta.kind,
        backwards: meta.backwards,
        emb: meta.arch.emb_sz,
        hidden: meta.arch.n_hid,
        layers: meta.arch.n_layers,
        vocab: meta.vocab.size,
        weights: [...dtypes].sort().join('+'),
        bytes: diskBytes(modelDir),
      };
    } catch (err) {
      if (!isUlmfitError(err)) throw err;
      return { ...listing, error: err.message };
    }
  });
}

/** fastai's text datasets `ulmfit pull` fetches, as listing rows (kind 'dataset'). */
export function listDatasets(env: NodeJS.ProcessEnv = process.env): ModelListing[] {
  const home = hubHome(env);
  return HUB_DATASETS.map((dataset) => {
    const dir = entryDir(home, dataset);
    const installed = existsSync(dir);
    return {
      name: dataset.name,
      installed,
      source: 'cache',
      dir,
      description: dataset.description,
      kind: 'dataset',
      url: sourceUrl(dataset, env),
      ...(dataset.bytes !== undefined ? { downloadBytes: dataset.bytes } : {}),
      ...(installed ? { bytes: diskBytes(dir) } : {}),
    };
  });
}

/** Bytes of the files under `dir` (sub-directories included). */
function diskBytes(dir: string): number {
  let total = 0;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const stat = statSync(path);
    total += stat.isDirectory() ? diskBytes(path) : stat.size;
  }
  return total;
}

function sizeText(bytes: number | undefined): string {
  if (bytes === undefined) return '-';
  if (bytes < 1e3) return `${bytes} B`;
  if (bytes < 1e6) return `${(bytes / 1e3).toFixed(1)} kB`;
  if (bytes < 1e9) return `${(bytes / 1e6).toFixed(1)} MB`;
  return `${(bytes / 1e9).toFixed(2)} GB`;
}

function whatText(m: ModelListing): string {
  if (m.error !== undefined) return `not a loadable model: ${m.error}`;
  if (m.kind === 'dataset') return `dataset: ${m.description ?? ''}`;
  if (m.kind === undefined) return m.description ?? '';
  const shape = `${m.kind}${m.backwards ? ' (backwards)' : ''}, emb ${m.emb}, hidden ${m.hidden}, ${m.layers} layers, vocab ${m.vocab}, ${m.weights}`;
  return m.description ? `${m.description}; ${shape}` : shape;
}

/** The plain-text listing: one row per name, fixed-width columns. */
export function modelsTable(models: readonly ModelListing[]): string {
  const status = (m: ModelListing): string => {
    const [yes, no] = m.source === 'cache' ? ['cached', 'not cached'] : ['installed', 'not installed'];
    return m.installed ? (m.error !== undefined ? 'damaged' : yes) : no;
  };
  // Before a pull, the size is the download's (as fastai publishes it).
  const size = (m: ModelListing): string =>
    m.bytes === undefined && m.downloadBytes !== undefined
      ? `${sizeText(m.downloadBytes)} download`
      : sizeText(m.bytes);
  const rows = models.map((m) => [m.name, status(m), size(m), m.dir, whatText(m)]);
  const header = ['name', 'status', 'size', 'where', 'what'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

export function register(program: Command): void {
  addCommand(program, MODELS)
    .addHelpText(
      'after',
      `\nA name stands for a model directory wherever one is accepted; an existing path of the same name wins.\n` +
        `$${MODELS_DIR_ENV}: directories (separated like PATH) whose sub-folders are names too.\n` +
        'A name that is not cached yet (wt103, imdb) is pulled on first use, or by ulmfit pull.\n\n' +
        'Example:\n  ulmfit models\n  ulmfit finetune-lm reviews/ --pretrained en --out runs/reviews-lm',
    )
    .action((flags: Flags) => {
      const models = [...listModels(), ...listDatasets()];
      if (flags.json) process.stdout.write(models.map((m) => JSON.stringify(snakeKeys(m)) + '\n').join(''));
      else process.stdout.write(modelsTable(models));
    });
}
