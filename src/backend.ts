/**
 * The backend choice, where the layers above have always imported it from; it lives in the compute
 * layer (src/compute/backend.ts) with the kernels it sets up.
 */
export { initBackend, type BackendName } from './compute/backend.js';
