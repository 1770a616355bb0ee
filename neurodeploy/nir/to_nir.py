"""NetX model -> NIR graph, exact: every fixed-point value written as the float it means.

Per synaptic layer ``k`` (its index in ``model.layers``) two nodes: ``fc{k}`` (``Linear``, or
``Affine`` with a bias) or ``conv{k}`` (``Conv2d``), then the neuron ``lif{k}``, chosen as the
simplest NIR neuron that states the CUBA layer exactly (:mod:`neurodeploy.nir.convention`):

* ``IF``      when iDecay = 4096 and vDecay = 0 (``r = 1/dt``);
* ``LIF``     when iDecay = 4096 (``τ = dt/(vDecay/4096)``, ``r = τ/dt``);
* ``CubaLIF`` otherwise (``τ_syn``, ``τ_mem``, ``r = τ_mem/dt``, ``w_in = τ_syn/dt``).

Weights are ``w/64``, thresholds ``vThMant/64``. Lava adds a bias to ``v`` every step: with
iDecay = 4096 that is the Affine bias ``bias/64``; with a synaptic current it is the leak target
``v_leak = (bias/64)/(vDecay/4096)``. Flatten layers become ``Flatten`` (NIR dims exclude the
batch: ``start_dim = 0``). The graph's metadata holds the convention and the model card.

A recurrent layer (NetX ``dense_rec``) adds its own weight ``rec{k}`` (``Linear``, ``W_rec/64``) in a
cycle ``lif{k} -> rec{k} -> lif{k}``: the neuron's spikes of step ``t − 1`` join its input of step
``t`` (:mod:`neurodeploy.nir.convention`); snnTorch's importer reads this cycle as RLeaky/RSynaptic.

Refused, naming the layer: synaptic delays, sigma-delta neurons, an input layer with its own neuron
and a dense layer without one (NetX's integrator) — NIR's chain of weights and LIF neurons has no form
for them.
"""
from __future__ import annotations

import json

import numpy as np

from neurodeploy import netx
from neurodeploy.nir.convention import CARD_KEY, Convention
from neurodeploy.nir.graph import NirImportError


class NirExportError(NirImportError):
    """A NetX layer with no exact NIR form; the message names the layer."""


def _full(shape, value) -> np.ndarray:
    return np.full(tuple(shape), float(value), dtype=np.float64)


def neuron_node(n: netx.CubaNeuron, shape: tuple, conv: Convention, v_leak: np.ndarray | None):
    """The NIR neuron node of a CUBA neuron layer of output ``shape``."""
    import nir

    theta = _full(shape, conv.threshold_float(n.v_th_mant))
    zero = _full(shape, 0.0)
    if n.i_decay == conv.decay_unity and n.v_decay == 0:
        return nir.IF(r=_full(shape, 1.0 / conv.dt), v_threshold=theta, v_reset=zero)
    tau_mem = _full(shape, conv.tau(n.v_decay))
    leak = zero if v_leak is None else np.broadcast_to(v_leak, shape).astype(np.float64)
    if n.i_decay == conv.decay_unity:
        return nir.LIF(tau=tau_mem, r=tau_mem / conv.dt, v_leak=leak, v_threshold=theta, v_reset=zero)
    tau_syn = _full(shape, conv.tau(n.i_decay))
    return nir.CubaLIF(tau_syn=tau_syn, tau_mem=tau_mem, r=tau_mem / conv.dt, v_leak=leak,
                       v_threshold=theta, v_reset=zero, w_in=tau_syn / conv.dt)


def _bias_split(layer, k: int, shape: tuple, conv: Convention) -> tuple:
    """(Affine/Conv bias as float or None, v_leak array or None) for a layer's Lava bias."""
    if layer.bias is None or not np.any(np.asarray(layer.bias)):
        return None, None
    b = conv.weight_float(np.asarray(layer.bias).astype(int))          # Lava casts the bias to int
    n = layer.neuron
    if n.i_decay == conv.decay_unity:          # no synaptic memory: the bias may enter with the input
        return b, None
    if n.v_decay == 0:
        raise NirExportError(f"layer {k}: a bias on a neuron with a synaptic current and no voltage decay "
                             f"(iDecay {n.i_decay}, vDecay 0) has no NIR form")
    per_neuron = b.reshape(-1, 1, 1) if len(shape) == 3 else b
    return None, np.broadcast_to(per_neuron / (n.v_decay / conv.decay_unity), shape)


