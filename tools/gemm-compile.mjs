// WebAssembly text -> binary for the gemm module (wabt, a devDependency).
import wabtInit from 'wabt';
import { gemmWat } from './gemm-wat.mjs';

/** @returns {Promise<Uint8Array>} the module's bytes */
export async function compileGemmWasm() {
  const wabt = await wabtInit();
  const module = wabt.parseWat('gemm.wat', gemmWat(), { simd: true, relaxed_simd: true });
  try {
    module.validate();
    return module.toBinary({ log: false, write_debug_names: false }).buffer;
  } finally {
    module.destroy();
  }
}
