/**
 * `ulmfit pull <name>` as a library function, and what makes a name work wherever a model or an
 * input is accepted: the first use of `wt103` or `imdb` pulls it.
 *
 * A model (wt103-fwd/bwd): fastai's .tgz is downloaded (hub/download.ts), unpacked (hub/archive.ts),
 * its one .pth and one itos .pkl imported once into an ulmfit model directory
 * (io/fastai-model-dir.ts, with fastai's tokenizer settings and dropouts: why this lives in
 * tasks/, which may import text/ and model/), and the archive removed. A dataset is unpacked and
 * prepared (hub/datasets.ts) in a temporary folder renamed into place. Everything runs under a
 * per-name lock (hub/lock.ts), so concurrent pulls of one name leave one intact copy.
 */
import { existsSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { UlmfitError } from '../errors.js';
import { extractTarGz, filesUnder } from '../hub/archive.js';
import { entryDir, downloadsDir, hubHome, lockPath, offlineFromEnv, sourceUrl } from '../hub/cache.js';
import {
  fileNameOf,
  findHubEntry,
  hubNames,
  type HubDataset,
  type HubEntry,
  type HubModel,
} from '../hub/catalog.js';
import { prepareDataset } from '../hub/datasets.js';
import { diskFullError, download, type DownloadProgress } from '../hub/download.js';
import { withLock } from '../hub/lock.js';
import { importFastaiModel } from '../io/fastai-model-dir.js';
import { knownModels, nearestName } from '../io/model-names.js';
import { defaultTokenizerSettings } from '../text/settings.js';

export interface PullOptions {
  /** never use the network (also ULMFIT_OFFLINE=1) */
  offline?: boolean;
  /** the environment read for ULMFIT_HOME, ULMFIT_MIRROR, ULMFIT_OFFLINE (default process.env) */
  env?: NodeJS.ProcessEnv;
  onProgress?: (progress: DownloadProgress & { name: string; url: string }) => void;
  /** one-line notes: what is fetched, retries, waiting for another process */
  onInfo?: (message: string) => void;
  /** download tuning (tests make them short) */
  retries?: number;
  retryDelayMs?: number;
  idleTimeoutMs?: number;
}

export interface PullResult {
  name: string;
  kind: 'model' | 'dataset';
  /** the model or dataset directory */
  dir: string;
  /** 'package': shipped, nothing to pull; 'cache': was already pulled; 'downloaded': fetched now */
  status: 'package' | 'cache' | 'downloaded';
  url?: string;
}

function sizeText(bytes: number): string {
  return bytes < 1e6 ? `${bytes} B` : `${(bytes / 1e6).toFixed(1)} MB`;
}

/** The manual route when the network is not allowed, per kind. */
function manualRoute(entry: HubEntry, url: string, dir: string): string {
  const file = fileNameOf(entry.url);
  if (entry.kind === 'model') {
    return `download ${url} yourself, tar xzf ${file}, then ulmfit import-fastai <its .pth> <its .pkl>${entry.backwards ? ' --backwards' : ''} --out ${dir}`;
  }
  return `download ${url} yourself and unpack it into ${dir} (or drop --offline / ULMFIT_OFFLINE)`;
}

function unknownName(name: string): UlmfitError {
  const names = [
    ...new Set([
      ...knownModels()
        .filter((m) => m.source === 'package')
        .map((m) => m.name),
      ...hubNames(),
    ]),
  ].sort();
  const near = nearestName(name, names);
  return new UlmfitError(
    'E_USAGE',
    `nothing is named '${name}'${near ? `: did you mean '${near}'?` : ''}`,
    `names: ${names.join(', ')} (ulmfit models lists them)`,
  );
}

/** Removes what an interrupted pull of `entry` left (called under its lock: nobody else writes). */
function removeLeftovers(home: string, entry: HubEntry): void {
  const target = entryDir(home, entry);
  const parents = [dirname(target), downloadsDir(home)];
  for (const parent of parents) {
    if (!existsSync(parent)) continue;
    for (const name of readdirSync(parent)) {
      if (name.startsWith(`${basename(target)}.tmp-`) || name.startsWith(`${entry.name}.x-`))
        rmSync(join(parent, name), { recursive: true, force: true });
    }
  }
}

/** The .pth and the .pkl of a model archive (fastai's `_get_pretrained_model` takes the first of each). */
function modelFiles(root: string, archive: string): { weights: string; itos: string } {
  const files = filesUnder(root);
  const weights = files.find((f) => f.endsWith('.pth'));
  const itos = files.find((f) => f.endsWith('.pkl'));
  if (!weights || !itos) {
    throw new UlmfitError(
      'E_DOWNLOAD',
      `${archive} holds no ${weights ? 'itos .pkl' : '.pth'} (found: ${files.join(', ') || 'nothing'})`,
      'the archive is not a fastai pretrained model: check the mirror (ULMFIT_MIRROR)',
    );
  }
  return { weights: join(root, weights), itos: join(root, itos) };
}

async function install(entry: HubEntry, archive: string, url: string, home: string): Promise<void> {
  const target = entryDir(home, entry);
  if (entry.kind === 'model') {
    const unpacked = join(downloadsDir(home), `${entry.name}.x-${process.pid}`);
    try {
      const files = modelFiles(await extractTarGz(archive, unpacked, url), archive);
      // Loaded here, not at the top: model/ loads TF.js, which a command that pulls nothing
      // (every command runs the name hook in cli/pull-names.ts) should not pay for.
      const { AWD_LSTM_LM_CONFIG } = await import('../model/awd-lstm.js');
      const { pad_token, hidden_p, input_p, embed_p, weight_p, output_p } = AWD_LSTM_LM_CONFIG;
      // writeModelDir (via importFastaiModel) writes to a temporary directory and renames it.
      importFastaiModel({
        weightsPath: files.weights,
        itosPath: files.itos,
        out: target,
        backwards: (entry as HubModel).backwards,
        tokenizer: { ...defaultTokenizerSettings() },
        archDefaults: { pad_token, hidden_p, input_p, embed_p, weight_p, output_p },
      });
    } finally {
      rmSync(unpacked, { recursive: true, force: true });
    }
    return;
  }
  const staging = `${target}.tmp-${process.pid}`;
  try {
    const root = await extractTarGz(archive, staging, url);
    await prepareDataset(root, (entry as HubDataset).layout);
    renameSync(root, target);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** Pulls `name` into the cache unless it is there (or ships with ulmfit); see the file comment. */
export async function pull(name: string, options: PullOptions = {}): Promise<PullResult> {
  const env = options.env ?? process.env;
  const shipped = knownModels({ env }).find((m) => m.name === name && m.source === 'package');
  const entry = findHubEntry(name);
  if (!entry) {
    if (shipped?.installed) return { name, kind: 'model', dir: shipped.dir, status: 'package' };
    throw unknownName(name);
  }
  const home = hubHome(env);
  const target = entryDir(home, entry);
  const url = sourceUrl(entry, env);
  const result = (status: PullResult['status']): PullResult => ({
    name: entry.name,
    kind: entry.kind,
    dir: target,
    status,
    url,
  });
  if (existsSync(target)) return result('cache');
  if (options.offline || offlineFromEnv(env)) {
    throw new UlmfitError(
      'E_OFFLINE',
      `${entry.name} is not in the cache (${target}) and the network is off (--offline or ULMFIT_OFFLINE): it comes from ${url}`,
      manualRoute(entry, url, target),
    );
  }
  try {
    return await withLock(
      lockPath(home, entry),
      async () => {
        if (existsSync(target)) return result('cache'); // another process finished it while we waited
        removeLeftovers(home, entry);
        const archive = join(downloadsDir(home), fileNameOf(entry.url));
        options.onInfo?.(
          `pulling ${entry.name} from ${url}${entry.bytes !== undefined ? ` (${sizeText(entry.bytes)})` : ''}`,
        );
        await download({
          url,
          dest: archive,
          ...(entry.bytes !== undefined ? { bytes: entry.bytes } : {}),
          ...(entry.md5First1MiB !== undefined ? { md5First1MiB: entry.md5First1MiB } : {}),
          ...(options.retries !== undefined ? { retries: options.retries } : {}),
          ...(options.retryDelayMs !== undefined ? { retryDelayMs: options.retryDelayMs } : {}),
          ...(options.idleTimeoutMs !== undefined ? { idleTimeoutMs: options.idleTimeoutMs } : {}),
          onProgress: (progress) => options.onProgress?.({ ...progress, name: entry.name, url }),
          onRetry: (why) => options.onInfo?.(`${entry.name}: ${why}`),
        });
        try {
          await install(entry, archive, url, home);
        } finally {
          rmSync(archive, { force: true }); // unpacked (or damaged): the archive is not needed again
        }
        return result('downloaded');
      },
      { onWait: (holder) => options.onInfo?.(`waiting for ${holder}, which is pulling ${entry.name}`) },
    );
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC' || code === 'EDQUOT') throw diskFullError(home, entry.bytes);
    throw err;
  }
}

/** The inputs a dataset gives a command (absolute paths), after pulling it when needed. */
export function datasetInputs(entry: HubDataset, dir: string, view: 'lm' | 'heldOut'): string[] {
  return entry.views[view].map((rel) => (rel === '.' ? dir : join(dir, rel)));
}
