import * as tf from '@tensorflow/tfjs';
import { UlmfitError, usageError } from '../errors.js';
import { adamwStep } from '../compute/adamw.js';
import { ownedFloat32 } from '../compute/read-values.js';

/**
 * fastai's `Adam` (`fastai/optimizer.py`) with fastai's parameter groups and
 * `freeze_to`. For every parameter that has a gradient, in this order:
 *   1. decoupled ("true") weight decay  p ← p·(1 − lr·wd), unless the parameter is in the no-wd set
 *   2. g_avg ← mom·g_avg + (1−mom)·g
 *   3. s_avg ← sqr_mom·s_avg + (1−sqr_mom)·g²
 *   4. step ← step + 1
 *   5. p ← p − lr/(1−mom^step) · g_avg / (sqrt(s_avg/(1−sqr_mom^step)) + eps)
 * `mom` is rescheduled every batch by one-cycle and the debiasing uses the current value, as fastai.
 * Step counts are per parameter (fastai's `step_stat`), so they restart when the state is cleared.
 *
 * With anchors (`anchorTo`, off by default), step 1 also pulls each anchored parameter towards its
 * anchor, the value it started from: p ← p − lr·wd·p − min(1, lr·anchorDecay)·(p − p₀). That is
 * L2-SP (Li et al. 2018, "Explicit inductive bias for transfer learning") decoupled from the
 * gradient as AdamW decouples weight decay, so Adam's scaling of the gradient does not scale it.
 *
 * Steps 1, 2, 3 and 5 are one operation of the compute layer (`adamwStep`, src/compute/adamw.ts):
 * one SIMD pass per parameter on wasm with ulmfit's kernels, 14 TF.js ops elsewhere (same numbers).
 *
 * Ownership: the optimizer reads the gradients it is given and never disposes them; it owns its
 * moving averages (tf.Variables) until `clearState()` or `dispose()`.
 */

/** Hyper-parameters of one parameter group. */
export interface AdamHypers {
  lr: number;
  /** β1, fastai's `mom`. */
  mom: number;
  /** β2, fastai's `sqr_mom`. */
  sqrMom: number;
  /** Added outside the square root, as fastai. */
  eps: number;
  /** Decoupled weight decay. */
  wd: number;
}

/** fastai `Adam(params, lr, mom=0.9, sqr_mom=0.99, eps=1e-5, wd=0.01, decouple_wd=True)`. */
export const ADAM_DEFAULTS: Readonly<AdamHypers> = { lr: 1e-3, mom: 0.9, sqrMom: 0.99, eps: 1e-5, wd: 0.01 };

/** The moving averages of one parameter, in plain arrays so a checkpoint can write them. */
export interface AdamParamState {
  /** Group index and position inside the group: how a restored state finds its variable. */
  group: number;
  index: number;
  /** The variable's name when saved (for error messages; variables are matched by position). */
  name: string;
  shape: number[];
  step: number;
  gradAvg: Float32Array;
  sqrAvg: Float32Array;
}

/** Everything the optimizer needs to continue exactly where it stopped. */
export interface AdamState {
  hypers: AdamHypers[];
  /** Groups `[0, frozenGroups)` are frozen. */
  frozenGroups: number;
  /** Only parameters that have taken a step since the last clear. */
  params: AdamParamState[];
}

/** `AdamState` with the moving averages as the optimizer's tensors (`Adam.getLiveState`). */
export interface LiveAdamState extends Omit<AdamState, 'params'> {
  params: (Omit<AdamParamState, 'gradAvg' | 'sqrAvg'> & { gradAvg: tf.Tensor; sqrAvg: tf.Tensor })[];
}

interface ParamState {
  step: number;
  gradAvg: tf.Variable;
  sqrAvg: tf.Variable;
}

export class Adam {
  readonly groups: readonly (readonly tf.Variable[])[];
  readonly hypers: AdamHypers[];
  private readonly noWeightDecay: ReadonlySet<string>;
  private readonly state = new Map<tf.Variable, ParamState>();
  private frozenIdx = 0;
  /** Each anchored parameter's starting value (the optimizer's own copies). */
  private readonly anchors = new Map<tf.Variable, tf.Tensor>();
  private anchorDecay = 0;

