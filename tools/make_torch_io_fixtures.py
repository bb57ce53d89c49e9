#!/usr/bin/env python3
"""Builds the small PyTorch checkpoint fixtures that test/io/torch-pth.test.ts reads, and checks
that PyTorch can load a state dict written by ulmfit's own writer.

    .venv/bin/python tools/make_torch_io_fixtures.py            # writes fixtures/torch/
    .venv/bin/python tools/make_torch_io_fixtures.py --verify-writer
    .venv/bin/python tools/make_torch_io_fixtures.py --verify-export
        # after npm run build: `ulmfit import-fastai` the v1 fixture, `ulmfit export-fastai` it
        # (LM v2, LM v1, encoder) and load the results into a PyTorch replica of fastai's AWD-LSTM
        # module tree: strictly by name (load_encoder) and position by position (load_pretrained).
    PYTHONPATH=<dir with the safetensors wheel> ... --safetensors
        # writes fixtures/torch/reference.safetensors with the safetensors library, and checks that
        # the library reads a file written by ulmfit (tools/write_safetensors_sample.mjs).
        # builds dist/ first (npm run build), then: node writes a .pth with writeTorchZip and
        # torch.load(weights_only=True) must read back exactly the tensors in expected.json.

Tests never run this script; they read the committed outputs. Keep the files tiny.
"""
import collections
import io
import json
import os
import pickle
import subprocess
import sys
import tempfile

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, 'fixtures', 'torch')


def tensors():
    """Every layout the reader must handle, in one ordered state dict."""
    g = torch.Generator().manual_seed(0)
    sd = collections.OrderedDict()
    sd['f32'] = torch.randn(2, 3, generator=g)
    # Values chosen to be exact in float16, including a subnormal, a negative zero and infinity.
    sd['f16'] = torch.tensor([1.5, -2.25, 6.0e-8, 65504.0, -0.0, float('inf')], dtype=torch.float16)
    sd['i64'] = torch.tensor([[0, -1, 2147483647], [-2147483648, 7, 42]], dtype=torch.int64)
    base = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    sd['transposed'] = base.t()                      # shape [4, 3], stride (1, 4): not contiguous
    long_vec = torch.arange(10, dtype=torch.float32) * 0.5
    sd['offset_view'] = long_vec[3:7]                # storage offset 3
    shared = torch.randn(2, 5, generator=g)
    sd['shared_a'] = shared[0]                       # both rows live in one storage
    sd['shared_b'] = shared[1]                       # storage offset 5
    sd['scalar'] = torch.tensor(3.25)                # 0-d
    sd['empty'] = torch.zeros(0, 4)
    sd['f64'] = torch.tensor([0.1, -1e-3], dtype=torch.float64)
    sd['i32'] = torch.tensor([5, -6], dtype=torch.int32)
    return sd


def fastai_like_v1_lm(vocab=8, emb=4, hid=6, layers=2):
    """A tiny state dict with fastai v1's AWD-LSTM LM names and order (what WT103's lstm_fwd.pth
    holds): tied decoder and embedding-dropout copies share the embedding's storage, and each
    layer carries v1's duplicate module.weight_hh_l0."""
    g = torch.Generator().manual_seed(1)
    emb_w = torch.rand(vocab, emb, generator=g) * 0.2 - 0.1
    sd = collections.OrderedDict([('0.encoder.weight', emb_w), ('0.encoder_dp.emb.weight', emb_w)])
    for l in range(layers):
        n_in = emb if l == 0 else hid
        n_out = emb if l == layers - 1 else hid
        raw = torch.randn(4 * n_out, n_out, generator=g)
        sd[f'0.rnns.{l}.weight_hh_l0_raw'] = raw
        sd[f'0.rnns.{l}.module.weight_ih_l0'] = torch.randn(4 * n_out, n_in, generator=g)
        sd[f'0.rnns.{l}.module.weight_hh_l0'] = raw.clone() * 0.5  # a dropped-out copy in v1
        sd[f'0.rnns.{l}.module.bias_ih_l0'] = torch.randn(4 * n_out, generator=g)
        sd[f'0.rnns.{l}.module.bias_hh_l0'] = torch.randn(4 * n_out, generator=g)
    sd['1.decoder.weight'] = emb_w
    sd['1.decoder.bias'] = torch.randn(vocab, generator=g)
    return sd


