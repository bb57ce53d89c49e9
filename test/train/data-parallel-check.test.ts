import { describe, expect, it } from 'vitest';
import { UlmfitError } from '../../src/errors.js';
import { checkDataParallel } from '../../src/train/data-parallel.js';

describe('checkDataParallel', () => {
  it('refuses replicas on the tensorflow backend, naming the flag that asked for them', () => {
    expect(() => checkDataParallel(2, 'tensorflow')).toThrow(UlmfitError);
    expect(() => checkDataParallel(2, 'tensorflow')).toThrow(/tensorflow backend already uses every core/);
    const error = ((): unknown => {
      try {
        checkDataParallel(2, 'tensorflow', '--workers');
      } catch (thrown) {
        return thrown;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(UlmfitError);
    expect((error as UlmfitError).hint).toBe('leave out --workers, or use --backend wasm');
  });

  it('lets one replica run anywhere and several on wasm (the worker file is built)', () => {
    expect(() => checkDataParallel(1, 'tensorflow')).not.toThrow();
    expect(() => checkDataParallel(2, 'wasm')).not.toThrow();
  });
});
