/**
 * Downloads one file for real, with Node's built-in fetch:
 *   - streamed to `<dest>.part`, never held in memory; the final name appears only by a rename
 *     after every check passed, so `dest` is always a whole, verified file;
 *   - resumed with an HTTP Range request after a dropped connection, a timeout or a restart
 *     (the .part of an interrupted run is picked up); a server that ignores Range restarts it;
 *   - a connection idle for `idleTimeoutMs` (headers or body) is dropped and retried;
 *   - bounded retries with doubling delays for network errors and HTTP 408/429/5xx; any other
 *     HTTP error (404…) fails at once;
 *   - the size and the MD5 of the first MiB checked where fastai publishes them (catalog.ts);
 *     a mismatch removes the file;
 *   - a full disk is named (E_DISK_FULL), checked before starting when the size is known.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, renameSync, rmSync, statSync, statfsSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { UlmfitError } from '../errors.js';

export interface DownloadProgress {
  /** bytes of the file on disk so far (resumed bytes included) */
  received: number;
  /** the whole file's size, when the server or the catalog says it */
  total?: number;
  /** bytes that were already on disk when this transfer started */
  resumedFrom: number;
}

export interface DownloadOptions {
  url: string;
  /** the finished file; `<dest>.part` while downloading */
  dest: string;
  /** expected size in bytes */
  bytes?: number;
  /** expected MD5 (hex) of the first 2^20 bytes, fastai's check */
  md5First1MiB?: string;
  /** retries after the first attempt (default 5) */
  retries?: number;
  /** the first retry's delay, doubled each time up to 30 s (default 1000 ms) */
  retryDelayMs?: number;
  /** give up on a connection that sends nothing for this long (default 30 s) */
  idleTimeoutMs?: number;
  onProgress?: (progress: DownloadProgress) => void;
  /** told why a retry happens (for a log line) */
  onRetry?: (reason: string) => void;
}

/** A failure worth another attempt (network, timeout, 5xx); anything else is thrown as is. */
class Retryable extends Error {}

const MIB = 2 ** 20;

