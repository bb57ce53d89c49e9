/**
 * The layers of src/ (docs/design.md §1), checked by dependency-cruiser: `npm run lint:deps`, the
 * first step of `npm test`. Imports point down only, type-only imports included; a layer may import
 * any layer below it, not only the next one. Each rule's name says which layer rule was broken.
 *
 *   top          cli/ (the commands), index.ts (the library API), api/ (Classifier, LanguageModel:
 *                the high-level API over tasks/ and infer/), serve/ (`ulmfit serve`, an HTTP server
 *                over api/), bench/ (benchmarks: may import anything, nothing imports them). Only
 *                cli/ imports cli/; nothing imports index.ts; api/ does not import serve/.
 *   tasks        tasks/: the ULMFiT stages, the glue that picks the model, data, recipe and outputs
 *   train-infer  train/ | infer/ | baseline/ (NB-SVM): peers, none imports another
 *   model        model/
 *   text-data-io text/ | data/ | io/: text/ reads its inputs through data/sources.ts (nothing else of
 *                data/) and resolves model names through io/; data/ and io/ import neither each
 *                other nor text/
 *   hub          hub/: downloading and caching what `ulmfit pull` fetches (catalog, cache paths,
 *                download, lock, archive, dataset preparation); io/ reads its catalog and cache
 *                paths to resolve pulled model names; importing a pulled model (io/ + text/ +
 *                model/) is done in tasks/pull.ts
 *   base         src/*.ts but index.ts (backend, errors, random, version, metrics), compute/, and
 *                config/ (the settings schema: every option's flag, help, default and range,
 *                which the CLI, tasks/ and data/ all read); they import only each other
 *
 * train/ sees a model only through the TrainableModel contract (model/trainable.ts), except the
 * data-parallel language-model trainer (train/data-parallel.ts and its worker entry
 * train/dp-worker.ts): a worker thread cannot be handed a model, it builds its own replica of the
 * AWD-LSTM, so that trainer knows the LanguageModel class. It stays in train/: it is the learner's
 * step spread over threads (lock-step with dp-replica.ts), not a choice of model, data or recipe,
 * which is what tasks/ decides.
 */
const TOP = ['^src/cli/', '^src/bench/', '^src/index[.]ts$', '^src/api/', '^src/serve/'];
const TASKS = ['^src/tasks/'];
const TRAIN_INFER = ['^src/train/', '^src/infer/', '^src/baseline/'];
const MODEL = ['^src/model/'];
const TEXT_DATA_IO = ['^src/text/', '^src/data/', '^src/io/'];
const HUB = ['^src/hub/'];
const BASE = ['^src/(?!index[.]ts$)[^/]+[.]ts$', '^src/compute/', '^src/config/'];

/** A lower layer never imports a higher one. */
function notUp(layer, above, below) {
  return {
    name: `layer-${layer}-imports-only-${below.join('-')}`,
    severity: 'error',
    comment: `${layer} may import only ${below.join(', ')} (the layers below it), not a higher layer (docs/design.md §1)`,
    from: { path: LAYERS[layer] },
    to: { path: above.flatMap((name) => LAYERS[name]) },
  };
}

/** Folders of one layer that do not import each other. */
function peers(folders) {
  const path = (folder) => `^src/${folder}/`;
  return folders.map((folder) => ({
    name: `layer-${folder}-imports-no-peer`,
    severity: 'error',
    comment: `${folders.join('/, ')}/ are peers in one layer: none imports another (docs/design.md §1)`,
    from: { path: path(folder) },
    to: { path: folders.filter((other) => other !== folder).map(path) },
  }));
}

const LAYERS = {
  top: TOP,
  tasks: TASKS,
  'train-infer': TRAIN_INFER,
  model: MODEL,
  'text-data-io': TEXT_DATA_IO,
  hub: HUB,
  base: BASE,
};

