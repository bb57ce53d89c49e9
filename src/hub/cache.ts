/**
 * Where pulled things live, and the environment that steers pulling:
 *
 *   $ULMFIT_HOME, else $XDG_CACHE_HOME/ulmfit, else ~/.cache/ulmfit
 *     models/<name>/          an ulmfit model directory imported from fastai's archive
 *     datasets/<name>/        a dataset, extracted (and its CSVs rewritten as JSONL: datasets.ts)
 *     downloads/<file>.part   an archive being downloaded (kept for a resume after an interruption)
 *     locks/<name>.lock       held by the process pulling <name> (lock.ts)
 *
 * `ULMFIT_MIRROR=<url>` fetches every file from `<url>/<file name>` instead of fastai's URL;
 * `ULMFIT_OFFLINE=1` (or --offline) never touches the network.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileNameOf, type HubEntry } from './catalog.js';

export const HOME_ENV = 'ULMFIT_HOME';
export const MIRROR_ENV = 'ULMFIT_MIRROR';
export const OFFLINE_ENV = 'ULMFIT_OFFLINE';

/** The cache root (absolute). */
export function hubHome(env: NodeJS.ProcessEnv = process.env): string {
  if (env[HOME_ENV]) return resolve(env[HOME_ENV]);
  if (env['XDG_CACHE_HOME']) return resolve(env['XDG_CACHE_HOME'], 'ulmfit');
  return join(homedir(), '.cache', 'ulmfit');
}

/** True when the environment forbids the network (ULMFIT_OFFLINE set to anything but 0/false/empty). */
export function offlineFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  const value = (env[OFFLINE_ENV] ?? '').trim().toLowerCase();
  return value !== '' && value !== '0' && value !== 'false' && value !== 'no';
}

/** The directory an entry is kept in once pulled (present or not). */
export function entryDir(home: string, entry: HubEntry): string {
  return join(home, entry.kind === 'model' ? 'models' : 'datasets', entry.name);
}

export function downloadsDir(home: string): string {
  return join(home, 'downloads');
}

export function lockPath(home: string, entry: HubEntry): string {
  return join(home, 'locks', `${entry.name}.lock`);
}

/** The URL an entry is fetched from: fastai's, or `<mirror>/<file name>` under ULMFIT_MIRROR. */
export function sourceUrl(entry: HubEntry, env: NodeJS.ProcessEnv = process.env): string {
  const mirror = env[MIRROR_ENV];
  if (!mirror) return entry.url;
  return `${mirror.replace(/\/+$/, '')}/${fileNameOf(entry.url)}`;
}