def _check_exportable(layer, k: int) -> None:
    """Refuse, naming the layer, what NIR's weights + LIF chain cannot state exactly."""
    if getattr(layer, "delay", None) is not None and np.any(np.asarray(layer.delay)):
        raise NirExportError(f"layer {k}: synaptic delays have no NIR form here (NIR's Linear/Conv2d act "
                             f"in the same step)")
    if layer.neuron is None:
        raise NirExportError(f"layer {k}: a dense layer without a neuron (NetX's non-spiking integrator) has no "
                             f"NIR form")
    if not isinstance(layer.neuron, netx.CubaNeuron):
        raise NirExportError(f"layer {k}: {type(layer.neuron).__name__} neurons (graded spikes) have no NIR form")


def to_nir(model: netx.NetxModel, convention: Convention | None = None):
    """The NIR graph of ``model`` (``nir.NIRGraph``); ``nir.write`` it or use it in memory."""
    import nir

    conv = convention or Convention()
    shape = tuple(int(s) for s in model.input_shape)
    nodes = {"input": nir.Input(input_type=np.asarray(shape, dtype=np.int64))}
    order = ["input"]
    cycles: list = []            # each recurrent neuron's edges to and from its own weight
    for k, layer in enumerate(model.layers):
        if isinstance(layer, netx.InputLayer):
            if layer.neuron is not None:
                raise NirExportError(f"layer {k}: an input layer with its own neuron (lava-dl Input block) has "
                                     f"no NIR form")
            continue
        if isinstance(layer, netx.FlattenLayer):
            nodes[f"flatten{k}"] = nir.Flatten(input_type={"input": np.asarray(shape, dtype=np.int64)},
                                               start_dim=0, end_dim=-1)
            order.append(f"flatten{k}")
            shape = (int(np.prod(shape)),)
            continue
        _check_exportable(layer, k)
        out_shape = tuple(int(s) for s in layer.shape)
        bias, v_leak = _bias_split(layer, k, out_shape, conv)
        w = conv.weight_float(np.asarray(layer.weight).astype(int)).astype(np.float32)  # NetX casts to int
        if isinstance(layer, (netx.DenseLayer, netx.RecurrentDenseLayer)):
            name = f"fc{k}"
            nodes[name] = (nir.Linear(weight=w) if bias is None
                           else nir.Affine(weight=w, bias=bias.astype(np.float32)))
        elif isinstance(layer, netx.ConvLayer):
            if len(shape) != 3:
                raise NirExportError(f"layer {k}: conv needs a (C, H, W) input, gets {shape}")
            name = f"conv{k}"
            nodes[name] = nir.Conv2d(input_shape=tuple(shape[1:]), weight=w, stride=tuple(layer.stride),
                                     padding=tuple(layer.padding), dilation=tuple(layer.dilation),
                                     groups=int(layer.groups),
                                     bias=(np.zeros(w.shape[0], np.float32) if bias is None
                                           else bias.astype(np.float32)))
        else:
            raise NirExportError(f"layer {k}: {type(layer).__name__} has no NIR form")
        nodes[f"lif{k}"] = neuron_node(layer.neuron, out_shape, conv, v_leak)
        order += [name, f"lif{k}"]
        if isinstance(layer, netx.RecurrentDenseLayer):
            w_rec = conv.weight_float(np.asarray(layer.weight_rec).astype(int)).astype(np.float32)
            nodes[f"rec{k}"] = nir.Linear(weight=w_rec)
            cycles += [(f"lif{k}", f"rec{k}"), (f"rec{k}", f"lif{k}")]
        shape = out_shape
    nodes["output"] = nir.Output(output_type=np.asarray(shape, dtype=np.int64))
    order.append("output")
    metadata = {**conv.metadata(), CARD_KEY: json.dumps(model.card or {}, sort_keys=True, default=str)}
    graph = nir.NIRGraph(nodes=nodes, edges=list(zip(order[:-1], order[1:])) + cycles, metadata=metadata)
    graph.infer_types()
    return graph
