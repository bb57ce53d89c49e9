/**
 * Picks and initialises the TF.js backend: `tensorflow` (tfjs-node-gpu, tfjs-node) where one of the
 * optional peers is installed, else wasm, else the pure-JS cpu backend. On wasm it registers
 * ulmfit's kernel patches and kernels (wasm-patches.ts) before anything runs.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendName } from '../config/schema.js';
import { UlmfitError } from '../errors.js';
import { patchWasmKernels } from './wasm-patches.js';

/** The names `--backend` accepts are config/schema.ts BACKEND_NAMES. */
export type { BackendName };

/** The optional packages that provide the `tensorflow` backend, preferred first. */
const TENSORFLOW_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'];

let pending: Promise<string> | undefined;
let pendingName: BackendName | undefined;

/**
 * Initialises a backend and makes it current; returns its TF.js name ('tensorflow', 'wasm' or
 * 'cpu'). `auto` takes `tensorflow` when tfjs-node(-gpu) can be imported, else wasm, else cpu.
 * Idempotent: calling again with the same name (or with `auto` after any successful call) returns
 * the backend already set up.
 */
export async function initBackend(name: BackendName = 'auto'): Promise<string> {
  if (pending !== undefined && (name === pendingName || name === 'auto')) return pending;
  pendingName = name;
  pending = setUp(name);
  try {
    return await pending;
  } catch (error) {
    pending = undefined;
    pendingName = undefined;
    throw error;
  }
}

async function setUp(name: BackendName): Promise<string> {
  if (name === 'tensorflow' || name === 'auto') {
    const loaded = await tryTensorflow();
    if (loaded) return activate('tensorflow');
    if (name === 'tensorflow') {
      throw new UlmfitError(
        'E_BACKEND',
        'the tensorflow backend is not installed',
        'npm install @tensorflow/tfjs-node (CPU) or @tensorflow/tfjs-node-gpu (CUDA), or use --backend wasm',
      );
    }
  }
  if (name === 'wasm' || name === 'auto') {
    try {
      await import('@tensorflow/tfjs-backend-wasm');
      const backendName = await activate('wasm');
      patchWasmKernels();
      return backendName;
    } catch (error) {
      if (name === 'wasm') {
        throw new UlmfitError(
          'E_BACKEND',
          `the wasm backend failed to start: ${(error as Error).message}`,
          'reinstall @tensorflow/tfjs-backend-wasm, or use --backend cpu',
        );
      }
    }
  }
  return activate('cpu');
}

async function tryTensorflow(): Promise<boolean> {
  for (const pkg of TENSORFLOW_PACKAGES) {
    try {
      // A variable specifier keeps TypeScript from resolving a package that is optional.
      await import(pkg);
      if (tf.findBackendFactory('tensorflow') !== null) return true;
    } catch {
      // not installed (or its native library failed to load): try the next one
    }
  }
  return false;
}

async function activate(backendName: string): Promise<string> {
  const ok = await tf.setBackend(backendName);
  await tf.ready();
  if (!ok || tf.getBackend() !== backendName) {
    throw new UlmfitError('E_BACKEND', `the ${backendName} backend could not be initialised`);
  }
  return backendName;
}
