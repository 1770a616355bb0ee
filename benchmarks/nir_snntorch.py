"""Issue 11: a network trained in snnTorch, exported with ``export_to_nir``, imported, run on emu.

    python benchmarks/nir_snntorch.py [--data-dir ../shared/data] [--train-steps 300] [--limit 1000]

784-64-10 (``Synaptic`` -> ``Leaky``, reset to zero at the spike: ``reset_delay=False``), early
burst, T = 8, Adam 2e-3, batch 64, trained twice from the same seed: with float weights, and with
8-bit weights on a 1/128 grid (straight-through fake quantisation). For each: snnTorch accuracy,
the float NIR reference against snnTorch (identical output trains), and the imported NetX artifact
on emu against snnTorch's predictions. Writes benchmarks/out/nir_snntorch.json.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import nir
import snntorch as snn
import snntorch.utils
import torch
from snntorch.export_nir import export_to_nir
from torch.nn.utils import parametrize

from common import data_dir, table, write_result
from neurodeploy.data import load_dataset
from neurodeploy.encoding import make_encoder
from neurodeploy.nir import from_nir
from neurodeploy.nir.reference import simulate
from neurodeploy.nir.verify import predictions
from neurodeploy.runtime.emu import emulate

T, HIDDEN = 8, 64


class Grid8(torch.nn.Module):
    def forward(self, w):
        q = torch.clamp(torch.round(w * 128), -128, 127) / 128
        return w + (q - w).detach()


def vec(n, v):
    return torch.full((n,), v)


def make_net():
    return torch.nn.Sequential(
        torch.nn.Linear(784, HIDDEN, bias=False),
        snn.Synaptic(alpha=vec(HIDDEN, 0.75), beta=vec(HIDDEN, 0.9), threshold=vec(HIDDEN, 1.0), init_hidden=True,
                     reset_mechanism="zero", reset_delay=False),
        torch.nn.Linear(HIDDEN, 10, bias=False),
        snn.Leaky(beta=vec(10, 0.9), threshold=vec(10, 1.0), init_hidden=True, reset_mechanism="zero",
                  reset_delay=False))


def run(net, x):
    snntorch.utils.reset(net)
    return torch.stack([net(x[..., t]) for t in range(x.shape[-1])], -1)


p = argparse.ArgumentParser()
p.add_argument("--data-dir")
p.add_argument("--train-steps", type=int, default=300)
p.add_argument("--limit", type=int, default=1000)
a = p.parse_args()
torch.set_num_threads(1)
root = data_dir(a.data_dir)
enc = make_encoder("early_burst")
train = load_dataset("fashion-mnist", "train", root, limit=10000)
test = load_dataset("fashion-mnist", "test", root, limit=a.limit)


def encode(images):
    return enc.encode(torch.from_numpy(images).float() / 255, T).reshape(len(images), 784, T)


xtr, ytr = encode(train.images), torch.from_numpy(train.labels).long()
xte, yte = encode(test.images), torch.from_numpy(test.labels).long()
rows = []
for qat in (False, True):
    torch.manual_seed(0)
    net = make_net()
    if qat:
        for fc in (net[0], net[2]):
            parametrize.register_parametrization(fc, "weight", Grid8())
    opt = torch.optim.Adam(net.parameters(), 2e-3)
    t0 = time.perf_counter()
    for _ in range(a.train_steps):
        idx = torch.randint(0, len(ytr), (64,))
        loss = torch.nn.functional.cross_entropy(run(net, xtr[idx]).sum(-1), ytr[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    if qat:
        for fc in (net[0], net[2]):
            parametrize.remove_parametrizations(fc, "weight", leave_parametrized=True)
    train_s = time.perf_counter() - t0
    with torch.no_grad():
        out = run(net, xte)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "snn.nir"
        nir.write(path, export_to_nir(net, torch.zeros(784)))
        graph = nir.read(path)
    imp = from_nir(graph)
    ref = simulate(graph, xte)
    emu = emulate(imp.model, xte.to(torch.uint8)).spikes
    snn_pred = predictions(out)
    rows.append({"weights": "8-bit grid (QAT)" if qat else "float", "train_s": round(train_s, 1),
                 "snntorch_accuracy": round((snn_pred == yte).double().mean().item(), 4),
                 "reference_identical_to_snntorch": round((ref.spikes == out.double()).reshape(len(yte), -1)
                                                          .all(1).double().mean().item(), 4),
                 "emu_agrees_with_snntorch": round((predictions(emu) == snn_pred).double().mean().item(), 4),
                 "emu_accuracy": round((predictions(emu) == yte).double().mean().item(), 4),
                 "layers_exact": [l.lossless for l in imp.layers]})
print(table(rows, list(rows[0])))
write_result("nir_snntorch", {"train_steps": a.train_steps, "test_images": a.limit, "rows": rows})
