/**
 * One writer per directory, and swaps that can always be recovered.
 *
 * `lockDir(dir)` takes `<dir>.lock` (a file beside the directory, so replacing or clearing the
 * directory never removes it) holding the writer's pid, host and command. A second writer fails
 * at once with E_LOCKED naming the holder. A lock whose pid is dead on this host is stale (a
 * killed process) and is taken over; a lock from another host cannot be checked and is reported.
 *
 * `recoverSwaps(dir)` runs under the lock, before a writer reads or replaces anything in `dir`.
 * writeDirAtomic (artifact.ts) replaces `X` by renaming `X` to `X.old-<pid>` and `X.tmp-<pid>` to
 * `X`; a kill between the two renames leaves `X.old-<pid>` and no `X`. Recovery puts the old
 * directory back (the newer one in `X.tmp-<pid>` belongs to an epoch whose metrics line was never
 * written, so the run redoes it) and removes every other leftover temporary.
 *
 * `crashPoint(name)` kills the process when ULMFIT_CRASH_AT names that point: the
 * fault-injection tests (test/faults/) use it to stop a write between its renames.
 */
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { UlmfitError } from '../errors.js';

/** `X.tmp-<pid>` and `X.old-<pid>`: what atomic writes leave when interrupted. */
const LEFTOVER = /^(.*)\.(tmp|old)-(\d+)$/;

/** What a lock file holds. */
interface LockInfo {
  pid: number;
  host: string;
  command: string;
  since: string;
}

/** A held lock; `release` is idempotent and also runs at process exit. */
export interface DirLock {
  path: string;
  release(): void;
}

/** True when a process with this pid exists on this host. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readLock(path: string): LockInfo | undefined {
  try {
    const value = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockInfo> | null;
    if (value && typeof value.pid === 'number' && typeof value.host === 'string') {
      return {
        pid: value.pid,
        host: value.host,
        command: String(value.command ?? '?'),
        since: String(value.since ?? '?'),
      };
    }
  } catch {
    // unreadable or half-written (a writer killed between open and write): treated as stale below
  }
  return undefined;
}

/** Held locks, released at exit so a normal or error exit never leaves one behind. */
const held = new Set<string>();
let exitHookInstalled = false;

function releaseAllAtExit(): void {
  for (const path of held) rmSync(path, { force: true });
  held.clear();
}

/**
 * Takes the write lock of `dir` (a run, corpus or cache directory), creating its parent if
 * needed. `what` says what the directory is, for the message.
 */
export function lockDir(dir: string, what = 'directory'): DirLock {
  const path = `${dir.replace(/[/\\]+$/, '')}.lock`;
  mkdirSync(dirname(path), { recursive: true });
  const info: LockInfo = {
    pid: process.pid,
    host: hostname(),
    command: process.argv.slice(2, 4).join(' '),
    since: new Date().toISOString(),
  };
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      try {
        writeSync(fd, JSON.stringify(info) + '\n');
      } finally {
        closeSync(fd);
      }
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 3) throw err;
      const holder = readLock(path);
      if (holder && holder.pid === process.pid && holder.host === info.host) {
        throw new UlmfitError(
          'E_LOCKED',
          `the ${what} ${dir} is already being written by this process`,
          'a library caller must finish one run before starting another on the same directory',
        );
      }
      if (holder && (holder.host !== info.host || isAlive(holder.pid))) {
        throw new UlmfitError(
          'E_LOCKED',
          `the ${what} ${dir} is being written by another ulmfit process (pid ${holder.pid} on ${holder.host}, ${holder.command}, since ${holder.since})`,
          holder.host === info.host
            ? 'wait for it to finish or stop it, or choose another output directory'
            : `if no ulmfit process on ${holder.host} uses it, delete ${path}`,
        );
      }
      // Stale (its process is gone) or unreadable: move it aside atomically, so of two processes
      // taking over the same stale lock only one succeeds, then try again.
      const aside = `${path}.stale-${process.pid}`;
      try {
        renameSync(path, aside);
        rmSync(aside, { force: true });
      } catch {
        // another process took it over first; the next attempt sees its lock
      }
    }
  }
  held.add(path);
  if (!exitHookInstalled) {
    process.on('exit', releaseAllAtExit);
    exitHookInstalled = true;
  }
  return {
    path,
    release(): void {
      if (!held.delete(path)) return;
      rmSync(path, { force: true });
    },
  };
}

/**
 * Whether `dir/name` exists, or was put aside by a swap a kill interrupted (`name.old-<pid>`,
 * which `recoverSwaps` restores): what the next run under the lock will find there.
 */
export function existsAfterRecovery(dir: string, name: string): boolean {
  if (existsSync(join(dir, name))) return true;
  if (!existsSync(dir)) return false;
  return readdirSync(dir).some((entry) => {
    const match = LEFTOVER.exec(entry);
    return match !== null && match[1] === name && match[2] === 'old';
  });
}

/**
 * Repairs interrupted swaps inside `dir` and removes stale temporaries (see the file comment).
 * Call it holding `dir`'s lock: then no live writer owns anything in it. Returns what it did,
 * one line per repair, for the caller to report.
 */
export function recoverSwaps(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const done: string[] = [];
  const names = readdirSync(dir);
  for (const name of names) {
    const match = LEFTOVER.exec(name);
    if (!match || match[2] !== 'old') continue;
    const target = join(dir, match[1]!);
    if (existsSync(target)) {
      rmSync(join(dir, name), { recursive: true, force: true });
    } else {
      renameSync(join(dir, name), target);
      done.push(`restored ${target} from ${name} (a write was interrupted between its two renames)`);
    }
  }
  for (const name of names) {
    const match = LEFTOVER.exec(name);
    if (match && match[2] === 'tmp') rmSync(join(dir, name), { recursive: true, force: true });
  }
  return done;
}

/**
 * Removes `<dir>.tmp-<pid>` / `<dir>.old-<pid>` siblings of `dir` left by dead processes (a
 * corpus or model directory written beside others), restoring `dir` from `.old` when it is gone.
 */
export function recoverSiblings(dir: string): void {
  const parent = dirname(dir);
  const base = basename(dir);
  if (!existsSync(parent)) return;
  for (const name of readdirSync(parent)) {
    const match = LEFTOVER.exec(name);
    const pid = Number(match?.[3]);
    if (!match || match[1] !== base || (pid !== process.pid && isAlive(pid))) continue;
    if (match[2] === 'old' && !existsSync(dir)) renameSync(join(parent, name), dir);
    else rmSync(join(parent, name), { recursive: true, force: true });
  }
}

/**
 * Test hook: `ULMFIT_CRASH_AT=<name>` kills this process (SIGKILL, like a power cut or kill -9)
 * the first time the point `<name>` is passed, e.g. `checkpoint:old-moved-aside`.
 */
export function crashPoint(name: string): void {
  if (process.env.ULMFIT_CRASH_AT === name) process.kill(process.pid, 'SIGKILL');
}
