"""PyTorch reference for the AWD-LSTM language model: fastai's modules (fastai/text/models/awdlstm.py
and core.py) transcribed in plain torch (fastai is not installed here), with fastai's exact
state-dict names. Trains a tiny model briefly on a synthetic sequence (so its predictions are
confident and greedy decoding has clear winners), then writes into fixtures/fastai/:

  lm_weights.json       unique tensors as {name: {shape, data}} + config (no .pth reader needed)
  lm_v2_zip.pth         the LM state dict, fastai v2 layout, torch zip format
  lm_v2_legacy.pth      the same, legacy (pre-1.6, non-zip) format
  lm_v1_zip.pth         fastai v1 layout (extra rnns.l.module.weight_hh_l0 = a weight-dropped copy)
  lm_v1_legacy.pth      the same, legacy format
  itos.pkl              the vocabulary, a pickled list[str]
  reference.json        eval-mode logits and greedy continuations

Run: .venv/bin/python tools/make_fastai_reference.py
"""
import json
import pickle
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = Path(__file__).resolve().parent.parent / 'fixtures' / 'fastai'
SPECIALS = ['xxunk', 'xxpad', 'xxbos', 'xxeos', 'xxfld', 'xxrep', 'xxwrep', 'xxup', 'xxmaj']
WORDS = ['the', 'a', 'cat', 'dog', 'sat', 'ran', 'on', 'under', 'mat', 'rug', 'and', 'then',
         'slept', 'ate', 'fish', 'bone', '.', ',', 'big', 'small', 'red', 'blue', 'xxfake']
ITOS = SPECIALS + WORDS  # 32 tokens
CONFIG = dict(emb_sz=8, n_hid=12, n_layers=3, pad_token=1, hidden_p=0.15, input_p=0.25,
              embed_p=0.02, weight_p=0.2, output_p=0.1, tie_weights=True, out_bias=True)
TRAIN_DROP_MULT = 0.2
TRAIN_STEPS = 600


# --- fastai/text/models/awdlstm.py ----------------------------------------------------------
def dropout_mask(x, sz, p):
    return x.new_empty(*sz).bernoulli_(1 - p).div_(1 - p)


