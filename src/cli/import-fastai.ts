/**
 * `ulmfit import-fastai <weights.pth> <itos.pkl> --out <dir>`: a fastai AWD-LSTM (e.g. the WT103
 * files in wt103-fwd.tgz / wt103-bwd.tgz) → an ulmfit model directory. The work is in
 * io/fastai-model-dir.ts.
 */
import type { Command } from 'commander';
import { basename } from 'node:path';
import { importFastaiModel } from '../io/fastai-model-dir.js';
import { AWD_LSTM_LM_CONFIG } from '../model/awd-lstm.js';
import { defaultTokenizerSettings } from '../text/settings.js';
import { snakeKeys } from './json-output.js';

interface Flags {
  out: string;
  backwards?: boolean;
  overwrite?: boolean;
  json?: boolean;
  quiet?: boolean;
}

export function register(program: Command): void {
  program
    .command('import-fastai')
    .description(
      'convert a fastai AWD-LSTM (.pth, zip or legacy torch.save) and its itos .pkl into an ulmfit model directory',
    )
    .argument(
      '<weights>',
      'the .pth state dict (learn.save, learn.save_encoder, or WT103 lstm_fwd.pth / lstm_bwd.pth)',
    )
    .argument('<itos>', 'the pickled vocabulary saved with it (e.g. itos_wt103.pkl)')
    .requiredOption('--out <dir>', 'the model directory to write')
    .option('--backwards', 'the model reads text backwards (fastai backwards=True, e.g. lstm_bwd.pth)')
    .option('--overwrite', 'replace an existing --out model directory')
    .option('--json', 'print one JSON object describing the import')
    .option('--quiet', 'no warnings on stderr')
    .addHelpText(
      'after',
      '\nExample:\n  tar xzf wt103-fwd.tgz && ulmfit import-fastai wt103-fwd/lstm_fwd.pth wt103-fwd/itos_wt103.pkl --out wt103-fwd-ulmfit',
    )
    .action((weights: string, itos: string, flags: Flags) => runImport(weights, itos, flags));
}

function runImport(weights: string, itos: string, flags: Flags): void {
  const backwards = flags.backwards ?? false;
  if (!backwards && /bwd|backward/i.test(basename(weights)) && !flags.quiet) {
    process.stderr.write(
      `warning: ${basename(weights)} looks like a backwards model; pass --backwards if it is\n`,
    );
  }
  const { pad_token, hidden_p, input_p, embed_p, weight_p, output_p } = AWD_LSTM_LM_CONFIG;
  const result = importFastaiModel({
    weightsPath: weights,
    itosPath: itos,
    out: flags.out,
    backwards,
    overwrite: flags.overwrite,
    tokenizer: { ...defaultTokenizerSettings() },
    archDefaults: { pad_token, hidden_p, input_p, embed_p, weight_p, output_p },
  });
  const { shape, meta } = result;
  if (flags.json) {
    process.stdout.write(
      JSON.stringify(
        snakeKeys({
          out: flags.out,
          kind: meta.kind,
          layout: result.layout,
          container: result.format,
          ...shape,
          backwards,
        }),
      ) + '\n',
    );
    return;
  }
  process.stdout.write(
    `imported ${weights} (fastai ${result.layout} layout, ${result.format} torch.save): AWD-LSTM vocab ${shape.vocabSize}, ` +
      `emb ${shape.embSize}, hidden ${shape.hiddenSize}, ${shape.nLayers} layers${meta.kind === 'lm' ? (shape.tiedDecoder ? ', tied decoder' : ', untied decoder') : ''}` +
      ` → ${flags.out} (${meta.kind}, ${backwards ? 'backwards' : 'forwards'})\n`,
  );
}
