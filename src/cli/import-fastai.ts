/**
 * `ulmfit import-fastai <weights.pth> <itos.pkl> --out <dir>`: a fastai AWD-LSTM (e.g. the WT103
 * files in wt103-fwd.tgz / wt103-bwd.tgz) → an ulmfit model directory. The work is in
 * io/fastai-model-dir.ts.
 */
import type { Command } from 'commander';
import { basename } from 'node:path';
import type { CommandFlags } from '../config/schema.js';
import { IMPORT_FASTAI } from '../config/utility.js';
import { importFastaiModel } from '../io/fastai-model-dir.js';
import { AWD_LSTM_LM_CONFIG } from '../model/awd-lstm.js';
import { defaultTokenizerSettings } from '../text/settings.js';
import { snakeKeys } from './json-output.js';
import { addCommand } from './options.js';

type Flags = CommandFlags<typeof IMPORT_FASTAI>;

export function register(program: Command): void {
  addCommand(program, IMPORT_FASTAI).action((weights: string, itos: string, flags: Flags) =>
    runImport(weights, itos, flags),
  );
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
