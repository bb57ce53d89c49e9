/**
 * `ulmfit pull <names...>`: fetch fastai's pretrained models (wt103 = wt103-fwd, wt103-bwd) and
 * text datasets (imdb, ag_news, wikitext-103, …) into the cache, once. The work is in
 * tasks/pull.ts; the progress bar and the flags are here. Other commands pull a name on first use
 * through the same function (cli/pull-names.ts).
 */
import type { Command } from 'commander';
import { HOME_ENV, MIRROR_ENV, OFFLINE_ENV } from '../hub/cache.js';
import { pull, type PullOptions, type PullResult } from '../tasks/pull.js';
import { Progress } from './progress.js';
import { addCommand } from './options.js';
import type { CommandFlags } from '../config/schema.js';
import { PULL } from '../config/utility.js';

type Flags = CommandFlags<typeof PULL>;

/** Bytes for the progress line: 812 kB, 105.3 MB, 1.20 GB. */
function mb(bytes: number): string {
  if (bytes < 1e6) return `${Math.round(bytes / 1e3)} kB`;
  return bytes < 1e9 ? `${(bytes / 1e6).toFixed(1)} MB` : `${(bytes / 1e9).toFixed(2)} GB`;
}

/** Pull options that report on stderr: a progress bar on a terminal (bytes, rate, ETA) and notes. */
export function reportingPullOptions(flags: { offline?: boolean; quiet?: boolean }): PullOptions {
  let bar: Progress | undefined;
  let barName = '';
  let started = 0;
  return {
    ...(flags.offline ? { offline: true } : {}),
    onInfo: (message) => {
      if (!flags.quiet) process.stderr.write(`${message}\n`);
    },
    onProgress: ({ name, received, total, resumedFrom }) => {
      if (flags.quiet) return;
      if (!bar || barName !== name) {
        bar?.finish();
        bar = new Progress({ label: name });
        barName = name;
        started = performance.now();
      }
      const seconds = (performance.now() - started) / 1000;
      const rate = seconds > 0 ? (received - resumedFrom) / seconds : 0;
      const size = total !== undefined ? `${mb(received)} / ${mb(total)}` : mb(received);
      // done/total count this transfer's bytes, so a resumed download's ETA is not too short.
      bar.update({
        ...(total !== undefined ? { done: received - resumedFrom, total: total - resumedFrom } : {}),
        text: `${size} ${mb(rate)}/s${resumedFrom > 0 ? ` (resumed at ${mb(resumedFrom)})` : ''}`,
      });
      if (total !== undefined && received >= total) bar.finish();
    },
  };
}

function line(result: PullResult): string {
  const how =
    result.status === 'package'
      ? 'ships with ulmfit'
      : result.status === 'cache'
        ? 'already in the cache'
        : `pulled from ${result.url}`;
  return `${result.name} (${result.kind}): ${how} → ${result.dir}\n`;
}

export function register(program: Command): void {
  addCommand(program, PULL)
    .addHelpText(
      'after',
      `\nCache: $${HOME_ENV}, else $XDG_CACHE_HOME/ulmfit, else ~/.cache/ulmfit (models/, datasets/).\n` +
        `$${MIRROR_ENV}=<url>: fetch every file from <url>/<file name> instead of fastai's URL.\n` +
        `ulmfit --offline pull … (or $${OFFLINE_ENV}=1): never use the network; a name not cached is an error.\n` +
        'Every command that takes a model or an input pulls a name on first use (--pretrained wt103, train-classifier imdb).\n\n' +
        'Example:\n  ulmfit pull wt103 imdb\n  ulmfit finetune-lm imdb --pretrained wt103 --out runs/imdb-lm',
    )
    .action(async (names: string[], flags: Flags, command: Command) => {
      const offline = Boolean(command.optsWithGlobals<{ offline?: boolean }>().offline); // --offline is the program's flag
      const options = reportingPullOptions({ ...flags, offline });
      for (const name of names) {
        const result = await pull(name, options);
        process.stdout.write(flags.json ? JSON.stringify(result) + '\n' : line(result));
      }
    });
}
