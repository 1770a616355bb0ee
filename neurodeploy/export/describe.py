"""Human-readable model card and layer table of a :class:`NetxModel` (``neurodeploy info``)."""
from __future__ import annotations

import json

import numpy as np

from neurodeploy import netx
from neurodeploy.tables import markdown_table


def layer_rows(model: netx.NetxModel) -> list[dict]:
    rows = []
    for i, l in enumerate(model.layers):
        kind = type(l).__name__.replace("Layer", "").lower()
        row = {"#": i, "type": kind, "shape": "x".join(map(str, l.shape)), "params": "", "neuron": ""}
        if isinstance(l, (netx.DenseLayer, netx.ConvLayer)):
            w = np.asarray(l.weight)
            row["params"] = f"{w.size} w in [{int(w.min())}, {int(w.max())}]"
            n = l.neuron
            row["neuron"] = f"CUBA iDecay={n.i_decay} vDecay={n.v_decay} vTh={n.v_th_mant}"
            if isinstance(l, netx.ConvLayer):
                row["params"] += f" k={w.shape[2]}x{w.shape[3]} s={l.stride[0]} p={l.padding[0]}"
        rows.append(row)
    return rows


def describe(model: netx.NetxModel) -> str:
    rows = layer_rows(model)
    table = markdown_table(rows, list(rows[0]))
    card = json.dumps(model.card, indent=2, sort_keys=True) if model.card else "(no model card)"
    return "model card:\n" + card + "\n\nlayers:\n" + table
