"""fastbook ch. 12's LMModel7 on Human Numbers, in plain PyTorch (no fastai), as the reference for
ulmfit's human-numbers benchmark (src/bench/human-numbers.ts, fastai-spec §9.1).

Reproduces, step for step, what fastbook runs:

    learn = TextLearner(dls, LMModel7(len(vocab), 64, 2, 0.4),
                        loss_func=CrossEntropyLossFlat(), metrics=accuracy)
    learn.fit_one_cycle(15, 1e-2, wd=0.1)

- data: the words for 1..9999 joined with " . " (the generator of src/data/human-numbers.ts),
  cut into 16-token sequences, the first 80% of sequences for training; `group_chunks` batching
  (bs 64, drop_last, no shuffle) so row r of batch k+1 continues row r of batch k;
- model: Embedding(V, 64) (PyTorch default N(0, 1)), nn.LSTM(64, 64, 2, batch_first), element-wise
  nn.Dropout(p) on the LSTM output, Linear(64, V) whose weight is the embedding (tied; its bias
  keeps nn.Linear's default init); hidden state carried across batches and detached, reset
  (zeroed) before every training and validation pass (ModelResetter);
- loss: mean cross-entropy + AR alpha*mean(dropped_out^2) + TAR beta*mean((raw[:,1:]-raw[:,:-1])^2)
  in training only (RNNRegularizer as fastai 2.0/2.1, which fastbook ran);
- optimizer: fastai's Adam (decoupled wd first, then g_avg/s_avg with dampening, debiasing with the
  current mom, eps outside the sqrt), sqr_mom 0.99, eps 1e-5, wd 0.1 on every parameter except the
  Linear's bias (wd_bn_bias=False);
- schedule: fit_one_cycle (pct_start 0.25, div 25, div_final 1e5), moms (0.8, 0.7, 0.8) (TextLearner),
  updated before every training batch at pos = batches done / total batches.

Also usable for parity checks (`--dump-step FILE`): initial weights + one batch + loss/gradients/
weights after one Adam step, in JSON, with dropout off.

    .venv/bin/python tools/human_numbers_torch.py [--epochs 15] [--seed 42] [--p 0.4]
"""
import argparse
import json
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

ONES = ['', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'eleven', 'twelve',
        'thirteen', 'fourteen', 'fifteen', 'sixteen', 'seventeen', 'eighteen', 'nineteen']
TENS = ['', '', 'twenty', 'thirty', 'forty', 'fifty', 'sixty', 'seventy', 'eighty', 'ninety']


