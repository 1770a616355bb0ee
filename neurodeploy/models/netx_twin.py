"""The differentiable float twin of an exported NetX model (what ``neurodeploy.load(MODEL.net)`` returns).

A NetX file written by ``neurodeploy export`` holds integer weights k (8-bit, W = k/64), CUBA
neurons in 12-bit fixed point (iDecay, vDecay, vThMant) and a model card naming the topology,
the encoder and T. The twin rebuilds the SLAYER network of that topology with W = k/64, decays
iDecay/4096 and vDecay/4096 and threshold vThMant/64. SLAYER's forward pass already computes in
Loihi's integer arithmetic (README, deployment benchmark: 100 % agreement, no spike train
differs), so the twin's output spikes are the emulator's; its backward pass is SLAYER's
surrogate gradient, with the encoder's straight-through surrogate in front. Files are read as
data (no code), and every shape and neuron parameter is checked against the card's topology.
"""
from __future__ import annotations

import numpy as np
import torch

from neurodeploy import netx
from neurodeploy.encoding import make_encoder
from neurodeploy.errors import BadInputError
from neurodeploy.models.classifier import SpikingClassifier
from neurodeploy.models.snn import NeuronConfig, SpikingNet, lava_v_th_mant

WEIGHT_SCALE = 64   # W = k / 64 (SLAYER quantize_8bit)
DECAY_SCALE = 4096  # 12-bit decays
THRESHOLD_SCALE = 64


def _neuron_config(card: dict, layer: netx.DenseLayer | netx.ConvLayer) -> NeuronConfig:
    n = layer.neuron
    base = NeuronConfig(**{k: v for k, v in (card.get("neuron") or {}).items()
                           if k in NeuronConfig.__dataclass_fields__})
    return NeuronConfig(threshold=n.v_th_mant / THRESHOLD_SCALE, current_decay=n.i_decay / DECAY_SCALE,
                        voltage_decay=n.v_decay / DECAY_SCALE, tau_grad=base.tau_grad, scale_grad=base.scale_grad)


def float_twin(model: netx.NetxModel, source: str = "model") -> SpikingClassifier:
    """A :class:`SpikingClassifier` whose forward pass equals the deployed network's (see module doc)."""
    card = model.card or {}
    missing = [k for k in ("model", "encoding", "steps", "classes") if k not in card]
    if missing:
        raise BadInputError(f"{source}: the model card lacks {missing}; a float twin needs the card "
                            "`neurodeploy export` writes")
    layers = model.synaptic_layers
    if not layers:
        raise BadInputError(f"{source}: no dense or conv layer")
    if any(getattr(l, "bias", None) is not None and np.any(np.asarray(l.bias)) for l in layers):
        raise BadInputError(f"{source}: layers with a bias have no float twin here (neurodeploy exports none)")
    bits = model.input_message_bits  # graded input: the first layer's threshold is 2^b finer (encoders.Graded)
    encoder = make_encoder(card["encoding"])
    if encoder.message_bits != bits:
        raise BadInputError(f"{source}: the card's input_message_bits ({bits}) does not match its encoding "
                            f"'{encoder.name}' ({encoder.message_bits})")
    if layers[0].neuron.v_th_mant % (1 << bits):
        raise BadInputError(f"{source}: layer 0 threshold {layers[0].neuron.v_th_mant} is not a multiple of 2^{bits} "
                            "(graded input)")
    neurons = {(l.neuron.i_decay, l.neuron.v_decay, l.neuron.v_th_mant >> (bits if i == 0 else 0))
               for i, l in enumerate(layers)}
    if len(neurons) != 1:
        raise BadInputError(f"{source}: layers differ in their neuron parameters; the twin needs one CUBA setting")
    in_channels = int(model.input_shape[0])
    net = SpikingNet(str(card["model"]), len(card["classes"]), in_channels, _neuron_config(card, layers[-1]),
                     input_bits=bits)
    blocks = [b for b in net.blocks if getattr(b, "synapse", None) is not None]
    if tuple(net.input_shape) != tuple(model.input_shape) or len(blocks) != len(layers):
        raise BadInputError(f"{source}: its layers do not match model '{card['model']}' of the card")
    with torch.no_grad():
        for i, (block, layer) in enumerate(zip(blocks, layers)):
            w = np.asarray(layer.weight)
            target = block.synapse.weight
            if w.size != target.numel() or tuple(w.shape) != tuple(target.shape[:w.ndim]):
                raise BadInputError(f"{source}: layer {i} weight {tuple(w.shape)} does not match the topology's "
                                    f"{tuple(target.shape[:w.ndim])}")
            if not np.issubdtype(w.dtype, np.number) or not np.all(np.isfinite(w)):
                raise BadInputError(f"{source}: layer {i} weight is not numeric")
            target.copy_(torch.from_numpy(w.astype(np.float64) / WEIGHT_SCALE).reshape(target.shape).to(target.dtype))
            dev = block.neuron.device_params
            n = layer.neuron
            if (dev["iDecay"], dev["vDecay"], lava_v_th_mant(block.neuron)) != (n.i_decay, n.v_decay, n.v_th_mant):
                raise BadInputError(f"{source}: layer {i} neuron ({n.i_decay}, {n.v_decay}, {n.v_th_mant}) has no "
                                    "exact float form")
    clf = SpikingClassifier(net, encoder, int(card["steps"]), int(card.get("seed", 0)))
    clf.card = card
    return clf.eval()
