"""A training run's folder: ``config.json`` (re-creates the run), ``metrics.json`` (per epoch) and
``checkpoint.pt`` (weights + optimiser, loaded with ``weights_only``). Shared by training, export,
attacks and the Python API.
"""
from __future__ import annotations

import math
from pathlib import Path

import torch

from neurodeploy import budget
from neurodeploy.data import spec
from neurodeploy.encoding import make_encoder
from neurodeploy.errors import BadInputError, UsageError
from neurodeploy.files import read_json
from neurodeploy.models.architectures import architecture, shapes
from neurodeploy.models.classifier import ANNClassifier, SpikingClassifier
from neurodeploy.models.snn import ANNNet, NeuronConfig, SpikingNet
from neurodeploy.schemas.checkpoint import read_checkpoint
from neurodeploy.training.config import TrainConfig

CHECKPOINT = "checkpoint.pt"


def build_classifier(cfg: TrainConfig):
    s = spec(cfg.dataset)
    enc = make_encoder(cfg.encoding)
    if cfg.ann and cfg.input_quantisation:
        return ANNClassifier(ANNNet(cfg.model, len(s.classes), s.shape[0] * enc.channels_factor), enc, cfg.steps)
    if cfg.ann:
        return ANNClassifier(ANNNet(cfg.model, len(s.classes), s.shape[0]))
    net = SpikingNet(cfg.model, len(s.classes), s.shape[0] * enc.channels_factor,
                     NeuronConfig(**cfg.neuron), cfg.weight_scale, input_bits=enc.message_bits)
    return SpikingClassifier(net, enc, cfg.steps, cfg.seed)


def check_budget(cfg: TrainConfig, samples: int, what: str) -> None:
    """Refuse (one line) when ``samples`` images through ``cfg``'s network at once would not fit in memory.

    Estimate: samples x (input + every layer's neurons) x T float32 values, x 4 for the neuron
    state, the spikes and their gradients.
    """
    s = spec(cfg.dataset)
    factor = 1 if cfg.ann else make_encoder(cfg.encoding).channels_factor
    in_shape, specs = architecture(cfg.model, len(s.classes), s.shape[0] * factor)
    neurons = math.prod(in_shape) + sum(math.prod(sh) for sh in shapes(in_shape, specs))
    steps = 1 if cfg.ann else cfg.steps
    budget.check(budget.spike_trains(samples, neurons, steps, itemsize=4) * 4,
                 f"{what} ({samples} images x {neurons:,} neurons x T={steps})")


def checkpoint_state(clf) -> dict:
    """The network's weights without SLAYER's batch-shaped neuron-state buffers."""
    skip = clf.net.transient_state_keys() if hasattr(clf.net, "transient_state_keys") else set()
    return {k: v for k, v in clf.net.state_dict().items() if k not in skip}


def load_weights(clf, state: dict, source: str) -> None:
    own = checkpoint_state(clf)
    if set(state) != set(own):
        raise BadInputError(f"{source}: weights do not match the model (missing {sorted(set(own) - set(state))[:3]}, "
                            f"unexpected {sorted(set(state) - set(own))[:3]})")
    for k, v in state.items():
        if not isinstance(v, torch.Tensor) or v.shape != own[k].shape:
            raise BadInputError(f"{source}: '{k}' has shape {getattr(v, 'shape', type(v))}, expected {tuple(own[k].shape)}")
    clf.net.load_state_dict(state, strict=False)


def read_config(run_dir) -> TrainConfig:
    """The run folder's ``config.json``, every field checked (one line naming the file and key)."""
    path = Path(run_dir) / "config.json"
    return TrainConfig.from_dict(read_json(path), str(path))


def read_metrics(run_dir) -> dict:
    """The run folder's ``metrics.json``, checked (:mod:`neurodeploy.schemas.metrics`)."""
    from neurodeploy.schemas.metrics import check_metrics

    path = Path(run_dir) / "metrics.json"
    return check_metrics(read_json(path), str(path))


def load_run(run_dir, device: str = "cpu", gradient: str = "ste"):
    """A trained run as an ``nn.Module`` in eval mode: images in [0,1] (N, C, H, W) -> logits.

    ``gradient``: the encoder surrogate its input gradient flows through — ``ste``
    (straight-through, the default: it does not mask) or ``spike`` (the seed code's spike-only
    gradient, which masks; for reproducing it).
    """
    from neurodeploy.encoding.encoders import SURROGATES

    if gradient not in SURROGATES:
        raise UsageError(f"unknown gradient '{gradient}' (known: {', '.join(SURROGATES)})")
    run = Path(run_dir)
    if not run.is_dir():
        raise BadInputError(f"{run}: not a run folder")
    cfg = read_config(run)
    check_budget(cfg, 1, f"{run}: the network")
    clf = build_classifier(cfg)
    ckpt = run / CHECKPOINT
    if not ckpt.exists():
        raise BadInputError(f"{ckpt}: missing (the run has not finished an epoch)")
    state = read_checkpoint(ckpt)
    load_weights(clf, state["model"], str(ckpt))
    clf.config = cfg
    clf.surrogate = gradient
    return clf.eval().to(device)


def load_model(path, device: str = "cpu", gradient: str = "ste"):
    """A run folder (:func:`load_run`) or an exported ``MODEL.net`` (its differentiable float twin,
    :func:`neurodeploy.models.netx_twin.float_twin`, whose predictions are the emulator's)."""
    p = Path(path)
    if p.is_dir():
        return load_run(p, device=device, gradient=gradient)
    if not p.is_file():
        raise BadInputError(f"{p}: neither a run folder nor a NetX file")
    from neurodeploy import netx
    from neurodeploy.encoding.encoders import SURROGATES
    from neurodeploy.models.netx_twin import float_twin

    if gradient not in SURROGATES:
        raise UsageError(f"unknown gradient '{gradient}' (known: {', '.join(SURROGATES)})")
    clf = float_twin(netx.read(p), str(p))
    card = clf.card
    clf.config = TrainConfig(dataset=str(card.get("dataset", "fashion-mnist")), model=str(card["model"]),
                             encoding=clf.encoder.config(), steps=clf.steps, seed=clf.seed,
                             loss=str(card.get("loss", "temporal")),
                             neuron={**NeuronConfig().__dict__, **(card.get("neuron") or {})})
    clf.surrogate = gradient
    clf.path = p
    return clf.to(device)