  /**
   * @param groups the model's parameter groups, lowest layer first
   * @param noWeightDecay names of variables that get no weight decay (fastai `wd_bn_bias=False`)
   */
  constructor(
    groups: readonly (readonly tf.Variable[])[],
    noWeightDecay: ReadonlySet<string> = new Set(),
    options: Partial<AdamHypers> = {},
  ) {
    if (groups.length === 0) throw new Error('Adam needs at least one parameter group');
    this.groups = groups;
    this.noWeightDecay = noWeightDecay;
    this.hypers = groups.map(() => ({ ...ADAM_DEFAULTS, ...options }));
  }

  get numGroups(): number {
    return this.groups.length;
  }

  /** Sets one hyper-parameter for every group (a number) or per group (an array of numGroups). */
  setHyper(key: keyof AdamHypers, value: number | readonly number[]): void {
    const values = typeof value === 'number' ? this.groups.map(() => value) : value;
    if (values.length !== this.groups.length) {
      throw usageError(`${values.length} values of ${key} for ${this.groups.length} parameter groups`);
    }
    values.forEach((v, i) => {
      (this.hypers[i] as AdamHypers)[key] = v;
    });
  }

  /**
   * fastai `opt.freeze_to(n)`: groups `[n:]` train, groups `[:n]` are frozen (Python slice
   * semantics: n < 0 counts from the end; `freezeTo(-1)` = fastai `freeze()`, `freezeTo(0)` =
   * `unfreeze()`). Does not clear the state; the learner does that, as fastai's Learner does.
   */
  freezeTo(n: number): void {
    const count = this.groups.length;
    const idx = n >= 0 ? n : Math.max(0, count + n);
    if (!Number.isInteger(n) || idx >= count) {
      throw usageError(
        `cannot freeze to ${n}: the model has ${count} parameter groups and at least one must train`,
        `use a value from -${count} to ${count - 1} (0 unfreezes everything)`,
      );
    }
    this.frozenIdx = idx;
  }

  /**
   * Pulls `variables` towards their current values from now on, by `decay` per unit of lr in every
   * step (L2-SP, decoupled; see the class comment). Replaces any earlier anchors; decay 0 removes them.
   * A transferred encoder's weights are the anchor that fine-tuning on a few labels should not forget.
   */
  anchorTo(variables: readonly tf.Variable[], decay: number): void {
    if (!(decay >= 0) || !Number.isFinite(decay)) {
      throw usageError(`the decay towards the pretrained weights must be a number ≥ 0, got ${decay}`);
    }
    this.disposeAnchors();
    this.anchorDecay = decay;
    if (decay === 0) return;
    for (const variable of variables) this.anchors.set(variable, tf.keep(variable.clone()));
  }

  /** Whether `anchorTo` set anchors that steps pull towards. */
  get anchored(): boolean {
    return this.anchors.size > 0;
  }

  /** Number of frozen groups, counted from the first. */
  get frozenGroups(): number {
    return this.frozenIdx;
  }

  /** The variables of the trainable groups, in group order. */
  trainableVariables(): tf.Variable[] {
    return this.groups.slice(this.frozenIdx).flat();
  }

  /**
   * One optimizer step. Parameters without a gradient (frozen, or unused by this batch's loss)
   * are skipped entirely: no weight decay, no moment update, no step count.
   * @param grads gradient per variable name, as `tf.variableGrads` returns it (not disposed here)
   */
  step(grads: Readonly<Record<string, tf.Tensor | null | undefined>>): void {
    this.groups.forEach((group, groupIdx) => {
      if (groupIdx < this.frozenIdx) return;
      const hypers = this.hypers[groupIdx] as AdamHypers;
      for (const variable of group) {
        const grad = grads[variable.name];
        if (grad == null) continue;
        this.stepParam(variable, grad, hypers);
      }
    });
  }

  private stepParam(variable: tf.Variable, grad: tf.Tensor, hypers: AdamHypers): void {
    const { lr, mom, sqrMom, eps, wd } = hypers;
    const state = this.stateOf(variable);
    state.step += 1;
    const debias1 = 1 - mom ** state.step;
    const debias2 = 1 - sqrMom ** state.step;
    const decay = wd !== 0 && !this.noWeightDecay.has(variable.name);
    const anchor = this.anchors.get(variable);
    // A step can at most return the parameter to its anchor, never overshoot it.
    const pull = anchor === undefined ? 0 : Math.min(1, lr * this.anchorDecay);
    const scalars = {
      decay: (decay ? 1 - lr * wd : 1) - pull,
      mom,
      oneMinusMom: 1 - mom,
      sqrMom,
      oneMinusSqrMom: 1 - sqrMom,
      debias2,
      eps,
      stepSize: lr / debias1,
    };
    const [param, gradAvg, sqrAvg] = adamwStep(variable, grad, state.gradAvg, state.sqrAvg, scalars);
    // The pull's other half, + pull·p₀: one more elementwise pass, only for anchored parameters.
    if (anchor !== undefined && pull > 0) tf.tidy(() => variable.assign(param.add(anchor.mul(pull))));
    else variable.assign(param);
    state.gradAvg.assign(gradAvg);
    state.sqrAvg.assign(sqrAvg);
    tf.dispose([param, gradAvg, sqrAvg]);
  }

