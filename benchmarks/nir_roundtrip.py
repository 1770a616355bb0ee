"""Issue 11 targets: shipped NetX models -> NIR -> NetX, and the float NIR reference against emu.

    python benchmarks/nir_roundtrip.py [--data-dir ../shared/data] [--limit 1000]

For every ``netx_models/*.net``: write its NIR file (read back with stock ``nir.read``), import
it, and on the first ``--limit`` Fashion-MNIST test images (the card's encoding) report
1. bit-identical layers (weights, biases, neurons, geometry) after the round trip;
2. identical emu output spikes (original vs round-tripped artifact) at every step;
3. the float reference of the NIR graph against emu: prediction agreement, samples with
   identical output trains, worst per-layer spike mismatch.
Writes benchmarks/out/nir_roundtrip.json.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import nir
import numpy as np
import torch

from common import ROOT, data_dir, table, write_result
from neurodeploy import netx
from neurodeploy.nir import from_nir, to_nir, write_graph
from neurodeploy.nir.verify import verify
from neurodeploy.runtime.api import encode_dataset_for_model
from neurodeploy.runtime.emu import emulate


def same_layers(a: netx.NetxModel, b: netx.NetxModel) -> bool:
    if len(a.layers) != len(b.layers):
        return False
    for x, y in zip(a.layers, b.layers):
        if type(x) is not type(y) or tuple(x.shape) != tuple(y.shape):
            return False
        for attr in ("weight", "bias"):
            u, v = getattr(x, attr, None), getattr(y, attr, None)
            if (u is None) != (v is None) or (u is not None and not np.array_equal(np.asarray(u), np.asarray(v))):
                return False
        for attr in ("neuron", "stride", "padding", "dilation", "groups"):
            if getattr(x, attr, None) != getattr(y, attr, None):
                return False
    return True


p = argparse.ArgumentParser()
p.add_argument("--data-dir")
p.add_argument("--limit", type=int, default=1000)
a = p.parse_args()
torch.set_num_threads(2)
root = data_dir(a.data_dir)
rows = []
with tempfile.TemporaryDirectory() as tmp:
    for path in sorted((ROOT / "netx_models").glob("*.net")):
        t0 = time.perf_counter()
        model = netx.read(path)
        nir_path = write_graph(to_nir(model), Path(tmp) / f"{path.stem}.nir")
        graph = nir.read(nir_path)
        imp = from_nir(graph)
        x, _ = encode_dataset_for_model(model, limit=a.limit, data_dir=root)
        same_out = torch.equal(emulate(model, x).spikes, emulate(imp.model, x).spikes)
        v = verify(graph, imp, x)
        rows.append({"model": path.name, "images": int(x.shape[0]),
                     "bit_identical_layers": same_layers(model, imp.model),
                     "identical_emu_output": bool(same_out),
                     "reference_vs_emu_agreement": round(v.prediction_agreement, 4),
                     "reference_vs_emu_identical_output": round(v.identical_output, 4),
                     "worst_layer_mismatch": round(max(l.mismatch for l in v.layers), 5),
                     "nir_file_kb": round(nir_path.stat().st_size / 1024, 1),
                     "seconds": round(time.perf_counter() - t0, 1)})
print(table(rows, list(rows[0])))
write_result("nir_roundtrip", {"limit": a.limit, "rows": rows})
if not all(r["bit_identical_layers"] and r["identical_emu_output"] for r in rows):
    raise SystemExit("round trip is not exact")