def expected_json(sd):
    out = collections.OrderedDict()
    for k, t in sd.items():
        if t.is_floating_point():
            dtype, values = 'float32', t.to(torch.float32).reshape(-1).tolist()
            values = [v if v not in (float('inf'), float('-inf')) else ('inf' if v > 0 else '-inf')
                      for v in values]
            # -0.0 survives JSON as -0.0 in Python's json; keep the sign visible.
        else:
            dtype, values = 'int32', t.reshape(-1).tolist()
        out[k] = {'dtype': dtype, 'shape': list(t.shape), 'values': values,
                  'source_dtype': str(t.dtype).replace('torch.', '')}
    return out


def save_zip_to_buffer(obj):
    buf = io.BytesIO()
    torch.save(obj, buf)  # a file object: the top folder is 'archive'
    return buf.getvalue()


def write(name, data):
    with open(os.path.join(OUT, name), 'wb') as f:
        f.write(data)


def make():
    os.makedirs(OUT, exist_ok=True)
    sd = tensors()
    write('tensors_zip_archive.pth', save_zip_to_buffer(sd))
    # Saved to a path, torch names the top folder after the file: 'tensors_zip_named/...'.
    torch.save(sd, os.path.join(OUT, 'tensors_zip_named.pth'))
    torch.save(sd, os.path.join(OUT, 'tensors_legacy.pth'), _use_new_zipfile_serialization=False)
    # fastai's learn.save(with_opt=True) layout: {'model': state_dict, 'opt': {...}} with
    # non-tensor values around the tensors.
    wrapped = {'model': collections.OrderedDict([('w', sd['f32']), ('b', sd['i64'])]),
               'opt': {'hypers': [{'lr': 0.001, 'mom': 0.9, 'wd': 0.01, 'eps': 1e-5}],
                       'state': {}, 'name': 'Adam', 'flag': True, 'nothing': None}}
    write('wrapped_zip.pth', save_zip_to_buffer(wrapped))
    torch.save(wrapped, os.path.join(OUT, 'wrapped_legacy.pth'), _use_new_zipfile_serialization=False)
    write('int64_overflow.pth', save_zip_to_buffer({'big': torch.tensor([2 ** 40])}))

    lm = fastai_like_v1_lm()
    torch.save({'model': lm, 'opt': None}, os.path.join(OUT, 'fastai_v1_wrapped_legacy.pth'),
               _use_new_zipfile_serialization=False)
    with open(os.path.join(OUT, 'fastai_v1_expected.json'), 'w') as f:
        json.dump({k: {'shape': list(t.shape), 'values': t.reshape(-1).tolist()} for k, t in lm.items()}, f)
        f.write('\n')
    write('fastai_v1_itos.pkl', pickle.dumps(['xxunk', 'xxpad', 'xxbos', 'xxeos', 'the', '.', 'a', 'cat'], protocol=4))

    itos = ['xxunk', 'xxpad', 'xxbos', 'the', ',', 'café', '日本', "it's", '']
    write('itos_protocol2.pkl', pickle.dumps(itos, protocol=2))
    write('itos_protocol4.pkl', pickle.dumps(itos, protocol=4))
    # Bad inputs.
    write('bad_not_a_pickle.pkl', b'this is a plain text file, not a pickle\n')
    full = pickle.dumps(itos, protocol=2)
    write('bad_truncated.pkl', full[: len(full) // 2])
    write('bad_dict.pkl', pickle.dumps({'a': 1}, protocol=2))
    write('bad_mixed_list.pkl', pickle.dumps(['a', 3, 'b'], protocol=2))
    zipped = save_zip_to_buffer(sd)
    write('bad_truncated_zip.pth', zipped[: len(zipped) // 2])
    with open(os.path.join(OUT, 'tensors_legacy.pth'), 'rb') as f:
        legacy = f.read()
    write('bad_truncated_legacy.pth', legacy[: len(legacy) - 20])

    with open(os.path.join(OUT, 'expected.json'), 'w') as f:
        json.dump({'tensors': expected_json(sd), 'itos': itos}, f, indent=1, ensure_ascii=False)
        f.write('\n')
    print('wrote', sorted(os.listdir(OUT)))


def verify_writer():
    """node writes a .pth with ulmfit's writer; torch must load it (weights_only, the strict path)."""
    with open(os.path.join(OUT, 'expected.json')) as f:
        expected = json.load(f)['tensors']
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'written_by_ulmfit.pth')
        subprocess.run(['node', os.path.join(ROOT, 'tools', 'write_torch_sample.mjs'), path],
                       check=True, cwd=ROOT)
        loaded = torch.load(path, weights_only=True)
        # mmap=True needs every record aligned the way torch's own writer aligns them.
        mapped = torch.load(path, weights_only=True, mmap=True)
        assert all(torch.equal(mapped[k], loaded[k]) for k in loaded), 'mmap load differs'
        assert isinstance(loaded, collections.OrderedDict), type(loaded)
        assert list(loaded.keys()) == list(expected.keys()), (list(loaded.keys()), list(expected.keys()))
        for k, e in expected.items():
            t = loaded[k]
            assert list(t.shape) == e['shape'], (k, t.shape, e['shape'])
            want = [float(v) if isinstance(v, str) else v for v in e['values']]
            got = t.reshape(-1).tolist()
            if e['dtype'] == 'float32':
                assert t.dtype == torch.float32, (k, t.dtype)
                same = torch.equal(t.reshape(-1), torch.tensor(want, dtype=torch.float32))
                assert same, (k, got, want)
            else:
                assert t.dtype == torch.int32, (k, t.dtype)
                assert got == want, (k, got, want)
        print('torch.load(weights_only=True, also with mmap=True) read', len(loaded), 'tensors written by ulmfit: OK')


def fastai_replica(vocab, emb, hid, layers):
    """fastai v2's AWD-LSTM LM module tree (names only matter): SequentialRNN(AWD_LSTM, LinearDecoder)."""
    from torch import nn

    class WeightDropout(nn.Module):
        def __init__(self, module):
            super().__init__()
            self.module = module
            w = getattr(module, 'weight_hh_l0')
            self.register_parameter('weight_hh_l0_raw', nn.Parameter(w.data))
            delattr(module, 'weight_hh_l0')  # fastai v2: the dropped copy is a plain attribute

    class EmbeddingDropout(nn.Module):
        def __init__(self, emb):
            super().__init__()
            self.emb = emb

    class AWD_LSTM(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.Embedding(vocab, emb, padding_idx=1)
            self.encoder_dp = EmbeddingDropout(self.encoder)
            self.rnns = nn.ModuleList([
                WeightDropout(nn.LSTM(emb if l == 0 else hid, emb if l == layers - 1 else hid, 1, batch_first=True))
                for l in range(layers)])

    class LinearDecoder(nn.Module):
        def __init__(self, encoder):
            super().__init__()
            self.decoder = nn.Linear(emb, vocab)
            self.decoder.weight = encoder.weight

    awd = AWD_LSTM()
    return nn.Sequential(awd, LinearDecoder(awd.encoder)), awd


def clean_raw_keys(wgts):
    keys = list(wgts.keys())
    for k in keys:
        t = k.split('.module')
        if f'{_join(t[:-1], ".module")}{t[-1]}_raw' in keys:
            del wgts[k]
    return wgts


def _join(parts, sep):
    return sep.join(parts)


def verify_export():
    with open(os.path.join(OUT, 'fastai_v1_expected.json')) as f:
        expected = json.load(f)
    bin_ = os.path.join(ROOT, 'bin', 'ulmfit.js')
    with tempfile.TemporaryDirectory() as tmp:
        model = os.path.join(tmp, 'model')
        subprocess.run(['node', bin_, 'import-fastai', os.path.join(OUT, 'fastai_v1_wrapped_legacy.pth'),
                        os.path.join(OUT, 'fastai_v1_itos.pkl'), '--out', model], check=True, cwd=ROOT)
        paths = {}
        for name, flags in [('lm', []), ('lm_v1', ['--v1']), ('enc', ['--encoder'])]:
            paths[name] = os.path.join(tmp, name + '.pth')
            subprocess.run(['node', bin_, 'export-fastai', model, '--out', paths[name], *flags], check=True, cwd=ROOT)
        lm, awd = fastai_replica(vocab=8, emb=4, hid=6, layers=2)
        # load_pretrained: clean_raw_keys, then tensors copied by position into model.state_dict().
        for name in ['lm', 'lm_v1']:
            wgts = clean_raw_keys(torch.load(paths[name], weights_only=True))
            target = lm.state_dict()
            assert list(wgts.keys()) == list(target.keys()), (name, list(wgts.keys()), list(target.keys()))
            for (k, v), (tk, tv) in zip(wgts.items(), target.items()):
                assert v.shape == tv.shape, (name, k, v.shape, tv.shape)
            # Tied copies share one storage, as in a file fastai saved itself.
            ptr = lambda k: wgts[k].untyped_storage().data_ptr()
            assert ptr('0.encoder.weight') == ptr('0.encoder_dp.emb.weight') == ptr('1.decoder.weight'), name
            lm.load_state_dict(wgts, strict=True)
            for k, v in lm.state_dict().items():
                assert v.reshape(-1).tolist() == torch.tensor(expected[k]['values']).reshape(-1).tolist(), k
        # load_encoder: strict by name into the AWD_LSTM.
        awd.load_state_dict(clean_raw_keys(torch.load(paths['enc'], weights_only=True)), strict=True)
        with open(os.path.join(tmp, 'lm_itos.pkl'), 'rb') as f:
            assert pickle.load(f) == ['xxunk', 'xxpad', 'xxbos', 'xxeos', 'the', '.', 'a', 'cat']
    print('fastai replica accepted the exported LM (v2 and v1, by position) and encoder (strict): OK')


def safetensors_check():
    """The reference library's file for our reader, and our file for the reference library."""
    from safetensors.torch import load_file, save_file
    ref = collections.OrderedDict([
        ('f32', torch.tensor([[1.5, -2.0, 3.25], [0.0, -0.0, 1e-30]], dtype=torch.float32)),
        ('f16', torch.tensor([1.0, -0.5, 65504.0], dtype=torch.float16)),
        ('i32', torch.tensor([-1, 2, 2147483647], dtype=torch.int32)),
        ('i64', torch.tensor([[-(2 ** 40)], [7]], dtype=torch.int64)),
        ('scalar', torch.tensor(4.0)),
        ('empty', torch.zeros(0, 2)),
    ])
    save_file(ref, os.path.join(OUT, 'reference.safetensors'), metadata={'format': 'pt', 'note': 'é'})
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'ours.safetensors')
        subprocess.run(['node', os.path.join(ROOT, 'tools', 'write_safetensors_sample.mjs'),
                        os.path.join(OUT, 'reference.safetensors'), path], check=True, cwd=ROOT)
        back = load_file(path)
        assert list(back.keys()) == sorted(ref.keys()) or set(back.keys()) == set(ref.keys())
        for k, t in ref.items():
            assert back[k].dtype == t.dtype and torch.equal(back[k], t), k
    print('safetensors library read the file ulmfit re-wrote: OK')


if __name__ == '__main__':
    if '--verify-export' in sys.argv:
        verify_export()
    elif '--safetensors' in sys.argv:
        safetensors_check()
    elif '--verify-writer' in sys.argv:
        verify_writer()
    else:
        make()
