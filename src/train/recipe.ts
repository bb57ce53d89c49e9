/**
 * The text form of a training recipe (`--schedule`): stages separated by `;`, each
 * `[freeze_to:]epochs@lr`, where lr is anything `parseLr` reads (a number, a `lo:hi` range for
 * discriminative rates, or one lr per group). fastai's classifier recipe reads:
 *   -1:1@2e-2; -2:1@1e-2/2.6^4:1e-2; -3:1@5e-3/2.6^4:5e-3; 0:2@1e-3/2.6^4:1e-3
 */
import { usageError } from '../errors.js';
import type { Stage } from './learner.js';
import { parseLr, type LrSpec } from './schedule.js';

export function parseRecipe(text: string): Stage[] {
  const parts = text
    .split(';')
    .map((part) => part.trim())
    .filter((part) => part !== '');
  if (parts.length === 0) throw badRecipe(text, 'it has no stages');
  return parts.map((part) => {
    const at = part.indexOf('@');
    if (at < 0) throw badRecipe(text, `stage "${part}" has no @lr`);
    const head = part.slice(0, at);
    const lr = parseLr(part.slice(at + 1));
    const colon = head.indexOf(':');
    const epochsText = colon < 0 ? head : head.slice(colon + 1);
    const epochs = Number(epochsText);
    if (!Number.isInteger(epochs) || epochs < 1)
      throw badRecipe(text, `stage "${part}" needs a whole number of epochs ≥ 1`);
    if (colon < 0) return { epochs, lr };
    const freezeTo = Number(head.slice(0, colon));
    if (!Number.isInteger(freezeTo))
      throw badRecipe(text, `stage "${part}" has a freeze_to that is not an integer`);
    return { freezeTo, epochs, lr };
  });
}

export function formatRecipe(stages: readonly Stage[]): string {
  return stages
    .map((s) => `${s.freezeTo === undefined ? '' : `${s.freezeTo}:`}${s.epochs}@${formatLr(s.lr)}`)
    .join('; ');
}

function formatLr(lr: LrSpec): string {
  if (typeof lr === 'number') return String(lr);
  if (Array.isArray(lr)) return lr.join(',');
  const slice = lr as { lo?: number; hi: number };
  return `${slice.lo ?? ''}:${slice.hi}`;
}

function badRecipe(text: string, why: string) {
  return usageError(
    `cannot read --schedule "${text}": ${why}`,
    'write stages as [freeze_to:]epochs@lr separated by ";", e.g. "-1:1@2e-2; 0:10@2e-3"',
  );
}
