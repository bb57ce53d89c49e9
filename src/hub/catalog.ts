/**
 * What `ulmfit pull <name>` can fetch: fastai's pretrained WikiText-103 language models and
 * fastai's text datasets, with the URLs of fastai's `URLs` class (fastai/data/external.py) and the
 * checks fastai publishes for them (fastai/data/checks.txt, download_checks.py): the archive's size
 * in bytes and the MD5 of its first MiB (fastdownload's `path_stats`: fastai hashes only the first
 * 2^20 bytes, so that is what these sums are). fastai publishes no check for the model zoo's
 * wt103-fwd/bwd archives; those are checked by their tar structure and by the import.
 *
 * Nothing here reads the disk or the network: the cache (cache.ts), the download (download.ts)
 * and the preparation of a dataset (datasets.ts) take an entry from this table.
 */

const S3_NLP = 'https://s3.amazonaws.com/fast-ai-nlp/';
const S3_SAMPLE = 'https://s3.amazonaws.com/fast-ai-sample/';
const S3_MODEL = 'https://s3.amazonaws.com/fast-ai-modelzoo/';

/** The inputs a dataset gives a command, relative to its directory in the cache. */
export interface DatasetViews {
  /** language-model text (tokenize, pretrain, finetune-lm, lr-find): every text, labels unused */
  lm: readonly string[];
  /** labeled data (train-classifier, baseline): training inputs, validation inputs, labels left out */
  classifier?: { inputs: readonly string[]; valid?: readonly string[]; ignoreLabels?: readonly string[] };
  /** held-out text (evaluate, classify) */
  heldOut: readonly string[];
}

/**
 * How a dataset's files become inputs ulmfit reads (datasets.ts does it once, at pull time):
 *  - `folders`: already ulmfit's folder layout (aclImdb: train/pos/*.txt…): nothing to do;
 *  - `csv-with-split`: a CSV with a header and an is_valid column (imdb_sample's texts.csv),
 *    split into train.jsonl and valid.jsonl;
 *  - `csv-no-header`: the Zhang et al. (2015) CSVs (train.csv, test.csv, no header row, a 1-based
 *    class index first), rewritten as train.jsonl and test.jsonl with {"text", "label"}; the
 *    label is the class name from classes.txt (or `labelNames`), the text fields joined by a
 *    blank line;
 *  - `text-csv`: WikiText's train.csv/test.csv (no header, one article a row) → train.jsonl, test.jsonl.
 */
export type DatasetLayout =
  | { kind: 'folders' }
  | { kind: 'csv-with-split'; file: string; textColumn: string; labelColumn: string; validColumn: string }
  | { kind: 'csv-no-header'; files: readonly string[]; textFields: number; labelNames?: readonly string[] }
  | { kind: 'text-csv'; files: readonly string[] };

interface EntryBase {
  name: string;
  /** other names for it (`wt103` for `wt103-fwd`) */
  aliases?: readonly string[];
  /** what it is, for `ulmfit models` */
  description: string;
  /** where fastai fetches it */
  url: string;
  /** fastai's published archive size in bytes, when it publishes one */
  bytes?: number;
  /** fastai's published MD5 of the archive's first MiB, when it publishes one */
  md5First1MiB?: string;
}

export interface HubModel extends EntryBase {
  kind: 'model';
  /** fastai backwards=True */
  backwards: boolean;
}

export interface HubDataset extends EntryBase {
  kind: 'dataset';
  layout: DatasetLayout;
  views: DatasetViews;
}

export type HubEntry = HubModel | HubDataset;

/** The file name a URL ends with (what a mirror serves it as). */
export function fileNameOf(url: string): string {
  return new URL(url).pathname.split('/').pop()!;
}

export const HUB_MODELS: readonly HubModel[] = [
  {
    kind: 'model',
    name: 'wt103-fwd',
    aliases: ['wt103'],
    description:
      "fastai's AWD-LSTM pretrained on WikiText-103 (forward; emb 400, hidden 1152, 3 layers, vocab 60k)",
    url: `${S3_MODEL}wt103-fwd.tgz`,
    backwards: false,
  },
  {
    kind: 'model',
    name: 'wt103-bwd',
    description:
      "fastai's AWD-LSTM pretrained on WikiText-103, reading backwards (for a backwards classifier)",
    url: `${S3_MODEL}wt103-bwd.tgz`,
    backwards: true,
  },
];

/** The class-index CSVs of Zhang et al. (2015): train.csv and test.csv, validated on test.csv. */
function zhangViews(): DatasetViews {
  return {
    lm: ['train.jsonl', 'test.jsonl'],
    classifier: { inputs: ['train.jsonl'], valid: ['test.jsonl'] },
    heldOut: ['test.jsonl'],
  };
}

function zhang(
  name: string,
  file: string,
  bytes: number,
  md5First1MiB: string,
  description: string,
  textFields: number,
  labelNames?: readonly string[],
): HubDataset {
  return {
    kind: 'dataset',
    name,
    description,
    url: `${S3_NLP}${file}`,
    bytes,
    md5First1MiB,
    layout: {
      kind: 'csv-no-header',
      files: ['train.csv', 'test.csv'],
      textFields,
      ...(labelNames ? { labelNames } : {}),
    },
    views: zhangViews(),
  };
}

const POLARITY = ['negative', 'positive'];

