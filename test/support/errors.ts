import { expect } from 'vitest';
import { UlmfitError } from '../../src/errors.js';

/** The UlmfitError `fn` throws (the test fails if it throws nothing or something else). */
export function errorOf(fn: () => unknown): UlmfitError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UlmfitError);
    return err as UlmfitError;
  }
  throw new Error('expected an error');
}
