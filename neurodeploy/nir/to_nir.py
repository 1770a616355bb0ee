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


def to_nir(model: netx.NetxModel, convention: Convention | None = None):
    """The NIR graph of ``model`` (``nir.NIRGraph``); ``nir.write`` it or use it in memory."""
    import nir

    conv = convention or Convention()
    shape = tuple(int(s) for s in model.input_shape)
    nodes = {"input": nir.Input(input_type=np.asarray(shape, dtype=np.int64))}
    order = ["input"]
    for k, layer in enumerate(model.layers):
        if isinstance(layer, netx.InputLayer):
            continue
        if isinstance(layer, netx.FlattenLayer):
            nodes[f"flatten{k}"] = nir.Flatten(input_type={"input": np.asarray(shape, dtype=np.int64)},
                                               start_dim=0, end_dim=-1)
            order.append(f"flatten{k}")
            shape = (int(np.prod(shape)),)
            continue
        out_shape = tuple(int(s) for s in layer.shape)
        bias, v_leak = _bias_split(layer, k, out_shape, conv)
        w = conv.weight_float(np.asarray(layer.weight).astype(int)).astype(np.float32)  # NetX casts to int
        if isinstance(layer, netx.DenseLayer):
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
        shape = out_shape
    nodes["output"] = nir.Output(output_type=np.asarray(shape, dtype=np.int64))
    order.append("output")
    metadata = {**conv.metadata(), CARD_KEY: json.dumps(model.card or {}, sort_keys=True, default=str)}
    graph = nir.NIRGraph(nodes=nodes, edges=list(zip(order[:-1], order[1:])), metadata=metadata)
    graph.infer_types()
    return graph