  private stateOf(variable: tf.Variable): ParamState {
    let state = this.state.get(variable);
    if (state === undefined) {
      state = {
        step: 0,
        gradAvg: stateVariable(() => tf.zerosLike(variable)),
        sqrAvg: stateVariable(() => tf.zerosLike(variable)),
      };
      this.state.set(variable, state);
    }
    return state;
  }

  /** fastai `clear_state()`: forgets every moving average and step count (hypers are kept). */
  clearState(): void {
    for (const state of this.state.values()) {
      state.gradAvg.dispose();
      state.sqrAvg.dispose();
    }
    this.state.clear();
  }

  /** A copy of the state in plain arrays (reads the averages from the backend: call between steps). */
  getState(): AdamState {
    const live = this.getLiveState();
    return {
      ...live,
      params: live.params.map((p) => ({
        ...p,
        gradAvg: ownedFloat32(p.gradAvg),
        sqrAvg: ownedFloat32(p.sqrAvg),
      })),
    };
  }

  /**
   * The state with the moving averages as the optimizer's own tensors, not copied: a checkpoint
   * reads them one at a time (tasks/run-dir.ts checkpointOf). Read them before the next step.
   */
  getLiveState(): LiveAdamState {
    const params: LiveAdamState['params'] = [];
    this.groups.forEach((group, groupIdx) =>
      group.forEach((variable, index) => {
        const state = this.state.get(variable);
        if (state === undefined) return;
        params.push({
          group: groupIdx,
          index,
          name: variable.name,
          shape: [...variable.shape],
          step: state.step,
          gradAvg: state.gradAvg,
          sqrAvg: state.sqrAvg,
        });
      }),
    );
    return { hypers: this.hypers.map((h) => ({ ...h })), frozenGroups: this.frozenIdx, params };
  }

  /** Replaces the whole state with a saved one; variables are matched by (group, index) and shape. */
  setState(saved: AdamState): void {
    if (saved.hypers.length !== this.groups.length) {
      throw new UlmfitError(
        'E_CHECKPOINT',
        `optimizer checkpoint has ${saved.hypers.length} parameter groups, the model has ${this.groups.length}`,
        'resume with the same model architecture and command that wrote the checkpoint',
      );
    }
    const restored = saved.params.map((param) => {
      const variable = this.groups[param.group]?.[param.index];
      const size = param.shape.reduce((a, b) => a * b, 1);
      if (
        variable === undefined ||
        variable.shape.join(',') !== param.shape.join(',') ||
        param.gradAvg.length !== size ||
        param.sqrAvg.length !== size
      ) {
        throw new UlmfitError(
          'E_CHECKPOINT',
          `optimizer checkpoint entry ${param.name} (group ${param.group}, #${param.index}, shape [${param.shape}]) ` +
            `does not match the model`,
          'resume with the same model architecture and command that wrote the checkpoint',
        );
      }
      return { variable, param };
    });
    this.clearState();
    saved.hypers.forEach((h, i) => {
      this.hypers[i] = { ...h };
    });
    this.frozenIdx = saved.frozenGroups;
    for (const { variable, param } of restored) {
      this.state.set(variable, {
        step: param.step,
        gradAvg: stateVariable(() => tf.tensor(param.gradAvg, param.shape, 'float32')),
        sqrAvg: stateVariable(() => tf.tensor(param.sqrAvg, param.shape, 'float32')),
      });
    }
  }

  /** Frees the moving averages and anchors. The optimizer can still be used (state restarts from zero). */
  dispose(): void {
    this.clearState();
    this.disposeAnchors();
  }

  private disposeAnchors(): void {
    for (const anchor of this.anchors.values()) anchor.dispose();
    this.anchors.clear();
    this.anchorDecay = 0;
  }
}

/**
 * A non-trainable variable holding `make()`'s value. tf.variable shares the initial tensor's data
 * and leaves that tensor alive; the tidy disposes it, so only the variable remains.
 */
function stateVariable(make: () => tf.Tensor): tf.Variable {
  return tf.tidy(() => tf.variable(make(), false));
}
