/**
 * One puller per name across processes: `withLock(path, fn)` creates `path` exclusively (O_EXCL)
 * with the holder's pid and host, runs `fn`, and removes it. A second process waits, polling,
 * until the file is gone, then takes it and (in pull) finds the finished copy in place.
 *
 * The holder touches the file every few seconds, so a lock is stale when its holder is dead on
 * this host or when it has not been touched for `staleMs` (a holder on another host, a pid
 * reused after a crash). A stale lock is moved aside by rename, which only one waiter wins.
 */
import {
  closeSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';

interface Holder {
  pid: number;
  host: string;
  since: string;
}

export interface LockOptions {
  /** how often a waiter looks again (ms) */
  pollMs?: number;
  /** a lock untouched for this long is stale (ms); the holder touches it every staleMs/4 */
  staleMs?: number;
  /** called once when the lock is held by someone else and this process starts waiting */
  onWait?: (holder: string) => void;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // exists, not ours
  }
}

function readHolder(path: string): { text: string; holder?: Holder; mtimeMs: number } | undefined {
  try {
    const mtimeMs = statSync(path).mtimeMs;
    const text = readFileSync(path, 'utf8');
    try {
      return { text, holder: JSON.parse(text) as Holder, mtimeMs };
    } catch {
      return { text, mtimeMs }; // being written this instant, or garbage: judged by its age
    }
  } catch {
    return undefined; // gone already
  }
}

function tryCreate(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    writeSync(fd, JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() }));
  } finally {
    closeSync(fd);
  }
  return true;
}

/** Moves a stale lock aside; if what was moved turns out to be a fresh lock, puts it back. */
function breakStale(path: string, staleText: string): void {
  const aside = `${path}.stale-${process.pid}`;
  try {
    renameSync(path, aside);
  } catch {
    return; // another waiter broke it first
  }
  let movedText = '';
  try {
    movedText = readFileSync(aside, 'utf8');
  } catch {
    // unreadable: removed below
  }
  if (movedText !== staleText) {
    // Someone took the lock between our read and our rename: give it back (link fails if a
    // third process has created a new one meanwhile, which then holds it).
    try {
      linkSync(aside, path);
    } catch {
      // the lock was retaken: ours is simply dropped
    }
  }
  rmSync(aside, { force: true });
}

/** Runs `fn` while holding the lock file `path`. */
export async function withLock<T>(path: string, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  const pollMs = options.pollMs ?? 250;
  const staleMs = options.staleMs ?? 60_000;
  mkdirSync(dirname(path), { recursive: true });
  let waiting = false;
  while (!tryCreate(path)) {
    const seen = readHolder(path);
    if (!seen) continue;
    const { holder } = seen;
    const dead =
      holder !== undefined && holder.host === hostname() && holder.pid !== process.pid && !alive(holder.pid);
    if (dead || Date.now() - seen.mtimeMs > staleMs) {
      breakStale(path, seen.text);
      continue;
    }
    if (!waiting) {
      waiting = true;
      options.onWait?.(
        holder ? `process ${holder.pid} on ${holder.host} since ${holder.since}` : 'another process',
      );
    }
    await new Promise((done) => setTimeout(done, pollMs));
  }
  const release = (): void => rmSync(path, { force: true });
  process.once('exit', release);
  const heartbeat = setInterval(
    () => {
      const now = new Date();
      try {
        utimesSync(path, now, now);
      } catch {
        // the lock was broken as stale: the work goes on; the rename into place stays atomic
      }
    },
    Math.max(50, staleMs / 4),
  );
  heartbeat.unref();
  try {
    return await fn();
  } finally {
    clearInterval(heartbeat);
    process.removeListener('exit', release);
    release();
  }
}
