import { readFileSync } from 'node:fs';

/** The package version, read once from package.json (it is part of every cache key and artifact). */
export const PACKAGE_VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
