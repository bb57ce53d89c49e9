"""Reference for test/train/lm-fit-parity.test.ts: one epoch of fastai-style language-model
training of a tiny AWD-LSTM in PyTorch (float64), with every dropout off so the numbers are
deterministic: LMDataLoader geometry (spec §3, shorter last batch), state carried and detached
across batches, CE + AR (alpha 2) + TAR (beta 1), fastai Adam with decoupled wd 0.1 (not on the
decoder bias), fit_one_cycle(1, 1e-2) with moms (0.8, 0.7, 0.8), then a validation pass.

Writes fixtures/train/lm-fit-reference.json: the initial weights (fastai state-dict names), the
token streams, the loss and gradients of the first batch, every batch's loss (CE + AR + TAR and CE
alone), the weights after the epoch and the validation loss/accuracy.

Run: .venv/bin/python tools/lm_fit_reference.py
"""
import json
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from human_numbers_torch import AwdLstmLM, FastaiAdam, combined_cos, reg_loss  # noqa: E402

torch.set_default_dtype(torch.float64)
torch.manual_seed(7)

VOCAB, EMB, HID, LAYERS, BS, BPTT = 11, 5, 7, 2, 3, 4
LR, WD, ALPHA, BETA = 1e-2, 0.1, 2.0, 1.0


def lm_batches(stream, bs, bptt):
    """fastai LMDataLoader over one document: bs rows of bl tokens, bptt columns per batch."""
    corpus = (len(stream) - 1) // bs * bs
    bl = corpus // bs
    n = -(-bl // bptt)
    out = []
    for k in range(n):
        sl = bl - (n - 1) * bptt if k == n - 1 else bptt
        rows = [stream[r * bl + k * bptt: r * bl + k * bptt + sl + 1] for r in range(bs)]
        out.append((torch.tensor([t[:-1] for t in rows]), torch.tensor([t[1:] for t in rows])))
    return out


def state_dict(model):
    """Our (fastai) names -> tensors."""
    d = {'0.encoder.weight': model.encoder.weight}
    for l, rnn in enumerate(model.rnns):
        d[f'0.rnns.{l}.weight_hh_l0_raw'] = rnn.weight_hh_l0
        d[f'0.rnns.{l}.module.weight_ih_l0'] = rnn.weight_ih_l0
        d[f'0.rnns.{l}.module.bias_ih_l0'] = rnn.bias_ih_l0
        d[f'0.rnns.{l}.module.bias_hh_l0'] = rnn.bias_hh_l0
    d['1.decoder.bias'] = model.bias
    return d


def dump(tensors, grad=False):
    return {k: {'shape': list(v.shape), 'data': (v.grad if grad else v).detach().flatten().tolist()} for k, v in tensors.items()}


g = torch.Generator().manual_seed(3)
train_stream = torch.randint(2, VOCAB, (3 * 23 + 2,), generator=g).tolist()  # 71 tokens: bl 23, batches 4,4,4,4,4,3
valid_stream = torch.randint(2, VOCAB, (3 * 9 + 1,), generator=g).tolist()
train, valid = lm_batches(train_stream, BS, BPTT), lm_batches(valid_stream, BS, BPTT)

model = AwdLstmLM(VOCAB, EMB, HID, LAYERS, (0, 0, 0, 0, 0), BS)
with torch.no_grad():
    model.bias.uniform_(-0.1, 0.1)  # a non-zero decoder bias, so its gradient and no-wd are visible
init = dump(state_dict(model))

# First batch alone: loss and gradients.
model.train()
model.reset()
logits, raw, out = model(train[0][0])
loss, ce = reg_loss(logits, raw, out, train[0][1], ALPHA, BETA)
loss.backward()
first = {'loss': loss.item(), 'ce': ce.item(), 'grads': dump(state_dict(model), grad=True)}

# One epoch of fit_one_cycle from the same initial weights.
for p in model.parameters(): p.grad = None
opt = FastaiAdam(model.parameters(), no_wd=[model.bias], wd=WD)
lr_sched = combined_cos(0.25, LR / 25, LR, LR / 1e5)
mom_sched = combined_cos(0.25, 0.8, 0.7, 0.8)
model.reset()
losses, ces, hypers = [], [], []
for i, (x, y) in enumerate(train):
    pos = i / len(train)
    opt.lr, opt.mom = lr_sched(pos), mom_sched(pos)
    logits, raw, out = model(x)
    loss, ce = reg_loss(logits, raw, out, y, ALPHA, BETA)
    opt.zero_grad()
    loss.backward()
    opt.step()
    losses.append(loss.item())
    ces.append(ce.item())
    hypers.append({'lr': opt.lr, 'mom': opt.mom})

model.eval()
model.reset()
tot, correct, count = 0.0, 0, 0
with torch.no_grad():
    for x, y in valid:
        logits, _, _ = model(x)
        flat = logits.reshape(-1, VOCAB)
        tot += F.cross_entropy(flat, y.reshape(-1)).item() * len(x)
        correct += (flat.argmax(-1) == y.reshape(-1)).sum().item()
        count += y.numel()

ref = {
    'config': {'vocab': VOCAB, 'emb_sz': EMB, 'n_hid': HID, 'n_layers': LAYERS, 'bs': BS, 'bptt': BPTT,
               'lr': LR, 'wd': WD, 'alpha': ALPHA, 'beta': BETA},
    'train_stream': train_stream, 'valid_stream': valid_stream,
    'init': init, 'first_batch': first,
    'fit': {'losses': losses, 'ce': ces, 'hypers': hypers, 'final': dump(state_dict(model)),
            'valid_loss': tot / (len(valid) * BS), 'valid_accuracy': correct / count},
}
path = Path(__file__).resolve().parent.parent / 'fixtures' / 'train' / 'lm-fit-reference.json'
path.write_text(json.dumps(ref) + '\n')
print('wrote', path, 'batches', len(train), 'losses', [round(v, 4) for v in losses])