def number_to_words(n):
    words = []
    if n // 1000: words += [ONES[n // 1000], 'thousand']
    if (n % 1000) // 100: words += [ONES[(n % 1000) // 100], 'hundred']
    rest = n % 100
    if rest >= 20:
        words.append(TENS[rest // 10])
        if rest % 10: words.append(ONES[rest % 10])
    elif rest > 0:
        words.append(ONES[rest])
    return words


def human_numbers_tokens():
    """Same stream as humanNumbersTokens() (every number followed by '.')."""
    tokens = []
    for n in range(1, 10000): tokens += number_to_words(n) + ['.']
    return tokens


def group_chunks(seqs, bs):
    """fastbook's group_chunks: batch i row j = sequence i + m*j."""
    m = len(seqs) // bs
    return [[seqs[i + m * j] for j in range(bs)] for i in range(m)]


def make_batches(nums, sl, bs):
    seqs = [(nums[i:i + sl], nums[i + 1:i + sl + 1]) for i in range(0, len(nums) - sl - 1, sl)]
    cut = int(len(seqs) * 0.8)

    def to_batches(part):
        out = []
        for rows in group_chunks(part, bs):
            x = torch.tensor([r[0] for r in rows], dtype=torch.long)
            y = torch.tensor([r[1] for r in rows], dtype=torch.long)
            out.append((x, y))
        return out

    return to_batches(seqs[:cut]), to_batches(seqs[cut:])


def lm_batches(stream, bs, bptt):
    """fastai LMDataLoader over one document (what ulmfit's LmStream does): bs rows of
    bl = (len-1)//bs tokens, bptt columns per batch, the last batch shorter."""
    bl = (len(stream) - 1) // bs
    n = -(-bl // bptt)
    out = []
    for k in range(n):
        sl = bl - (n - 1) * bptt if k == n - 1 else bptt
        rows = [stream[r * bl + k * bptt: r * bl + k * bptt + sl + 1] for r in range(bs)]
        out.append((torch.tensor([t[:-1] for t in rows]), torch.tensor([t[1:] for t in rows])))
    return out


class LMModel7(nn.Module):
    def __init__(self, vocab_sz, n_hidden, n_layers, p, bs):
        super().__init__()
        self.i_h = nn.Embedding(vocab_sz, n_hidden)
        self.rnn = nn.LSTM(n_hidden, n_hidden, n_layers, batch_first=True)
        self.drop = nn.Dropout(p)
        self.h_o = nn.Linear(n_hidden, vocab_sz)
        self.h_o.weight = self.i_h.weight
        self.h = [torch.zeros(n_layers, bs, n_hidden) for _ in range(2)]

    def forward(self, x):
        raw, h = self.rnn(self.i_h(x), self.h)
        out = self.drop(raw)
        self.h = [h_.detach() for h_ in h]
        return self.h_o(out), raw, out

    def reset(self):
        for h in self.h: h.zero_()


def dropout_mask(x, size, p):
    """fastai dropout_mask: Bernoulli(1-p)/(1-p) of `size`."""
    return x.new_empty(*size).bernoulli_(1 - p).div_(1 - p)


class AwdLstmLM(nn.Module):
    """fastai's AWD_LSTM + tied LinearDecoder (awdlstm.py, spec §5) for comparison with ulmfit's
    src/model/awd-lstm.ts: EmbeddingDropout (whole words), RNNDropout (locked) on the input,
    between layers and before the decoder, WeightDropout on each weight_hh. Embedding U(-0.1, 0.1)
    (or N(0, 1) with emb_init='normal'), LSTMs PyTorch default, decoder bias 0."""

    def __init__(self, vocab_sz, emb, hid, n_layers, ps, bs, emb_init='uniform0.1'):
        super().__init__()
        self.embed_p, self.input_p, self.weight_p, self.hidden_p, self.output_p = ps
        self.encoder = nn.Embedding(vocab_sz, emb, padding_idx=1)
        if emb_init == 'uniform0.1':
            with torch.no_grad(): self.encoder.weight.uniform_(-0.1, 0.1)
        self.sizes = [(emb if l == 0 else hid, emb if l == n_layers - 1 else hid) for l in range(n_layers)]
        self.rnns = nn.ModuleList([nn.LSTM(i, o, 1, batch_first=True) for i, o in self.sizes])
        self.bias = nn.Parameter(torch.zeros(vocab_sz))
        self.bs = bs
        self.reset()

    def reset(self):
        self.hidden = [(torch.zeros(self.bs, o), torch.zeros(self.bs, o)) for _, o in self.sizes]

    def lstm(self, rnn, x, state, training):
        if not (training and self.weight_p > 0):  # no DropConnect: PyTorch's fused LSTM, same math
            out, (h, c) = rnn(x, (state[0][None], state[1][None]))
            return out, (h[0], c[0])
        w_hh = rnn.weight_hh_l0
        if training and self.weight_p > 0: w_hh = F.dropout(w_hh, self.weight_p, training=True)
        h, c = state
        proj = x @ rnn.weight_ih_l0.t() + rnn.bias_ih_l0 + rnn.bias_hh_l0
        outs = []
        for t in range(x.shape[1]):
            z = proj[:, t] + h @ w_hh.t()
            i, f, g, o = z.chunk(4, 1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            outs.append(h)
        return torch.stack(outs, 1), (h, c)

    def forward(self, inp):
        training = self.training
        w = self.encoder.weight
        if training and self.embed_p > 0: w = w * dropout_mask(w, (w.size(0), 1), self.embed_p)
        x = F.embedding(inp, w, padding_idx=1)
        if training and self.input_p > 0: x = x * dropout_mask(x, (x.size(0), 1, x.size(2)), self.input_p)
        new_hidden = []
        for l, rnn in enumerate(self.rnns):
            x, st = self.lstm(rnn, x, self.hidden[l], training)
            new_hidden.append(st)
            if l < len(self.rnns) - 1 and training and self.hidden_p > 0:
                x = x * dropout_mask(x, (x.size(0), 1, x.size(2)), self.hidden_p)
        self.hidden = [(h.detach(), c.detach()) for h, c in new_hidden]
        raw = x
        out = raw * dropout_mask(raw, (raw.size(0), 1, raw.size(2)), self.output_p) if training and self.output_p > 0 else raw
        return F.linear(out, self.encoder.weight, self.bias), raw, out


class FastaiAdam:
    """fastai Adam (optimizer.py): weight_decay, average_grad(dampening), average_sqr_grad, step_stat, adam_step."""

    def __init__(self, params, no_wd, sqr_mom=0.99, eps=1e-5, wd=0.1):
        self.params = list(params)
        self.no_wd = set(id(p) for p in no_wd)
        self.sqr_mom, self.eps, self.wd = sqr_mom, eps, wd
        self.lr, self.mom = 1e-3, 0.9
        self.state = {}

    @torch.no_grad()
    def step(self):
        lr, mom, sqr_mom, eps = self.lr, self.mom, self.sqr_mom, self.eps
        for p in self.params:
            if p.grad is None: continue
            if id(p) not in self.no_wd and self.wd != 0: p.mul_(1 - lr * self.wd)
            st = self.state.setdefault(id(p), {'grad_avg': torch.zeros_like(p), 'sqr_avg': torch.zeros_like(p), 'step': 0})
            st['grad_avg'].mul_(mom).add_(p.grad, alpha=1 - mom)
            st['sqr_avg'].mul_(sqr_mom).addcmul_(p.grad, p.grad, value=1 - sqr_mom)
            st['step'] += 1
            debias1 = 1 - mom ** st['step']
            debias2 = 1 - sqr_mom ** st['step']
            p.addcdiv_(st['grad_avg'], (st['sqr_avg'] / debias2).sqrt() + eps, value=-lr / debias1)

    def zero_grad(self):
        for p in self.params: p.grad = None


def sched_cos(start, end, pos):
    return start + (1 + math.cos(math.pi * (1 - pos))) * (end - start) / 2


def combined_cos(pct, start, middle, end):
    return lambda pos: sched_cos(start, middle, pos / pct) if pos < pct else sched_cos(middle, end, (pos - pct) / (1 - pct))


def reg_loss(logits, raw, out, y, alpha, beta):
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
    reported = loss.detach()
    if alpha: loss = loss + alpha * out.pow(2).mean()
    if beta and len(raw) > 1: loss = loss + beta * (raw[:, 1:] - raw[:, :-1]).pow(2).mean()
    return loss, reported


def validate(model, valid):
    model.eval()
    model.reset()
    tot_loss, correct, count = 0.0, 0, 0
    with torch.no_grad():
        for x, y in valid:
            logits, _, _ = model(x)
            flat = logits.reshape(-1, logits.shape[-1])
            tot_loss += F.cross_entropy(flat, y.reshape(-1)).item() * len(x)
            correct += (flat.argmax(-1) == y.reshape(-1)).sum().item()
            count += y.numel()
    return tot_loss / sum(len(x) for x, _ in valid), correct / count


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--epochs', type=int, default=15)
    ap.add_argument('--lr', type=float, default=1e-2)
    ap.add_argument('--wd', type=float, default=0.1)
    ap.add_argument('--p', type=float, default=0.4)
    ap.add_argument('--alpha', type=float, default=2.0)
    ap.add_argument('--beta', type=float, default=1.0)
    ap.add_argument('--moms', type=str, default='0.8,0.7,0.8')
    ap.add_argument('--seed', type=int, default=42)
    ap.add_argument('--bs', type=int, default=64)
    ap.add_argument('--sl', type=int, default=16)
    ap.add_argument('--hidden', type=int, default=64)
    ap.add_argument('--emb-init', choices=['normal', 'uniform0.1'], default=None,
                    help='normal = PyTorch nn.Embedding default (LMModel7 default); uniform0.1 = AWD-LSTM U(-0.1, 0.1) (awd default)')
    ap.add_argument('--arch', choices=['lmmodel7', 'awd'], default='lmmodel7')
    ap.add_argument('--ps', type=str, default='0.02,0.25,0.2,0.15,0.1',
                    help='awd: embed_p,input_p,weight_p,hidden_p,output_p before --drop-mult (fastai awd_lstm_lm_config)')
    ap.add_argument('--drop-mult', type=float, default=1.0)
    ap.add_argument('--specials', type=int, default=None,
                    help='unused vocab entries before the words (ulmfit: 9 specials + 1 xxfake = 10; default 10 for awd, 0 for lmmodel7)')
    ap.add_argument('--split', choices=['fastbook', 'ulmfit'], default='fastbook',
                    help="fastbook: 80%% of 16-token sequences, group_chunks (drop_last); ulmfit: the bench's "
                         "data exactly (80%% of tokens, each part one document ending in a newline token, LMDataLoader batches)")
    ap.add_argument('--threads', type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    tokens = human_numbers_tokens()
    awd = args.arch == 'awd'
    specials = args.specials if args.specials is not None else (10 if awd else 0)
    emb_init = args.emb_init or ('uniform0.1' if awd else 'normal')
    vocab = [f'xxspecial{i}' for i in range(specials)] + list(dict.fromkeys(tokens))
    word2idx = {w: i for i, w in enumerate(vocab)}
    nums = [word2idx[t] for t in tokens]
    if args.split == 'fastbook':
        train, valid = make_batches(nums, args.sl, args.bs)
    else:
        word2idx.setdefault('\n', len(word2idx))
        vocab = list(word2idx)
        cut = int(len(nums) * 0.8)
        train = lm_batches(nums[:cut] + [word2idx['\n']], args.bs, args.sl)
        valid = lm_batches(nums[cut:] + [word2idx['\n']], args.bs, args.sl)
    print(f'tokens {len(nums)}, vocab {len(vocab)}, train batches {len(train)}, valid batches {len(valid)}')

    if awd:
        ps = tuple(float(p) * args.drop_mult for p in args.ps.split(','))
        model = AwdLstmLM(len(vocab), args.hidden, args.hidden, 2, ps, args.bs, emb_init)
        opt = FastaiAdam(model.parameters(), no_wd=[model.bias], wd=args.wd)
    else:
        model = LMModel7(len(vocab), args.hidden, 2, args.p, args.bs)
        if emb_init == 'uniform0.1':
            with torch.no_grad(): model.i_h.weight.uniform_(-0.1, 0.1)
        opt = FastaiAdam(model.parameters(), no_wd=[model.h_o.bias], wd=args.wd)
    moms = [float(m) for m in args.moms.split(',')]
    lr_sched = combined_cos(0.25, args.lr / 25, args.lr, args.lr / 1e5)
    mom_sched = combined_cos(0.25, *moms)
    total = args.epochs * len(train)
    it = 0
    started = time.time()
    acc = None
    smooth, n = 0.0, 0  # fastai AvgSmoothLoss: reset before fit, carried across epochs
    for epoch in range(args.epochs):
        model.train()
        model.reset()
        for x, y in train:
            pos = it / total
            opt.lr, opt.mom = lr_sched(pos), mom_sched(pos)
            logits, raw, out = model(x)
            loss, reported = reg_loss(logits, raw, out, y, args.alpha, args.beta)
            opt.zero_grad()
            loss.backward()
            opt.step()
            it += 1
            n += 1
            smooth = 0.98 * smooth + 0.02 * reported.item()
        train_loss = smooth / (1 - 0.98 ** n)
        vloss, acc = validate(model, valid)
        print(f'epoch {epoch + 1}: train {train_loss:.4f} valid {vloss:.4f} accuracy {acc:.4f}', flush=True)
    print(f'final valid accuracy {acc:.4f} (fastbook LMModel7: 0.8694) in {time.time() - started:.0f} s')
    print('BENCH ' + json.dumps({'name': f'human-numbers-torch-{args.arch}', 'accuracy': acc, 'epochs': args.epochs,
                                 'seed': args.seed, 'p': args.p, 'ps': args.ps if awd else None,
                                 'drop_mult': args.drop_mult if awd else None, 'emb_init': emb_init}))


if __name__ == '__main__':
    main()
