"""Reference numbers for test/train: fastai's Adam step functions, AvgSmoothLoss and `valley`,
transcribed from fastai/optimizer.py, fastai/learner.py and fastai/callback/schedule.py (fastai
itself is not installed here), run with PyTorch. Writes fixtures/train/fastai-reference.json.

Run: .venv/bin/python tools/fastai_train_reference.py
"""
import json
import math
from pathlib import Path

import torch

torch.manual_seed(0)


# --- fastai/optimizer.py -------------------------------------------------------------------
def weight_decay(p, lr, wd, do_wd=True, **kwargs):
    if do_wd and wd != 0: p.data.mul_(1 - lr * wd)


def average_grad(p, mom, dampening=False, grad_avg=None, **kwargs):
    if grad_avg is None: grad_avg = torch.zeros_like(p.grad.data)
    damp = 1 - mom if dampening else 1.
    grad_avg.mul_(mom).add_(p.grad.data, alpha=damp)
    return {'grad_avg': grad_avg}


def average_sqr_grad(p, sqr_mom, dampening=True, sqr_avg=None, **kwargs):
    if sqr_avg is None: sqr_avg = torch.zeros_like(p.grad.data)
    damp = 1 - sqr_mom if dampening else 1.
    sqr_avg.mul_(sqr_mom).addcmul_(p.grad.data, p.grad.data, value=damp)
    return {'sqr_avg': sqr_avg}


def step_stat(p, step=0, **kwargs): return {'step': step + 1}


def debias(mom, damp, step): return damp * (1 - mom ** step) / (1 - mom)


def adam_step(p, lr, mom, step, sqr_mom, grad_avg, sqr_avg, eps, **kwargs):
    debias1 = debias(mom, 1 - mom, step)
    debias2 = debias(sqr_mom, 1 - sqr_mom, step)
    p.data.addcdiv_(grad_avg, (sqr_avg / debias2).sqrt() + eps, value=-lr / debias1)


def adam_run():
    """Two parameters (the second without weight decay), 6 steps with per-step lr/mom, state
    cleared after step 3 (what freeze_to does)."""
    a = torch.randn(2, 3)
    b = torch.randn(4)
    params = [a.clone().requires_grad_(), b.clone().requires_grad_()]
    do_wd = [True, False]
    state = [{}, {}]
    hyper = dict(sqr_mom=0.99, eps=1e-5, wd=0.1)
    lrs = [1e-3, 5e-3, 2e-2, 1e-2, 3e-3, 1e-4]
    moms = [0.8, 0.75, 0.7, 0.72, 0.78, 0.8]
    grads = []
    for s in range(6):
        if s == 3: state = [{}, {}]
        step_grads = [torch.randn_like(p) for p in params]
        grads.append([g.flatten().tolist() for g in step_grads])
        for i, p in enumerate(params):
            p.grad = step_grads[i].clone()
            h = dict(hyper, lr=lrs[s], mom=moms[s], do_wd=do_wd[i])
            st = state[i]
            with torch.no_grad():
                weight_decay(p, **h)
                st.update(average_grad(p, dampening=True, **{**st, **h}))
                st.update(average_sqr_grad(p, **{**st, **h}))
                st.update(step_stat(p, **st))
                adam_step(p, **{**st, **h})
    return {
        'init': [a.flatten().tolist(), b.flatten().tolist()],
        'shapes': [list(a.shape), list(b.shape)],
        'lrs': lrs, 'moms': moms, 'wd': 0.1, 'clearAfterStep': 3,
        'grads': grads,
        'final': [p.detach().flatten().tolist() for p in params],
    }


# --- fastai/learner.py AvgSmoothLoss ------------------------------------------------------
def smooth_run():
    losses = [2.5, 2.4, 2.6, 2.0, 1.9, 1.7, 1.75, 1.5]
    val, count, out = torch.tensor(0.), 0, []
    for loss in losses:
        count += 1
        val = torch.lerp(torch.tensor(loss), val, 0.98)
        out.append((val / (1 - 0.98 ** count)).item())
    return {'losses': losses, 'smoothed': out}


# --- fastai/callback/schedule.py valley ---------------------------------------------------
def valley(lrs, losses, num_it):
    n = len(losses)
    max_start, max_end = 0, 0
    lds = [1] * n
    for i in range(1, n):
        for j in range(0, i):
            if (losses[i] < losses[j]) and (lds[i] < lds[j] + 1):
                lds[i] = lds[j] + 1
            if lds[max_end] < lds[i]:
                max_end = i
                max_start = max_end - lds[max_end]
    sections = (max_end - max_start) / 3
    idx = max_start + int(sections) + int(sections / 2)
    return float(lrs[idx]), idx


def valley_runs():
    runs = []
    g = torch.Generator().manual_seed(1)
    curves = [
        [3.0, 2.9, 2.95, 2.7, 2.5, 2.6, 2.2, 1.9, 2.0, 1.5, 1.4, 2.5, 4.0],
        [1.0, 2.0],
        [2.0, 1.0, 3.0],
        [5.0, 4.0, 3.0, 2.0, 1.0],
        (torch.linspace(3, 1, 60) + 0.1 * torch.randn(60, generator=g)).tolist()
        + torch.linspace(1, 6, 20).tolist(),
    ]
    for losses in curves:
        lrs = [1e-7 * (10 / 1e-7) ** (i / len(losses)) for i in range(len(losses))]
        lr, idx = valley(lrs, losses, 100)
        runs.append({'losses': losses, 'lrs': lrs, 'lr': lr, 'index': idx})
    return runs


out = {'adam': adam_run(), 'smoothLoss': smooth_run(), 'valley': valley_runs()}
path = Path(__file__).resolve().parent.parent / 'fixtures' / 'train' / 'fastai-reference.json'
path.write_text(json.dumps(out, indent=1) + '\n')
print('wrote', path)
