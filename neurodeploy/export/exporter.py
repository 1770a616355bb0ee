"""Trained run -> NetX HDF5 with a model card.

Weights are exported exactly as SLAYER quantises them in the forward pass
(``quantize_8bit(W, descale=True)``: even integers in [-256, 254]); neurons by their device
parameters (12-bit decays, threshold mantissa). No ``delay`` fields are written (even all-zero
delays make Lava ~60x slower, docs/formats.md). Before the file is renamed into place the caller may
pass a ``verify`` function that runs the artifact and compares it with the trained model.
"""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

from neurodeploy.atomic import atomic_path
from neurodeploy.errors import UsageError
from neurodeploy import netx
from neurodeploy.models.architectures import Conv, Flatten, shapes
from neurodeploy.models.classifier import SpikingClassifier
from neurodeploy.models.snn import lava_v_th_mant

QUANTISATION = {
    "weights": "8-bit signed: even integers in [-256, 254] (SLAYER quantize_8bit, weight = k / 64)",
    "weight_exponent": 0,
    "decays": "12-bit (fraction x 4096)",
    "threshold": "vThMant = threshold x 64 (x 2^b in the first layer of b-bit graded input), compared as vThMant << 6",
    "arithmetic": "Lava fixed_pt (Loihi 2) CUBA LIF",
}


def _neuron(block) -> netx.CubaNeuron:
    p = block.neuron.device_params
    return netx.CubaNeuron(i_decay=int(p["iDecay"]), v_decay=int(p["vDecay"]), v_th_mant=lava_v_th_mant(block.neuron),
                           ref_delay=int(p["refDelay"]), graded_spike=bool(p["gradedSpike"]))


def _quantised_weight(block, conv: bool) -> np.ndarray:
    """SLAYER's forward-pass weight, descaled to integers: conv (out, in, kH, kW), dense (out, in)."""
    s = block.synapse
    with torch.no_grad():
        w = s.pre_hook_fx(s.weight, descale=True) if s.pre_hook_fx is not None else s.weight
    w = w.detach().cpu().numpy()
    return np.ascontiguousarray(w.reshape(w.shape[:-1]) if conv else w.reshape(w.shape[:2]))


def to_netx(clf: SpikingClassifier, card: dict) -> netx.NetxModel:
    """Translate a trained :class:`SpikingClassifier` into the NetX dataclasses."""
    net = clf.net
    in_shape = tuple(net.input_shape)
    layers = [netx.InputLayer(shape=in_shape)]
    for spec, block, shape in zip(net.specs, net.blocks, shapes(in_shape, net.specs)):
        if isinstance(spec, Flatten):
            layers.append(netx.FlattenLayer(shape=tuple(shape)))
        elif isinstance(spec, Conv):
            layers.append(netx.ConvLayer(weight=_quantised_weight(block, conv=True), neuron=_neuron(block),
                                         shape=tuple(shape), stride=(spec.stride,) * 2, padding=(spec.padding,) * 2))
        else:
            layers.append(netx.DenseLayer(weight=_quantised_weight(block, conv=False), neuron=_neuron(block)))
    return netx.NetxModel(layers=layers, card=card)


def model_card(clf: SpikingClassifier, cfg, metrics: dict, versions: dict, classes, image_shape) -> dict:
    last = metrics["epochs"][-1] if metrics.get("epochs") else {}
    return {
        "format": "neurodeploy-model-card/1",
        "model": cfg.model,
        "dataset": cfg.dataset,
        "classes": list(classes),
        "image_shape": list(image_shape),
        "encoding": clf.encoder.config(),
        "steps": clf.steps,
        "input_shape": list(clf.net.input_shape),
        "input_message_bits": int(clf.encoder.message_bits),
        "latency_steps": sum(1 for s in clf.net.specs if not isinstance(s, Flatten)),
        "loss": cfg.loss,
        "neuron": cfg.neuron,
        "quantisation": QUANTISATION,
        "training": {"epochs": len(metrics.get("epochs", [])), "noise": cfg.noise, "adv": cfg.adv, "mppd": cfg.mppd,
                     "batch_size": cfg.batch_size, "lr": cfg.lr, "limit": cfg.limit,
                     **({"adv_weight": cfg.adv_weight, "trades": cfg.trades, "eps_warmup": cfg.eps_warmup,
                         "adv_grad": cfg.adv_grad, "init_from": cfg.init_from} if cfg.adv else {})},
        "metrics": {"test_accuracy": last.get("test_accuracy"),
                    "test_accuracy_per_step": last.get("test_accuracy_per_step")},
        "seed": cfg.seed,
        "versions": versions,
        "exported": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def export_run(run_dir, out_path, verify=None) -> netx.NetxModel:
    """Export a run to ``out_path``; ``verify(model, tmp_path, clf)`` may raise to refuse the file."""
    from neurodeploy.data import spec
    from neurodeploy.runfolder import load_run, read_metrics
    from neurodeploy.versions import versions

    clf = load_run(run_dir)
    cfg = clf.config
    if not isinstance(clf, SpikingClassifier):
        raise UsageError(f"{run_dir}: an ANN twin has no NetX form; export the spiking run")
    if clf.encoder.analog:
        raise UsageError(f"{run_dir}: encoding '{clf.encoder.name}' feeds analog currents, not spikes; "
                         "NetX export needs a spike encoder")
    metrics = read_metrics(run_dir)
    ds = spec(cfg.dataset)
    card = model_card(clf, cfg, metrics, versions(), ds.classes, ds.shape)
    model = to_netx(clf, card)
    with atomic_path(out_path) as tmp:
        netx.write(model, tmp)
        written = netx.read(tmp)
        if verify is not None:
            verify(written, tmp, clf)  # may add a "verified" entry to the card, or raise to refuse
            netx.write(written, tmp)
    return written
