import { readFileSync } from 'node:fs';

/**
 * Whether the native kernels must load in this test run: x86-64 Linux with AVX2 and FMA (CI's
 * machines; `npm test` builds the addon first), unless `ULMFIT_NATIVE=0` asks for the WebAssembly
 * kernels alone. Elsewhere the native tests are skipped and the fallback is what runs.
 */
export const nativeExpected: boolean = (() => {
  if (process.env['ULMFIT_NATIVE'] === '0' || process.arch !== 'x64' || process.platform !== 'linux')
    return false;
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  return /\bavx2\b/.test(cpuinfo) && /\bfma\b/.test(cpuinfo);
})();
