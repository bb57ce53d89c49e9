/**
 * Atomic writes, the one implementation every writer of ulmfit uses (model, run, checkpoint and
 * corpus directories; config.json, training.svg, exported .pth files): the new contents go to
 * `<path>.tmp-<pid>` and are renamed into place, so a reader (or a process killed mid-write)
 * sees the old contents or the new, never half of them.
 *
 * A directory that exists is replaced by two renames (`X` → `X.old-<pid>`, `X.tmp-<pid>` → `X`);
 * a kill between them leaves `X.old-<pid>` and no `X`, which dir-lock.ts recoverSwaps puts back
 * under the directory's lock. `crashPoint` (dir-lock.ts) can stop the process between the steps,
 * for the fault-injection tests.
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { crashPoint } from './dir-lock.js';

/**
 * Bytes made while the file is written: `emit` hands each chunk to `write`, which is done with it
 * when it returns (a chunk may be a view of memory that changes after). A directory's files are
 * written in order, so a stream may use what the files before it computed (meta.json the weights'
 * hash: artifact.ts writeModelDir).
 */
export interface ChunkStream {
  emit(write: (bytes: Uint8Array) => void): void;
}

/** File contents: text, bytes, byte chunks written one after the other (no concatenation), or a stream. */
export type FileData = string | Uint8Array | readonly Uint8Array[] | ChunkStream;

/** Text made when the file is written (after the files before it in a directory). */
export function textWhenWritten(make: () => string): ChunkStream {
  return { emit: (write) => write(Buffer.from(make(), 'utf8')) };
}

/** Writes a file and flushes it to disk before returning. */
export function writeFileDurable(path: string, data: FileData): void {
  const fd = openSync(path, 'w');
  try {
    const write = (bytes: Uint8Array): void => {
      let written = 0;
      while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
    };
    if (typeof data === 'string') write(Buffer.from(data, 'utf8'));
    else if (data instanceof Uint8Array) write(data);
    else if ('emit' in data) data.emit(write);
    else for (const bytes of data) write(bytes);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Flushes a directory entry (renames) where the platform allows it. */
function fsyncDir(path: string): void {
  try {
    const fd = openSync(path, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Some platforms (Windows) cannot open directories; the rename is still atomic there.
  }
}

/** Writes a file to `<path>.tmp-<pid>`, flushed, and renames it over `path`. */
export function writeFileAtomic(path: string, data: FileData): void {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    writeFileDurable(tmp, data);
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  fsyncDir(dirname(path));
}

/** Writes JSON (2-space indented, with a final newline) atomically. */
export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n');
}

/** Test hook: called between the steps of an atomic directory write (a throw simulates a crash). */
export type WriteStage = 'files-written' | 'old-moved-aside';

export interface AtomicWriteOptions {
  onStage?: (stage: WriteStage) => void;
}

/**
 * A directory being written: files go into `path` (a fresh `<dir>.tmp-<pid>`), then `commit`
 * puts it in place of `dir`, or `abort` removes it. For writers that fill a directory over time
 * (text/corpus.ts streams a corpus into it); `writeDirAtomic` is the one-call form.
 */
export class StagedDir {
  readonly path: string;

  constructor(readonly dir: string) {
    mkdirSync(dirname(dir), { recursive: true });
    this.path = `${dir}.tmp-${process.pid}`;
    rmSync(this.path, { recursive: true, force: true }); // a leftover of this same process id
    mkdirSync(this.path);
  }

  /**
   * Replaces `dir` by the staged directory (two renames when `dir` exists). If a step fails, the
   * staged directory is removed and an existing `dir` is left (or put back) as it was.
   */
  commit(options: AtomicWriteOptions = {}): void {
    const { dir } = this;
    const old = `${dir}.old-${process.pid}`;
    let movedAside = false;
    try {
      fsyncDir(this.path);
      options.onStage?.('files-written');
      crashPoint(`${basename(dir)}:files-written`);
      if (existsSync(dir)) {
        rmSync(old, { recursive: true, force: true });
        renameSync(dir, old);
        movedAside = true;
        options.onStage?.('old-moved-aside');
        crashPoint(`${basename(dir)}:old-moved-aside`);
      }
      renameSync(this.path, dir);
      crashPoint(`${basename(dir)}:renamed`);
      fsyncDir(dirname(dir));
    } catch (err) {
      this.abort();
      if (movedAside && !existsSync(dir)) renameSync(old, dir);
      throw err;
    }
    if (movedAside) rmSync(old, { recursive: true, force: true });
  }

  /** Removes the staged directory (after a failure). */
  abort(): void {
    rmSync(this.path, { recursive: true, force: true });
  }
}

/**
 * Writes `files` (in the given order: put the file that marks the directory complete last) into
 * a staged directory, each flushed, and puts it in place of `dir`.
 */
export function writeDirAtomic(
  dir: string,
  files: readonly { name: string; data: FileData }[],
  options: AtomicWriteOptions = {},
): void {
  const staged = new StagedDir(dir);
  try {
    for (const file of files) writeFileDurable(join(staged.path, file.name), file.data);
  } catch (err) {
    staged.abort();
    throw err;
  }
  staged.commit(options);
}
