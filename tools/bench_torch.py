#!/usr/bin/env python3
"""PyTorch reference for `ulmfit bench`: the same AWD-LSTM language-model work, timed the same way.

A training step is fastai's: embedding dropout (whole words), locked input/hidden dropout,
DropConnect on each hidden-to-hidden matrix (resampled every forward), output dropout, a decoder
tied to the embedding, cross-entropy + AR (alpha 2) + TAR (beta 1), backward, AdamW step
(betas (0.8, 0.99), eps 1e-5, decoupled weight decay 0.01). Inference is an eval-mode forward
pass (no dropout) with the decoder. Inputs are random token ids; hidden state is carried and
detached between batches, as truncated BPTT does.

Run with the venv from tools/setup_torch_venv.sh:
  .venv/bin/python tools/bench_torch.py --threads 1 --vocab 10000 --emb 200 --hidden 600
Prints one JSON object: {"train_tokens_per_s", "infer_tokens_per_s", "torch", "threads", "config"}, and on
Linux "train_cpu_ms": per timed training step, the ms all of the process's threads spent on a CPU and
waiting for one (from /proc/self/task/*/schedstat; the waiting shows the machine's other load).
"""
import argparse
import glob
import json
import time

import torch
import torch.nn.functional as F


def locked_mask(x, p):
    """RNNDropout: one mask per sequence, shared over time. x: [bs, sl, n]."""
    if p == 0:
        return x
    m = x.new_empty(x.size(0), 1, x.size(2)).bernoulli_(1 - p) / (1 - p)
    return x * m


class AwdLstmLM(torch.nn.Module):
    def __init__(self, vocab, emb, hidden, layers, p):
        super().__init__()
        self.p = p
        self.encoder = torch.nn.Embedding(vocab, emb, padding_idx=1)
        self.encoder.weight.data.uniform_(-0.1, 0.1)
        self.w_ih, self.w_hh, self.b_ih, self.b_hh = (torch.nn.ParameterList() for _ in range(4))
        self.sizes = []
        for layer in range(layers):
            n_in = emb if layer == 0 else hidden
            n_out = emb if layer == layers - 1 else hidden
            k = 1 / n_out ** 0.5
            self.w_ih.append(torch.nn.Parameter(torch.empty(4 * n_out, n_in).uniform_(-k, k)))
            self.w_hh.append(torch.nn.Parameter(torch.empty(4 * n_out, n_out).uniform_(-k, k)))
            self.b_ih.append(torch.nn.Parameter(torch.empty(4 * n_out).uniform_(-k, k)))
            self.b_hh.append(torch.nn.Parameter(torch.empty(4 * n_out).uniform_(-k, k)))
            self.sizes.append(n_out)
        self.dec_bias = torch.nn.Parameter(torch.zeros(vocab))
        self.hidden = None

    def reset(self, bs):
        self.hidden = [(torch.zeros(1, bs, n), torch.zeros(1, bs, n)) for n in self.sizes]

    def forward(self, ids):
        p = self.p if self.training else dict.fromkeys(self.p, 0.0)
        w = self.encoder.weight
        if self.training and p['embed'] > 0:
            mask = w.new_empty(w.size(0), 1).bernoulli_(1 - p['embed']) / (1 - p['embed'])
            w = w * mask
        x = locked_mask(F.embedding(ids, w, padding_idx=1), p['input'])
        new_hidden = []
        for layer in range(len(self.sizes)):
            w_hh = F.dropout(self.w_hh[layer], p['weight'], training=self.training)
            weights = [self.w_ih[layer], w_hh, self.b_ih[layer], self.b_hh[layer]]
            # The same fused kernel nn.LSTM calls, with the DropConnect'ed recurrent weight.
            x, h, c = torch._VF.lstm(x, self.hidden[layer], weights, True, 1, 0.0, self.training, False, True)
            new_hidden.append((h.detach(), c.detach()))
            raw = x
            if layer < len(self.sizes) - 1:
                x = locked_mask(x, p['hidden'])
        self.hidden = new_hidden
        dropped = locked_mask(raw, p['output'])
        logits = F.linear(dropped, self.encoder.weight, self.dec_bias)
        return logits, raw, dropped


def cpu_clock():
    """(ms on a CPU, ms runnable but waiting for one) summed over this process's threads; None off Linux."""
    run = wait = 0
    paths = glob.glob('/proc/self/task/*/schedstat')
    if not paths:
        return None
    for path in paths:
        try:
            with open(path) as f:
                fields = f.read().split()
        except OSError:
            continue  # a thread that ended meanwhile
        run += int(fields[0])
        wait += int(fields[1])
    return run / 1e6, wait / 1e6


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--vocab', type=int, default=10000)
    ap.add_argument('--emb', type=int, default=200)
    ap.add_argument('--hidden', type=int, default=600)
    ap.add_argument('--layers', type=int, default=3)
    ap.add_argument('--bs', type=int, default=32)
    ap.add_argument('--bptt', type=int, default=72)
    ap.add_argument('--steps', type=int, default=10)
    ap.add_argument('--warmup', type=int, default=2)
    ap.add_argument('--threads', type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    # fastai's awd_lstm_lm_config dropouts (drop_mult 1).
    p = dict(embed=0.02, input=0.25, weight=0.2, hidden=0.15, output=0.1)
    model = AwdLstmLM(args.vocab, args.emb, args.hidden, args.layers, p)
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        (no_decay if name == 'dec_bias' else decay).append(param)
    opt = torch.optim.AdamW([{'params': decay, 'weight_decay': 0.01}, {'params': no_decay, 'weight_decay': 0.0}],
                            lr=1e-3, betas=(0.8, 0.99), eps=1e-5)
    tokens = args.bs * args.bptt

    def batch():
        return torch.randint(0, args.vocab, (args.bs, args.bptt + 1))

    model.train()
    model.reset(args.bs)
    for step in range(args.warmup + args.steps):
        if step == args.warmup:
            start = time.perf_counter()
            clock_start = cpu_clock()
        b = batch()
        logits, raw, dropped = model(b[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, args.vocab), b[:, 1:].reshape(-1))
        loss = loss + 2.0 * dropped.pow(2).mean() + 1.0 * (raw[:, 1:] - raw[:, :-1]).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    train_tps = tokens * args.steps / (time.perf_counter() - start)
    clock_end = cpu_clock()
    train_cpu = None
    if clock_start is not None and clock_end is not None:
        train_cpu = {'on_cpu': round((clock_end[0] - clock_start[0]) / args.steps),
                     'waiting': round((clock_end[1] - clock_start[1]) / args.steps)}

    model.eval()
    model.reset(args.bs)
    with torch.no_grad():
        for step in range(args.warmup + args.steps):
            if step == args.warmup:
                start = time.perf_counter()
            model(batch()[:, :-1])
    infer_tps = tokens * args.steps / (time.perf_counter() - start)
    print(json.dumps({
        'train_tokens_per_s': round(train_tps, 1),
        'infer_tokens_per_s': round(infer_tps, 1),
        'torch': torch.__version__,
        'threads': args.threads,
        **({'train_cpu_ms': train_cpu} if train_cpu is not None else {}),
        'config': {k: getattr(args, k) for k in ('vocab', 'emb', 'hidden', 'layers', 'bs', 'bptt', 'steps')},
    }))


if __name__ == '__main__':
    main()