/** MD5 (hex) of the first MiB of `path`: what fastai's checks hold. */
export async function md5OfFirstMiB(path: string): Promise<string> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(MIB);
    let filled = 0;
    while (filled < MIB) {
      const { bytesRead } = await handle.read(buffer, filled, MIB - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return createHash('md5').update(buffer.subarray(0, filled)).digest('hex');
  } finally {
    await handle.close();
  }
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

/** The E_DISK_FULL error for `dir`, with what is needed where that is known. */
export function diskFullError(dir: string, needBytes?: number): UlmfitError {
  return new UlmfitError(
    'E_DISK_FULL',
    `no space left on the device holding ${dir}${needBytes !== undefined ? ` (${megabytes(needBytes)} needed)` : ''}`,
    'free some space, or point ULMFIT_HOME at a disk with room',
  );
}

function isDiskFull(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

/** The error's own words and its cause's (fetch wraps the socket error in `cause`). */
function reason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : '';
  return `${message}${cause}`;
}

function checkFreeSpace(dir: string, needBytes: number): void {
  let free: number;
  try {
    const stats = statfsSync(dir);
    free = stats.bavail * stats.bsize;
  } catch {
    return; // no statfs here: the write itself will say
  }
  if (free < needBytes) {
    throw new UlmfitError(
      'E_DISK_FULL',
      `${dir} has ${megabytes(free)} free but the download needs ${megabytes(needBytes)}`,
      'free some space, or point ULMFIT_HOME at a disk with room',
    );
  }
}

/** Downloads `options.url` to `options.dest` (see the file comment). */
export async function download(options: DownloadOptions): Promise<void> {
  const part = `${options.dest}.part`;
  mkdirSync(dirname(options.dest), { recursive: true });
  if (options.bytes !== undefined) {
    if (sizeOf(part) > options.bytes) rmSync(part, { force: true }); // not a prefix of this file
    checkFreeSpace(dirname(options.dest), options.bytes - sizeOf(part));
  }
  const retries = options.retries ?? 5;
  let delay = options.retryDelayMs ?? 1000;
  for (let attempt = 0; ; attempt++) {
    try {
      await transfer(options, part);
      break;
    } catch (err) {
      if (isDiskFull(err)) throw diskFullError(dirname(options.dest), options.bytes);
      if (!(err instanceof Retryable)) {
        rmSync(part, { force: true });
        throw err;
      }
      if (attempt >= retries) {
        throw new UlmfitError(
          'E_DOWNLOAD',
          `downloading ${options.url} failed ${attempt + 1} times: ${err.message}`,
          `check the network and run the command again: it resumes from the ${megabytes(sizeOf(part))} kept in ${part}`,
        );
      }
      options.onRetry?.(`${err.message}; retrying in ${(delay / 1000).toFixed(1)} s`);
      await new Promise((done) => setTimeout(done, delay));
      delay = Math.min(30_000, delay * 2);
    }
  }
  await verify(options, part);
  renameSync(part, options.dest);
}

/** One HTTP request: appends to `part` from its current size; throws Retryable when worth it. */
async function transfer(options: DownloadOptions, part: string): Promise<void> {
  const { url } = options;
  let start = sizeOf(part);
  if (options.bytes !== undefined && start === options.bytes) return; // complete: only checks remain
  const idleMs = options.idleTimeoutMs ?? 30_000;
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    clearTimeout(timer);
    timer = setTimeout(
      () => controller.abort(new Retryable(`no data from ${url} for ${idleMs / 1000} s`)),
      idleMs,
    );
  };
  arm();
  try {
    let response: Response;
    try {
      response = await fetch(url, {
        headers: start > 0 ? { Range: `bytes=${start}-` } : {},
        signal: controller.signal,
        redirect: 'follow',
      });
    } catch (err) {
      if (controller.signal.aborted) throw controller.signal.reason as Error;
      throw new Retryable(`cannot reach ${url}: ${reason(err)}`);
    }
    let total: number | undefined;
    if (response.status === 206) {
      const range = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(response.headers.get('content-range') ?? '');
      if (!range || Number(range[1]) !== start) {
        await response.body?.cancel();
        rmSync(part, { force: true });
        throw new Retryable(
          `${url} answered a different range than asked (${response.headers.get('content-range') ?? 'none'}); starting over`,
        );
      }
      if (range[2] !== '*') total = Number(range[2]);
    } else if (response.status === 200) {
      start = 0; // the server ignored Range (or none was sent): the body is the whole file
      const length = response.headers.get('content-length');
      if (length !== null) total = Number(length);
    } else if (response.status === 416 && start > 0) {
      await response.body?.cancel();
      rmSync(part, { force: true });
      throw new Retryable(`${url} refused to resume from byte ${start}; starting over`);
    } else {
      await response.body?.cancel();
      const what = `${url} answered HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`;
      if (response.status === 408 || response.status === 429 || response.status >= 500)
        throw new Retryable(what);
      throw new UlmfitError(
        'E_DOWNLOAD',
        what,
        response.status === 404
          ? 'the file is not there: check ULMFIT_MIRROR, or the URL in docs/models-and-datasets.md'
          : 'check the URL, the mirror (ULMFIT_MIRROR) or the proxy',
      );
    }
    if (options.bytes !== undefined && total !== undefined && total !== options.bytes) {
      await response.body?.cancel();
      throw new UlmfitError(
        'E_DOWNLOAD',
        `${url} serves ${total} bytes but fastai publishes ${options.bytes} for it`,
        'the file on the server is not the one ulmfit knows: check the mirror (ULMFIT_MIRROR)',
      );
    }
    if (!response.body) throw new Retryable(`${url} sent no body`);
    const handle = await open(part, start > 0 ? 'a' : 'w');
    let received = start;
    try {
      options.onProgress?.({ received, ...(total !== undefined ? { total } : {}), resumedFrom: start });
      // A web ReadableStream is async-iterable in Node; the cast names the chunk type fetch gives.
      for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
        arm();
        await handle.write(chunk);
        received += chunk.length;
        options.onProgress?.({ received, ...(total !== undefined ? { total } : {}), resumedFrom: start });
      }
    } catch (err) {
      if (isDiskFull(err)) throw err;
      if (controller.signal.aborted) throw controller.signal.reason as Error;
      throw new Retryable(`the connection to ${url} broke after ${received} bytes: ${reason(err)}`);
    } finally {
      await handle.close();
    }
    if (total !== undefined && received < total)
      throw new Retryable(`${url} ended after ${received} of ${total} bytes`);
  } finally {
    clearTimeout(timer);
  }
}

/** The published size and first-MiB MD5; a mismatch removes the file. */
async function verify(options: DownloadOptions, part: string): Promise<void> {
  const size = sizeOf(part);
  const fail = (what: string): never => {
    rmSync(part, { force: true });
    throw new UlmfitError(
      'E_DOWNLOAD',
      `${options.url}: ${what}; the file was removed`,
      'run the pull again; if it persists, the server or the mirror (ULMFIT_MIRROR) serves another file',
    );
  };
  if (options.bytes !== undefined && size !== options.bytes)
    fail(`got ${size} bytes, fastai publishes ${options.bytes}`);
  if (options.md5First1MiB !== undefined) {
    const md5 = await md5OfFirstMiB(part);
    if (md5 !== options.md5First1MiB)
      fail(`the MD5 of its first MiB is ${md5}, fastai publishes ${options.md5First1MiB}`);
  }
}