class RNNDropout(nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        self.p = p

    def forward(self, x):
        if not self.training or self.p == 0.: return x
        return x * dropout_mask(x.data, (x.size(0), 1, *x.shape[2:]), self.p)


class LSTMCore(nn.Module):
    """nn.LSTM(batch_first=True, 1 layer) with the same parameter names, as an explicit loop: the
    weight_hh_l0 attribute is set by WeightDropout before each call, as fastai does with nn.LSTM."""

    def __init__(self, lstm: nn.LSTM):
        super().__init__()
        self.hidden_size = lstm.hidden_size
        self.weight_ih_l0 = nn.Parameter(lstm.weight_ih_l0.data.clone())
        self.weight_hh_l0 = lstm.weight_hh_l0.data.clone()  # plain attribute, not a parameter
        self.bias_ih_l0 = nn.Parameter(lstm.bias_ih_l0.data.clone())
        self.bias_hh_l0 = nn.Parameter(lstm.bias_hh_l0.data.clone())

    def forward(self, x, hidden):
        h, c = hidden[0][0], hidden[1][0]
        outs = []
        for t in range(x.shape[1]):
            z = x[:, t] @ self.weight_ih_l0.T + self.bias_ih_l0 + h @ self.weight_hh_l0.T + self.bias_hh_l0
            i, f, g, o = z.chunk(4, dim=1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            outs.append(h)
        return torch.stack(outs, dim=1), (h[None], c[None])


class WeightDropout(nn.Module):
    def __init__(self, module, weight_p):
        super().__init__()
        self.module, self.weight_p = module, weight_p
        self.register_parameter('weight_hh_l0_raw', nn.Parameter(module.weight_hh_l0.clone()))

    def forward(self, *args):
        raw = self.weight_hh_l0_raw
        self.module.weight_hh_l0 = F.dropout(raw, p=self.weight_p) if self.training else raw.clone()
        return self.module(*args)


class EmbeddingDropout(nn.Module):
    def __init__(self, emb, embed_p):
        super().__init__()
        self.emb, self.embed_p = emb, embed_p

    def forward(self, words):
        if self.training and self.embed_p != 0:
            mask = dropout_mask(self.emb.weight.data, (self.emb.weight.size(0), 1), self.embed_p)
            masked_embed = self.emb.weight * mask
        else:
            masked_embed = self.emb.weight
        return F.embedding(words, masked_embed, self.emb.padding_idx)


class AWD_LSTM(nn.Module):
    def __init__(self, vocab_sz, emb_sz, n_hid, n_layers, pad_token=1, hidden_p=0.2, input_p=0.6,
                 embed_p=0.1, weight_p=0.5):
        super().__init__()
        self.emb_sz, self.n_hid, self.n_layers, self.bs = emb_sz, n_hid, n_layers, 1
        self.encoder = nn.Embedding(vocab_sz, emb_sz, padding_idx=pad_token)
        self.encoder_dp = EmbeddingDropout(self.encoder, embed_p)
        self.rnns = nn.ModuleList([
            WeightDropout(LSTMCore(nn.LSTM(emb_sz if l == 0 else n_hid, n_hid if l != n_layers - 1 else emb_sz,
                                           1, batch_first=True)), weight_p)
            for l in range(n_layers)])
        self.encoder.weight.data.uniform_(-0.1, 0.1)
        self.input_dp = RNNDropout(input_p)
        self.hidden_dps = nn.ModuleList([RNNDropout(hidden_p) for _ in range(n_layers)])
        self.reset()

    def forward(self, inp):
        bs, sl = inp.shape
        if bs != self.bs: self.bs = bs; self.reset()
        output = self.input_dp(self.encoder_dp(inp))
        new_hidden = []
        for l, (rnn, hid_dp) in enumerate(zip(self.rnns, self.hidden_dps)):
            output, new_h = rnn(output, self.hidden[l])
            new_hidden.append(new_h)
            if l != self.n_layers - 1: output = hid_dp(output)
        self.hidden = [(h.detach(), c.detach()) for h, c in new_hidden]
        return output

    def reset(self):
        nh = lambda l: self.n_hid if l != self.n_layers - 1 else self.emb_sz
        self.hidden = [(torch.zeros(1, self.bs, nh(l)), torch.zeros(1, self.bs, nh(l))) for l in range(self.n_layers)]


# --- fastai/text/models/core.py ---------------------------------------------------------------
class LinearDecoder(nn.Module):
    def __init__(self, n_out, n_hid, output_p=0.1, tie_encoder=None, bias=True):
        super().__init__()
        self.decoder = nn.Linear(n_hid, n_out, bias=bias)
        self.decoder.weight.data.uniform_(-0.1, 0.1)
        self.output_dp = RNNDropout(output_p)
        if bias: self.decoder.bias.data.zero_()
        if tie_encoder: self.decoder.weight = tie_encoder.weight

    def forward(self, input):
        dp_inp = self.output_dp(input)
        return self.decoder(dp_inp), input, dp_inp


class SequentialRNN(nn.Sequential):
    def reset(self):
        for c in self.children():
            if hasattr(c, 'reset'): c.reset()


def get_language_model(vocab_sz, config, drop_mult=1.):
    config = dict(config)
    for k in config:
        if k.endswith('_p'): config[k] *= drop_mult
    tie_weights, output_p, out_bias = map(config.pop, ['tie_weights', 'output_p', 'out_bias'])
    encoder = AWD_LSTM(vocab_sz, **config)
    decoder = LinearDecoder(vocab_sz, config['emb_sz'], output_p, tie_encoder=encoder.encoder if tie_weights else None,
                            bias=out_bias)
    return SequentialRNN(encoder, decoder)


# --- data and training ---------------------------------------------------------------------------
def synthetic_stream(n_tokens, gen):
    """Sentences from a tiny grammar: xxbos the (big|small)? (cat|dog) (sat|ran) (on|under) the (mat|rug) ."""
    s = {w: i for i, w in enumerate(ITOS)}
    out = []
    while len(out) < n_tokens:
        pick = lambda *ws: ws[int(torch.randint(len(ws), (1,), generator=gen))]
        sent = ['xxbos', 'the']
        if torch.rand(1, generator=gen) < 0.5: sent.append(pick('big', 'small'))
        animal = pick('cat', 'dog')
        sent += [animal, 'sat' if animal == 'cat' else 'ran', pick('on', 'under'), 'the',
                 'mat' if animal == 'cat' else 'rug', '.']
        out += [s[w] for w in sent]
    return torch.tensor(out[:n_tokens])


def train(model, steps=TRAIN_STEPS, bs=8, bptt=12):
    gen = torch.Generator().manual_seed(1)
    stream = synthetic_stream(bs * (bptt * 20 + 1), gen)
    rows = stream[: bs * (len(stream) // bs)].view(bs, -1)
    opt = torch.optim.Adam(model.parameters(), lr=2e-2)
    model.train()
    step = 0
    while step < steps:
        model.reset()
        for i in range(0, rows.shape[1] - 1 - bptt, bptt):
            x, y = rows[:, i:i + bptt], rows[:, i + 1:i + 1 + bptt]
            logits, raw, dp = model(x)
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
            loss = loss + 2 * dp.pow(2).mean() + 1 * (raw[:, 1:] - raw[:, :-1]).pow(2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            if step >= steps: break
    return float(loss.detach())


# --- reference outputs --------------------------------------------------------------------------
@torch.no_grad()
def logits_of(model, ids):
    model.eval()
    model.reset()
    return model(torch.tensor([ids]))[0][0]


@torch.no_grad()
def greedy(model, prompt, n_words=10):
    """fastai LMLearner.predict with argmax instead of sampling: reset and re-feed everything each step."""
    ids, margins = list(prompt), []
    for _ in range(n_words):
        last = logits_of(model, ids)[-1]
        top2 = torch.topk(last, 2).values
        margins.append(float(top2[0] - top2[1]))
        ids.append(int(last.argmax()))
    return ids[len(prompt):], min(margins)


def floats(t):
    return [float(v) for v in t.detach().reshape(-1).to(torch.float32).tolist()]


def v1_state_dict(sd, n_layers, gen):
    """fastai v1 layout: each layer also saved its last weight-dropped module.weight_hh_l0."""
    out = type(sd)()
    for k, v in sd.items():
        out[k] = v
        for l in range(n_layers):
            if k == f'0.rnns.{l}.module.weight_ih_l0':
                raw = sd[f'0.rnns.{l}.weight_hh_l0_raw']
                keep = (torch.rand(raw.shape, generator=gen) >= 0.2).float() / 0.8
                out[f'0.rnns.{l}.module.weight_hh_l0'] = raw * keep
    return out


def main():
    torch.set_num_threads(1)
    torch.manual_seed(0)
    OUT.mkdir(parents=True, exist_ok=True)
    model = get_language_model(len(ITOS), CONFIG, drop_mult=TRAIN_DROP_MULT)
    final_loss = train(model)

    # Cross-check the explicit LSTM loop against torch.nn.LSTM with the same weights.
    core = model[0].rnns[0].module
    ref = nn.LSTM(core.weight_ih_l0.shape[1], core.hidden_size, 1, batch_first=True)
    with torch.no_grad():
        ref.weight_ih_l0.copy_(core.weight_ih_l0); ref.weight_hh_l0.copy_(model[0].rnns[0].weight_hh_l0_raw)
        ref.bias_ih_l0.copy_(core.bias_ih_l0); ref.bias_hh_l0.copy_(core.bias_hh_l0)
        x = torch.randn(2, 5, core.weight_ih_l0.shape[1])
        h0 = (torch.zeros(1, 2, core.hidden_size), torch.zeros(1, 2, core.hidden_size))
        core.weight_hh_l0 = model[0].rnns[0].weight_hh_l0_raw.clone()
        assert torch.allclose(core(x, h0)[0], ref(x, h0)[0], atol=1e-6)

    sd = model.state_dict()
    names = list(sd.keys())
    # fastai v2 LM state dict: 14 encoder entries + decoder weight and bias.
    assert names[:3] == ['0.encoder.weight', '0.encoder_dp.emb.weight', '0.rnns.0.weight_hh_l0_raw'], names
    assert names[-2:] == ['1.decoder.weight', '1.decoder.bias'], names
    unique = [n for n in names if n not in ('0.encoder_dp.emb.weight', '1.decoder.weight')]

    config = dict(CONFIG, vocab_sz=len(ITOS))
    (OUT / 'lm_weights.json').write_text(json.dumps({
        'config': config,
        'note': 'tied copies 0.encoder_dp.emb.weight and 1.decoder.weight equal 0.encoder.weight',
        'tensors': {n: {'shape': list(sd[n].shape), 'data': floats(sd[n])} for n in unique},
    }, separators=(',', ':')))

    # As fastai's learn.save writes it: an OrderedDict whose three tied entries share one storage.
    plain = sd
    torch.save(plain, OUT / 'lm_v2_zip.pth')
    torch.save(plain, OUT / 'lm_v2_legacy.pth', _use_new_zipfile_serialization=False)
    v1 = v1_state_dict(plain, CONFIG['n_layers'], torch.Generator().manual_seed(2))
    torch.save(v1, OUT / 'lm_v1_zip.pth')
    torch.save(v1, OUT / 'lm_v1_legacy.pth', _use_new_zipfile_serialization=False)
    with open(OUT / 'itos.pkl', 'wb') as f:
        pickle.dump(ITOS, f, protocol=2)

    s = {w: i for i, w in enumerate(ITOS)}
    enc = lambda text: [s[w] for w in text.split()]
    sequences = [enc('xxbos the cat'), enc('xxbos the big dog ran under'), enc('xxbos the small cat sat on the mat . xxbos')]
    prompts = [enc('xxbos the'), enc('xxbos the dog'), enc('xxbos the small cat sat')]
    greedy_out = []
    for p in prompts:
        tokens, margin = greedy(model, p)
        assert margin > 1e-3, f'greedy margin too small for a stable fixture: {margin}'
        greedy_out.append({'prompt': p, 'tokens': tokens, 'min_margin': margin,
                           'text': ' '.join(ITOS[i] for i in p + tokens)})
    full = sequences[1]
    reference = {
        'torch_version': torch.__version__,
        'config': config,
        'train': {'steps': TRAIN_STEPS, 'drop_mult': TRAIN_DROP_MULT, 'final_loss': final_loss},
        'last_logits': [{'ids': ids, 'logits': floats(logits_of(model, ids)[-1])} for ids in sequences],
        'all_logits': {'ids': full, 'logits': [floats(row) for row in logits_of(model, full)]},
        'greedy': greedy_out,
    }
    (OUT / 'reference.json').write_text(json.dumps(reference, indent=1))
    total = sum(p.stat().st_size for p in OUT.iterdir())
    print(f'final train loss {final_loss:.3f}; wrote {OUT} ({total} bytes)')
    for g in greedy_out: print(' ', g['text'], f"(margin {g['min_margin']:.3f})")


if __name__ == '__main__':
    main()
