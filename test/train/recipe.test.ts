import { describe, expect, it } from 'vitest';
import { formatRecipe, parseRecipe } from '../../src/train/recipe.js';

describe('parseRecipe', () => {
  it("reads fastai's gradual-unfreezing recipe with discriminative ranges", () => {
    const stages = parseRecipe('-1:1@2e-2; -2:1@1e-2/2.6^4:1e-2; -3:1@5e-3/2.6^4:5e-3; 0:2@1e-3/2.6^4:1e-3');
    expect(stages).toHaveLength(4);
    expect(stages[0]).toEqual({ freezeTo: -1, epochs: 1, lr: 2e-2 });
    expect(stages[1]!.freezeTo).toBe(-2);
    expect(stages[1]!.lr).toEqual({ lo: 1e-2 / 2.6 ** 4, hi: 1e-2 });
    expect(stages[3]).toMatchObject({ freezeTo: 0, epochs: 2 });
  });

  it('leaves freezing alone when a stage has no freeze_to, and round-trips', () => {
    const stages = parseRecipe('3@1e-3');
    expect(stages).toEqual([{ epochs: 3, lr: 1e-3 }]);
    expect(parseRecipe(formatRecipe(parseRecipe('-1:1@2e-2; 0:4@1e-4:1e-3')))).toEqual(
      parseRecipe('-1:1@2e-2; 0:4@1e-4:1e-3'),
    );
  });

  it('rejects stages without lr or with bad epochs', () => {
    expect(() => parseRecipe('1')).toThrow(/no @lr/);
    expect(() => parseRecipe('0:0@1e-3')).toThrow(/epochs/);
    expect(() => parseRecipe('')).toThrow(/no stages/);
  });
});
