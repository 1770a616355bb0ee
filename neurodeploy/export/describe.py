"""Human-readable model card and layer table of a :class:`NetxModel` (``neurodeploy info``)."""
from __future__ import annotations

import json

import numpy as np

from neurodeploy import netx
from neurodeploy.tables import markdown_table

# What `run`/`report` read from a model card to encode a data set themselves; without them a file
# is "card-less" and takes --input/--steps (or --encoding/--dataset) on the command line.
CARD_FIELDS = ("encoding", "steps", "dataset", "classes")


def _neuron_text(n) -> str:
    if n is None:
        return "none (NetX: non-spiking integrator)"
    if isinstance(n, netx.SigmaDeltaNeuron):
        return f"SDNN {n.activation} vTh={n.v_th_mant}" + (" sigma_output" if n.sigma_output else "")
    return f"{n.kind} iDecay={n.i_decay} vDecay={n.v_decay} vTh={n.v_th_mant}"


def layer_rows(model: netx.NetxModel) -> list[dict]:
    rows = []
    for i, l in enumerate(model.layers):
        kind = {"RecurrentDenseLayer": "dense_rec"}.get(type(l).__name__, type(l).__name__.replace("Layer", "").lower())
        row = {"#": i, "type": kind, "shape": "x".join(map(str, l.shape)), "params": "", "neuron": ""}
        if isinstance(l, netx.SYNAPTIC):
            w = np.asarray(l.weight)
            row["params"] = f"{w.size} w in [{int(w.min())}, {int(w.max())}]"
            if isinstance(l, netx.RecurrentDenseLayer):
                row["params"] += f" + {np.asarray(l.weight_rec).size} recurrent"
            row["neuron"] = _neuron_text(l.neuron)
            if isinstance(l, netx.ConvLayer):
                row["params"] += f" k={w.shape[2]}x{w.shape[3]} s={l.stride[0]} p={l.padding[0]}"
        elif isinstance(l, netx.InputLayer) and l.neuron is not None:
            row["neuron"] = _neuron_text(l.neuron)
        if getattr(l, "bias", None) is not None:
            row["params"] += " bias"
        if getattr(l, "delay", None) is not None:
            d = np.asarray(l.delay)
            row["params"] += f" delay {int(d.min())}..{int(d.max())}"
        rows.append(row.copy())
    return rows


def missing_card_fields(model: netx.NetxModel) -> list:
    card = model.card or {}
    return [k for k in CARD_FIELDS if card.get(k) is None]


def describe(model: netx.NetxModel) -> str:
    rows = layer_rows(model)
    table = markdown_table(rows, list(rows[0]))
    card = json.dumps(model.card, indent=2, sort_keys=True) if model.card else "(no model card)"
    text = "model card:\n" + card + "\n\nlayers:\n" + table
    shape = ", ".join(map(str, model.input_shape))
    modes = "spikes"
    if isinstance(model.input_neuron, netx.CubaNeuron):
        modes = "a_in | bias | spikes (skips the input neuron)"
    elif model.input_neuron is not None:
        modes = "a_in | spikes (skips the input neuron; graded values)"
    out = "graded values" if model.graded_output else "spikes"
    text += (f"\n\ninput_shape: ({shape}) — input modes: {modes}; output: {', '.join(map(str, model.output_shape))} "
             f"{out}")
    missing = missing_card_fields(model)
    if missing:
        text += (f"\nmodel card lacks: {', '.join(missing)} — give `run`/`report` --input X.npy --steps T "
                 f"(or --encoding NAME --dataset D)")
    return text
