/**
 * Hand-written gradients: `customOp` (tf.customGrad with the inputs as an array), `detach`, and
 * whether a gradient tape is recording here.
 */
import * as tf from '@tensorflow/tfjs';

type GradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor | tf.Tensor[];

/**
 * `tf.customGrad` with the inputs as an array (TF.js's typing of customGrad does not accept a
 * function with specific tensor parameters). `f` gets the inputs and the save function and returns
 * the value and a gradient function returning one gradient per input.
 */
export function customOp<T extends tf.Tensor>(
  f: (inputs: tf.Tensor[], save: tf.GradSaveFunc) => { value: T; gradFunc: GradFunc },
): (...inputs: tf.Tensor[]) => T {
  const wrapped = tf.customGrad(((...args: Array<tf.Tensor | tf.GradSaveFunc>) =>
    f(args.slice(0, -1) as tf.Tensor[], args[args.length - 1] as tf.GradSaveFunc)) as unknown as Parameters<
    typeof tf.customGrad<T>
  >[0]);
  return (...inputs: tf.Tensor[]) => wrapped(...inputs);
}

/**
 * A gradient function's saved tensors, released once it has read them. TF.js keeps every node's
 * saved tensors until the whole backward pass ends (engine.gradients disposes them there), so a
 * layer's activations would otherwise outlive its gradient: at WT103 size the LSTM layers' saved
 * gates alone are 20 MiB a layer, alive while the embedding's gradients are summed at the very end.
 * A node's gradient function runs once per backward pass (no higher-order gradients here), and
 * disposing a tensor twice is a no-op, so releasing them early is safe.
 */
export function releaseSaved(saved: tf.Tensor[]): void {
  tf.dispose(saved);
}

/** Whether TF.js is recording operations for a gradient here (tf.grad & co., outside any kernel). */
export function gradientTapeOn(): boolean {
  // Engine.isTapeOn is not in TF.js's public typings.
  return (tf.engine() as unknown as { isTapeOn(): boolean }).isTapeOn();
}

/**
 * `x` unchanged in the forward pass, no gradient in the backward (PyTorch's `detach`; TF.js has
 * no stopGradient op).
 */
export function detach<T extends tf.Tensor>(x: T): T {
  const stop = customOp(([input]) => ({
    value: input!.clone(),
    gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
  }));
  return stop(x) as T;
}
