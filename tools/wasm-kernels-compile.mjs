// WebAssembly text -> binary for ulmfit's wasm kernels (wabt, a devDependency).
import wabtInit from 'wabt';
import { kernelsWat } from './wasm-kernels-wat.mjs';

/** @returns {Promise<Uint8Array>} the module's bytes */
export async function compileWasmKernels() {
  const wabt = await wabtInit();
  const module = wabt.parseWat('kernels.wat', kernelsWat(), { simd: true, relaxed_simd: true });
  try {
    module.validate();
    return module.toBinary({ log: false, write_debug_names: false }).buffer;
  } finally {
    module.destroy();
  }
}
