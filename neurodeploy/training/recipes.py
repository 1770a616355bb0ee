"""Named training recipes: settings measured to learn, as ``TrainConfig`` values (recorded in config.json).

``cifar10_snn``: the conv32 SNN on CIFAR-10 (early burst, T = 8, temporal loss, crop4+flip). The
plain settings (current_decay 0.25, weight_scale 2, surrogate τ 0.03 / scale 3) stay at chance:
each CUBA layer adds ~1 step of latency, so the 6th layer fires only in steps 4..7; the narrow
surrogate gives dead neurons (40-60 % of the output layer at init) no gradient and shrinks the
gradient ~10x per layer; and cross-entropy on spike counts is minimised (ln 10) by a silent output
layer, which the optimiser reaches within ~10 steps. The recipe changes, all NetX-exportable:

* ``current_decay = 1`` (u[t] = a[t]: no synaptic memory, no per-layer latency) with
  ``weight_scale = 5`` to keep the initial rates at ~0.1-0.15 per layer;
* surrogate ``tau_grad = 0.3``, ``scale_grad = 100``: wide enough to reach silent neurons, scaled
  so the backward gain per layer is ~1;
* the output spike-rate penalty (λ = 1, targets 0.5 / 0.05) and the hidden-layer activity floor
  (λ = 100, mean rate ≥ 0.1 per layer): :mod:`neurodeploy.training.losses`.

CLI: ``neurodeploy train --dataset cifar10 --model conv32 --batch-size 64 --neuron
current_decay=1,tau_grad=0.3,scale_grad=100 --weight-scale 5 --rate-reg 1 --hidden-reg 100 ...``

Started from its trained ANN twin (``init_from``, ``benchmarks/train_cifar.py``) the network is
alive already: the regularisers then cost accuracy and are off, and what limits it is the input and
the latency. Early burst at T = 8 gives each pixel 9 levels and the sixth layer only the last
steps; ``graded:6`` (each pixel's 6-bit level as a graded spike every step, deployable on Loihi 2)
at T = 16, lr 3e-4 and the rate loss (the temporal loss buys early-step accuracy with final accuracy)
is what ``train_cifar.py`` uses (README, CIFAR-10: the comparisons).
"""
from __future__ import annotations

from neurodeploy.training.config import TrainConfig

CIFAR10_NEURON = {"current_decay": 1.0, "tau_grad": 0.3, "scale_grad": 100.0}


def cifar10_snn(**overrides) -> TrainConfig:
    """The conv32 CIFAR-10 SNN recipe (module docstring); keyword arguments override any field."""
    cfg = TrainConfig(dataset="cifar10", model="conv32", encoding={"name": "early_burst"}, steps=8, loss="temporal",
                      batch_size=64, lr=1e-3, augment="crop4+flip", weight_scale=5.0, rate_reg=1.0, hidden_reg=100.0,
                      hidden_low=0.1)
    cfg.neuron.update(CIFAR10_NEURON)
    for k, v in overrides.items():
        setattr(cfg, k, v)
    return cfg


def cifar10_ann(**overrides) -> TrainConfig:
    """The ANN twin of :func:`cifar10_snn` (same topology, ReLU; Adam 1e-3, batch 128, crop4+flip)."""
    cfg = TrainConfig(dataset="cifar10", model="conv32", ann=True, batch_size=128, lr=1e-3, augment="crop4+flip")
    for k, v in overrides.items():
        setattr(cfg, k, v)
    return cfg