export const HUB_DATASETS: readonly HubDataset[] = [
  {
    kind: 'dataset',
    name: 'imdb',
    description:
      'IMDb movie reviews (Maas et al. 2011): 25k train + 25k test labeled pos/neg, 50k unlabeled (unsup/)',
    url: `${S3_NLP}imdb.tgz`,
    bytes: 144440600,
    md5First1MiB: '90f9b1c4ff43a90d67553c9240dc0249',
    layout: { kind: 'folders' },
    // fastbook: the LM reads train/, test/ and unsup/; the classifier validates on test/ (labeled-data.ts).
    views: { lm: ['.'], classifier: { inputs: ['.'], ignoreLabels: ['unsup'] }, heldOut: ['test'] },
  },
  {
    kind: 'dataset',
    name: 'imdb_sample',
    description: 'a 1,000-review sample of IMDb (texts.csv: label, text, is_valid)',
    url: `${S3_SAMPLE}imdb_sample.tgz`,
    bytes: 571827,
    md5First1MiB: '0842e61a9867caa2e6fbdb14fa703d61',
    layout: {
      kind: 'csv-with-split',
      file: 'texts.csv',
      textColumn: 'text',
      labelColumn: 'label',
      validColumn: 'is_valid',
    },
    views: {
      lm: ['texts.csv'],
      classifier: { inputs: ['train.jsonl'], valid: ['valid.jsonl'] },
      heldOut: ['valid.jsonl'],
    },
  },
  {
    kind: 'dataset',
    name: 'wikitext-2',
    description: 'WikiText-2 (Merity et al. 2016), 2M tokens of Wikipedia articles (train.csv, test.csv)',
    url: `${S3_NLP}wikitext-2.tgz`,
    bytes: 4070055,
    md5First1MiB: '2a82d47a7b85c8b6a8e068dc4c1d37e7',
    layout: { kind: 'text-csv', files: ['train.csv', 'test.csv'] },
    views: { lm: ['train.jsonl'], heldOut: ['test.jsonl'] },
  },
  {
    kind: 'dataset',
    name: 'wikitext-103',
    description:
      'WikiText-103 (Merity et al. 2016), 103M tokens of Wikipedia articles: what wt103 was pretrained on',
    url: `${S3_NLP}wikitext-103.tgz`,
    bytes: 190200704,
    md5First1MiB: '2dd8cf8693b3d27e9c8f0a7df054b2c7',
    layout: { kind: 'text-csv', files: ['train.csv', 'test.csv'] },
    views: { lm: ['train.jsonl'], heldOut: ['test.jsonl'] },
  },
  zhang(
    'ag_news',
    'ag_news_csv.tgz',
    11784419,
    'b86f328f4dbd072486591cb7a5644dcd',
    'AG News topics, 4 classes, 120k train / 7.6k test (title, description)',
    2,
  ),
  zhang(
    'dbpedia',
    'dbpedia_csv.tgz',
    68341743,
    '239c7837b9e79db34486f3de6a00e38e',
    'DBpedia ontology classes, 14 classes, 560k train / 70k test (title, content)',
    2,
  ),
  zhang(
    'yelp_review_polarity',
    'yelp_review_polarity_csv.tgz',
    166373201,
    '48c8451c1ad30472334d856b5d294807',
    'Yelp reviews, negative/positive, 560k train / 38k test',
    1,
    POLARITY,
  ),
  zhang(
    'yelp_review_full',
    'yelp_review_full_csv.tgz',
    196146755,
    '1efd84215ea3e30d90e4c33764b889db',
    'Yelp reviews, 1-5 stars, 650k train / 50k test',
    1,
  ),
  // fastai's download_checks.py says 71606272 bytes, checks.txt 643695014 (same MD5): the
  // smaller number cannot hold 3M reviews, so the older file's size is the one kept.
  zhang(
    'amazon_review_full',
    'amazon_review_full_csv.tgz',
    643695014,
    '4a1196cf0adaea22f4bc3f592cddde90',
    'Amazon reviews, 1-5 stars, 3M train / 650k test (title, review)',
    2,
  ),
  zhang(
    'amazon_review_polarity',
    'amazon_review_polarity_csv.tgz',
    688339454,
    '676f7e5208ec343c8274b4bb085bc938',
    'Amazon reviews, negative/positive, 3.6M train / 400k test (title, review)',
    2,
    POLARITY,
  ),
  zhang(
    'yahoo_answers',
    'yahoo_answers_csv.tgz',
    319476345,
    '0632a0d236ef3a529c0fa4429b339f68',
    'Yahoo! Answers topics, 10 classes, 1.4M train / 60k test (title, question, answer)',
    3,
  ),
  zhang(
    'sogou_news',
    'sogou_news_csv.tgz',
    384269937,
    '950f1366d33be52f5b944f8a8b680902',
    'Sogou news (pinyin), 5 classes, 450k train / 60k test (title, content)',
    2,
  ),
];

export const HUB_ENTRIES: readonly HubEntry[] = [...HUB_MODELS, ...HUB_DATASETS];

/** The entry a name (or an alias) stands for. */
export function findHubEntry(name: string): HubEntry | undefined {
  return HUB_ENTRIES.find((entry) => entry.name === name || (entry.aliases ?? []).includes(name));
}

/** Every name `pull` takes, aliases included, sorted. */
export function hubNames(): string[] {
  return HUB_ENTRIES.flatMap((entry) => [entry.name, ...(entry.aliases ?? [])]).sort();
}
