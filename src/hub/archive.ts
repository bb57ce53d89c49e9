/**
 * Unpacks a downloaded .tgz with the `tar` package, strictly: a truncated gzip stream, a bad tar
 * header or checksum, or an archive with no files is an error (E_DOWNLOAD naming the archive),
 * never a partly extracted folder that looks complete. Paths are kept inside the destination
 * (tar strips `..` and leading `/`), and links are not followed out of it.
 */
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as tar from 'tar';
import { UlmfitError } from '../errors.js';

/** Names an archive may hold beside its one folder that are not data (macOS resource forks). */
const JUNK = /^(\._.*|\.DS_Store|__MACOSX)$/;

/**
 * Extracts `archive` (tar + gzip) into `dest` (created) and returns the folder the data is in:
 * the archive's single top folder (fastai's archives hold one, named like the archive), else
 * `dest` itself. Throws E_DOWNLOAD for a damaged archive; the caller removes `dest`.
 */
export async function extractTarGz(archive: string, dest: string, url: string): Promise<string> {
  mkdirSync(dest, { recursive: true });
  let entries = 0;
  try {
    await tar.x({
      file: archive,
      cwd: dest,
      strict: true,
      onReadEntry: () => {
        entries++;
      },
    });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC') throw err; // named by the caller, which knows the cache directory
    throw new UlmfitError(
      'E_DOWNLOAD',
      `${archive} (from ${url}) is not a readable .tgz archive: ${(err as Error).message}`,
      'the download is damaged or the server sent something else; run the pull again (the damaged file was removed)',
    );
  }
  if (entries === 0) {
    throw new UlmfitError(
      'E_DOWNLOAD',
      `${archive} (from ${url}) is an empty archive`,
      'check the URL or the mirror (ULMFIT_MIRROR)',
    );
  }
  const top = readdirSync(dest).filter((name) => !JUNK.test(name));
  if (top.length === 1 && statSync(join(dest, top[0]!)).isDirectory()) return join(dest, top[0]!);
  return dest;
}

/** Every file under `dir` (relative paths, `/`-separated), sorted. */
export function filesUnder(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (JUNK.test(name)) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...filesUnder(path, `${prefix}${name}/`));
    else out.push(`${prefix}${name}`);
  }
  return out;
}
