import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/**
 * fastai's Adam update for one parameter as a single TF.js kernel on the wasm and cpu backends.
 * Written with tf ops the update is 14 element-wise passes over the parameter (each a kernel
 * call that reads and writes the whole tensor); this kernel does it in one loop: measured 183 ms
 * → see optimizer.ts for the number, per step for 10M parameters on wasm. Other backends
 * (tensorflow, webgl) have no such kernel and use the tf-ops path in optimizer.ts.
 *
 * Inputs  param, grad, gradAvg, sqrAvg: float32, same shape.
 * Attrs   mom, sqrMom, eps, decay (= 1 − lr·wd, or 1 without weight decay), stepSize (= lr / (1 − mom^step)),
 *         debias2 (= 1 − sqrMom^step).
 * Outputs [param', gradAvg', sqrAvg'], new tensors (inputs are not modified).
 * The moments are rounded to float32 before use, as they are stored in float32 in PyTorch.
 */
export const ADAM_KERNEL = 'UlmfitAdamStep';

export interface AdamKernelAttrs {
  mom: number;
  sqrMom: number;
  eps: number;
  decay: number;
  stepSize: number;
  debias2: number;
}

/** The update loop over plain arrays (outputs may not alias inputs). */
function adamLoop(
  param: Float32Array,
  grad: Float32Array,
  gradAvg: Float32Array,
  sqrAvg: Float32Array,
  outParam: Float32Array,
  outGradAvg: Float32Array,
  outSqrAvg: Float32Array,
  attrs: AdamKernelAttrs,
): void {
  const { mom, sqrMom, eps, decay, stepSize, debias2 } = attrs;
  const gradWeight = 1 - mom;
  const sqrWeight = 1 - sqrMom;
  const invDebias2 = 1 / debias2;
  for (let i = 0; i < param.length; i++) {
    const g = grad[i] as number;
    const m = Math.fround((gradAvg[i] as number) * mom + gradWeight * g);
    const v = Math.fround((sqrAvg[i] as number) * sqrMom + sqrWeight * g * g);
    outGradAvg[i] = m;
    outSqrAvg[i] = v;
    outParam[i] = (param[i] as number) * decay - (stepSize * m) / (Math.sqrt(v * invDebias2) + eps);
  }
}

interface KernelArgs<Backend> {
  inputs: Record<string, tf.TensorInfo>;
  backend: Backend;
  attrs: AdamKernelAttrs;
}

function checkInputs(inputs: Record<string, tf.TensorInfo>): tf.TensorInfo[] {
  const list = ['param', 'grad', 'gradAvg', 'sqrAvg'].map((name) => {
    const t = inputs[name];
    if (t === undefined || t.dtype !== 'float32') throw new Error(`${ADAM_KERNEL}: ${name} must be a float32 tensor`);
    return t;
  });
  const size = tf.util.sizeFromShape((list[0] as tf.TensorInfo).shape);
  if (list.some((t) => tf.util.sizeFromShape(t.shape) !== size)) throw new Error(`${ADAM_KERNEL}: shapes differ`);
  return list;
}

function wasmKernel({ inputs, backend, attrs }: KernelArgs<BackendWasm>): tf.TensorInfo[] {
  const [param, grad, gradAvg, sqrAvg] = checkInputs(inputs) as [tf.TensorInfo, tf.TensorInfo, tf.TensorInfo, tf.TensorInfo];
  const outs = [param, gradAvg, sqrAvg].map((t) => backend.makeOutput(t.shape, 'float32'));
  // Views only after every makeOutput: an allocation may grow (and so move) the wasm heap.
  const view = (t: tf.TensorInfo) => backend.typedArrayFromHeap(t) as Float32Array;
  const [outParam, outGradAvg, outSqrAvg] = outs as [tf.TensorInfo, tf.TensorInfo, tf.TensorInfo];
  adamLoop(view(param), view(grad), view(gradAvg), view(sqrAvg), view(outParam), view(outGradAvg), view(outSqrAvg), attrs);
  return outs;
}

/** What the kernel needs of TF.js's cpu backend (MathBackendCPU; not a direct dependency). */
interface CpuBackend {
  data: { get(dataId: object): { values: unknown } };
  makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): tf.TensorInfo;
}

function cpuKernel({ inputs, backend, attrs }: KernelArgs<CpuBackend>): tf.TensorInfo[] {
  const [param, grad, gradAvg, sqrAvg] = checkInputs(inputs) as [tf.TensorInfo, tf.TensorInfo, tf.TensorInfo, tf.TensorInfo];
  const values = (t: tf.TensorInfo) => backend.data.get(t.dataId).values as Float32Array;
  const size = tf.util.sizeFromShape(param.shape);
  const outParam = new Float32Array(size);
  const outGradAvg = new Float32Array(size);
  const outSqrAvg = new Float32Array(size);
  adamLoop(values(param), values(grad), values(gradAvg), values(sqrAvg), outParam, outGradAvg, outSqrAvg, attrs);
  return [
    backend.makeTensorInfo(param.shape, 'float32', outParam),
    backend.makeTensorInfo(gradAvg.shape, 'float32', outGradAvg),
    backend.makeTensorInfo(sqrAvg.shape, 'float32', outSqrAvg),
  ];
}

let registered = false;

function registerAdamKernels(): void {
  if (registered) return;
  registered = true;
  tf.registerKernel({ kernelName: ADAM_KERNEL, backendName: 'wasm', kernelFunc: wasmKernel as unknown as tf.KernelFunc });
  tf.registerKernel({ kernelName: ADAM_KERNEL, backendName: 'cpu', kernelFunc: cpuKernel as unknown as tf.KernelFunc });
}

/** True when the current backend has the fused kernel (wasm, cpu). */
export function hasFusedAdam(): boolean {
  registerAdamKernels();
  return tf.getKernel(ADAM_KERNEL, tf.getBackend()) !== undefined;
}

/**
 * Runs the fused update. The caller owns the three returned tensors.
 * @param param, grad, gradAvg, sqrAvg float32, same shape
 */
export function fusedAdamStep(
  param: tf.Tensor,
  grad: tf.Tensor,
  gradAvg: tf.Tensor,
  sqrAvg: tf.Tensor,
  attrs: AdamKernelAttrs,
): [tf.Tensor, tf.Tensor, tf.Tensor] {
  registerAdamKernels();
  const out = tf.engine().runKernel(
    ADAM_KERNEL,
    { param, grad, gradAvg, sqrAvg },
    attrs as unknown as tf.NamedAttrMap,
  ) as tf.Tensor[];
  return [out[0] as tf.Tensor, out[1] as tf.Tensor, out[2] as tf.Tensor];
}