module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment:
        'no import cycles anywhere in src/ (type-only imports included): move the shared piece into its own module',
      from: { path: '^src/' },
      to: { circular: true },
    },
    notUp('base', ['top', 'tasks', 'train-infer', 'model', 'text-data-io', 'hub'], ['base']),
    notUp('hub', ['top', 'tasks', 'train-infer', 'model', 'text-data-io'], ['base']),
    notUp('text-data-io', ['top', 'tasks', 'train-infer', 'model'], ['text-data-io', 'hub', 'base']),
    notUp('model', ['top', 'tasks', 'train-infer'], ['text-data-io', 'hub', 'base']),
    notUp('train-infer', ['top', 'tasks'], ['model', 'text-data-io', 'hub', 'base']),
    notUp('tasks', ['top'], ['train-infer', 'model', 'text-data-io', 'hub', 'base']),
    ...peers(['train', 'infer', 'baseline']),
    ...peers(['data', 'io']),
    {
      name: 'layer-data-io-import-no-text',
      severity: 'error',
      comment: 'data/ and io/ sit below text/ in their layer: they never import text/ (docs/design.md §1)',
      from: { path: ['^src/data/', '^src/io/'] },
      to: { path: '^src/text/' },
    },
    {
      name: 'layer-text-reads-data-only-through-sources',
      severity: 'error',
      comment:
        'text/ sits above data/ only for reading inputs: it may import data/sources.ts (the one reader of ' +
        'folders, CSV, JSONL, text), nothing else of data/ (docs/design.md §1)',
      from: { path: '^src/text/' },
      to: { path: '^src/data/', pathNot: '^src/data/sources[.]ts$' },
    },
    {
      name: 'layer-train-sees-model-only-through-trainable',
      severity: 'error',
      comment:
        'train/ sees a model only through TrainableModel (model/trainable.ts); only the data-parallel LM ' +
        'trainer (train/data-parallel.ts, train/dp-worker.ts) builds LanguageModel replicas (see the top of ' +
        '.dependency-cruiser.cjs)',
      from: { path: '^src/train/', pathNot: '^src/train/(data-parallel|dp-worker)[.]ts$' },
      to: { path: '^src/model/', pathNot: '^src/model/trainable[.]ts$' },
    },
    {
      name: 'layer-top-cli-imported-only-by-cli',
      severity: 'error',
      comment: 'cli/ is the top: only cli/ imports cli/ (nothing below cli/ prints or reads argv)',
      from: { path: '^src/', pathNot: '^src/cli/' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'layer-top-bench-imported-only-by-bench',
      severity: 'error',
      comment: 'bench/ is benchmark code (it may import anything): library code never imports it',
      from: { path: '^src/', pathNot: '^src/bench/' },
      to: { path: '^src/bench/' },
    },
    {
      name: 'layer-top-api-imports-no-serve',
      severity: 'error',
      comment:
        'api/ is the library API the server is built on: api/ never imports serve/ (docs/design.md §1)',
      from: { path: '^src/api/' },
      to: { path: '^src/serve/' },
    },
    {
      name: 'layer-top-index-not-imported',
      severity: 'error',
      comment:
        'index.ts is the library API: src/ modules import the module that defines a thing, never index.ts',
      from: { path: '^src/' },
      to: { path: '^src/index[.]ts$' },
    },
    {
      name: 'every-module-in-a-layer',
      severity: 'error',
      comment: 'a module of src/ outside every layer: place its folder in a layer in .dependency-cruiser.cjs',
      from: { path: '^src/', pathNot: Object.values(LAYERS).flat() },
      to: {},
    },
    {
      name: 'no-orphans',
      severity: 'error',
      comment: 'a module of src/ nothing imports: use it or remove it (entry points are listed in the rule)',
      from: {
        orphan: true,
        path: '^src/',
        pathNot: ['^src/index[.]ts$', '^src/cli/main[.]ts$', '^src/bench/', '[.]d[.]ts$'],
      },
      to: {},
    },
    {
      name: 'not-to-test',
      severity: 'error',
      comment: 'src/ does not import test code',
      from: { path: '^src/' },
      to: { path: '^test/' },
    },
    {
      name: 'not-to-dev-dep',
      severity: 'error',
      comment: 'src/ ships: it may not import a devDependency (type-only imports are fine)',
      from: { path: '^src/' },
      to: {
        dependencyTypes: ['npm-dev'],
        dependencyTypesNot: ['type-only'],
        pathNot: ['node_modules/@types/'],
      },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'an import that does not resolve to a file',
      from: { path: '^src/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: ['node_modules'] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
  },
};
