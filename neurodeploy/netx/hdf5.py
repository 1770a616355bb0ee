"""Symmetric ``read``/``write`` of NetX HDF5 files (the layout is in :mod:`neurodeploy.netx.layers`).

Reading never executes anything from the file; every field is type- and shape-checked and
a problem raises :class:`NetxFormatError` naming the file, the layer and the fault.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from neurodeploy import budget
from neurodeploy.atomic import atomic_path
from neurodeploy.netx.layers import (SUPPORTED, UNLOADABLE, ConvLayer, CubaNeuron, DenseLayer,
                                     FlattenLayer, InputLayer, NetxFormatError, NetxModel, RecurrentDenseLayer,
                                     SigmaDeltaNeuron, conv_output_size)
from neurodeploy.schemas.model_card import check_card


# ----------------------------------------------------------------------------------- writing
def _write_neuron(g: h5py.Group, n) -> None:
    if isinstance(n, SigmaDeltaNeuron):
        g.create_dataset("type", data="SDNN")
        g.create_dataset("activation", data=str(n.activation))
        g.create_dataset("vThMant", data=int(n.v_th_mant))
        if n.sigma_output:
            g.create_dataset("sigma_output", data=True)
        return
    g.create_dataset("type", data=str(n.kind))
    g.create_dataset("iDecay", data=int(n.i_decay))
    g.create_dataset("vDecay", data=int(n.v_decay))
    g.create_dataset("vThMant", data=int(n.v_th_mant))
    g.create_dataset("refDelay", data=int(n.ref_delay))
    g.create_dataset("gradedSpike", data=bool(n.graded_spike))


def _write_type(g: h5py.Group, name: str) -> None:
    g.create_dataset("type", (1,), "S10", [name.encode("ascii")])


def _write_optional(g: h5py.Group, layer) -> None:
    """bias, delay and neuron, each only when the layer has one."""
    if getattr(layer, "bias", None) is not None:
        g.create_dataset("bias", data=np.asarray(layer.bias, dtype=np.float32))
    if getattr(layer, "delay", None) is not None:
        g.create_dataset("delay", data=np.asarray(layer.delay, dtype=np.float32))
    if layer.neuron is not None:
        _write_neuron(g.create_group("neuron"), layer.neuron)


def _write_layer(g: h5py.Group, layer) -> None:
    if isinstance(layer, InputLayer):
        _write_type(g, "input")
        g.create_dataset("shape", data=np.asarray(layer.shape, dtype=np.int64))
        if layer.weight is not None:
            g.create_dataset("weight", data=np.float32(layer.weight))
        _write_optional(g, layer)
    elif isinstance(layer, FlattenLayer):
        _write_type(g, "flatten")
        g.create_dataset("shape", data=np.asarray(layer.shape, dtype=np.int64))
    elif isinstance(layer, (DenseLayer, RecurrentDenseLayer)):
        _write_type(g, "dense_rec" if isinstance(layer, RecurrentDenseLayer) else "dense")
        g.create_dataset("shape", data=np.asarray(layer.shape, dtype=np.int64))
        g.create_dataset("inFeatures", data=int(layer.weight.shape[1]))
        g.create_dataset("outFeatures", data=int(layer.weight.shape[0]))
        g.create_dataset("weight", data=np.asarray(layer.weight, dtype=np.float32))
        if isinstance(layer, RecurrentDenseLayer):
            g.create_dataset("weight_rec", data=np.asarray(layer.weight_rec, dtype=np.float32))
        _write_optional(g, layer)
    elif isinstance(layer, ConvLayer):
        _write_type(g, "conv")
        w = np.asarray(layer.weight, dtype=np.float32)
        g.create_dataset("shape", data=np.asarray(layer.shape, dtype=np.int64))
        g.create_dataset("inChannels", data=int(w.shape[1] * layer.groups))
        g.create_dataset("outChannels", data=int(w.shape[0]))
        g.create_dataset("kernelSize", data=np.asarray(w.shape[2:], dtype=np.int64))
        g.create_dataset("stride", data=np.asarray(layer.stride, dtype=np.int64))
        g.create_dataset("padding", data=np.asarray(layer.padding, dtype=np.int64))
        g.create_dataset("dilation", data=np.asarray(layer.dilation, dtype=np.int64))
        g.create_dataset("groups", data=int(layer.groups))
        g.create_dataset("weight", data=w)
        _write_optional(g, layer)
    else:
        raise TypeError(f"cannot write layer of type {type(layer).__name__}")


def write(model: NetxModel, path) -> Path:
    """Write ``model`` to ``path`` atomically (temp file in the same folder, then rename)."""
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as f:
            lg = f.create_group("layer")
            for i, layer in enumerate(model.layers):
                _write_layer(lg.create_group(str(i)), layer)
            f.create_dataset("model_card", data=json.dumps(model.card, sort_keys=True))
    return Path(path)


# ----------------------------------------------------------------------------------- reading
MAX_NAME_BYTES = 1 << 16          # type names, model card text: refuse a giant string before reading it
MAX_LAYERS = 10_000
MAX_NEURONS = 1 << 31             # per layer (declared shapes)


class _Reader:
    def __init__(self, path: Path):
        self.path = path
        self.bytes = 0  # what the arrays read so far will take in memory (budget.py)

    def declared(self, g, key, where) -> h5py.Dataset:
        """The dataset ``key``, its declared size charged to the memory budget before reading it."""
        if key not in g:
            raise self.fail(where, f"missing field '{key}'")
        obj = g[key]
        if not isinstance(obj, h5py.Dataset):
            raise self.fail(where, f"field '{key}' is not a dataset")
        if obj.shape is None:
            raise self.fail(where, f"field '{key}' is empty (no shape)")
        n = int(np.prod(obj.shape, dtype=object)) if obj.shape else 1
        item = max(8, obj.dtype.itemsize) if obj.dtype.kind in "iufb" else obj.dtype.itemsize
        self.bytes += n * item  # read as stored, then widened to 64 bits by the runtime
        shape = " x ".join(str(d) for d in obj.shape) or "scalar"
        budget.check(self.bytes, f"{self.path}: {where}: field '{key}' ({shape} {obj.dtype})")
        return obj

    def fail(self, where: str, what: str) -> NetxFormatError:
        return NetxFormatError(f"{self.path}: {where}: {what}")

    def get(self, g: h5py.Group, key: str, where: str):
        obj = self.declared(g, key, where)
        if obj.dtype.kind == "S" and (obj.size or 1) * obj.dtype.itemsize > MAX_NAME_BYTES:
            raise self.fail(where, f"field '{key}' is {obj.size * obj.dtype.itemsize} bytes of text (at most {MAX_NAME_BYTES})")
        return obj[()]

    def integer(self, g, key, where, lo=None, hi=None) -> int:
        v = np.asarray(self.get(g, key, where))
        if v.size != 1 or not (np.issubdtype(v.dtype, np.integer) or np.issubdtype(v.dtype, np.bool_)
                               or (np.issubdtype(v.dtype, np.floating) and float(v.reshape(-1)[0]).is_integer())):
            raise self.fail(where, f"field '{key}' must be one integer, got {v.dtype} {v.shape}")
        x = int(v.reshape(-1)[0])
        if (lo is not None and x < lo) or (hi is not None and x > hi):
            raise self.fail(where, f"field '{key}' = {x} outside [{lo}, {hi}]")
        return x

    def int_tuple(self, g, key, where, n=None) -> tuple:
        v = np.asarray(self.get(g, key, where))
        if not np.issubdtype(v.dtype, np.integer) or v.ndim > 1:
            raise self.fail(where, f"field '{key}' must be integers, got {v.dtype} {v.shape}")
        t = tuple(int(x) for x in v.reshape(-1))
        if n is None and not 1 <= len(t) <= 3:
            raise self.fail(where, f"field '{key}' must have 1 to 3 entries, got {len(t)}")
        if n is None and int(np.prod(t, dtype=object)) > MAX_NEURONS:
            raise self.fail(where, f"field '{key}' = {t} declares more than {MAX_NEURONS:,} neurons")
        if n is not None and len(t) == 1:
            t = t * n
        if n is not None and len(t) != n:
            raise self.fail(where, f"field '{key}' must have {n} entries, got {len(t)}")
        if any(x < 0 for x in t):
            raise self.fail(where, f"field '{key}' has negative entries {t}")
        return t

    def array(self, g, key, where, ndim) -> np.ndarray:
        v = np.asarray(self.get(g, key, where))
        if v.ndim != ndim or not np.issubdtype(v.dtype, np.number):
            raise self.fail(where, f"field '{key}' must be a {ndim}-d numeric array, got {v.dtype} {v.shape}")
        if not np.all(np.isfinite(v)):
            raise self.fail(where, f"field '{key}' holds NaN or inf")
        return v

    def text(self, g, key, where) -> str:
        v = self.get(g, key, where)
        v = np.asarray(v).reshape(-1)[0] if np.asarray(v).shape else v
        return v.decode("ascii", "replace") if isinstance(v, bytes) else str(v)

    def neuron(self, g, where, required: bool = True):
        if "neuron" not in g:
            if required:
                raise self.fail(where, "missing group 'neuron'")
            return None
        n = g["neuron"]
        if not isinstance(n, h5py.Group):
            raise self.fail(where, "'neuron' is not a group")
        kind = self.text(n, "type", where + "/neuron")
        if kind == "SDNN":
            act = self.text(n, "activation", where + "/neuron") if "activation" in n else "relu"
            return SigmaDeltaNeuron(v_th_mant=self.integer(n, "vThMant", where, 0),
                                    activation=act, sigma_output="sigma_output" in n)
        if kind not in ("CUBA", "LOIHI"):
            raise self.fail(where, f"neuron type '{kind}' is not supported (CUBA, LOIHI, SDNN)")
        return CubaNeuron(
            i_decay=self.integer(n, "iDecay", where, 0, 4096),
            v_decay=self.integer(n, "vDecay", where, 0, 4096),
            v_th_mant=self.integer(n, "vThMant", where, 0),
            ref_delay=self.integer(n, "refDelay", where, 0) if "refDelay" in n else 1,
            graded_spike=bool(self.integer(n, "gradedSpike", where)) if "gradedSpike" in n else False,
            kind=kind,
        )

    def scalar(self, g, key, where) -> float | None:
        """An input block's transform entry: NetX reads it with ``int()``, so one number."""
        if key not in g:
            return None
        v = np.asarray(self.get(g, key, where))
        if v.size != 1 or not np.issubdtype(v.dtype, np.number) or not np.isfinite(v).all():
            raise self.fail(where, f"input field '{key}' must be one number (NetX reads it with int()), "
                                   f"got {v.dtype} {v.shape}")
        return float(v.reshape(-1)[0])

    def delay(self, g, where) -> np.ndarray | None:
        if "delay" not in g:
            return None
        d = np.asarray(self.get(g, "delay", where))
        if d.ndim > 2 or not np.issubdtype(d.dtype, np.number):
            raise self.fail(where, f"field 'delay' must be a number or a 1-/2-d array, got {d.dtype} {d.shape}")
        if not np.all(np.isfinite(d)) or (d.size and d.min() < 0):
            raise self.fail(where, "field 'delay' must hold finite values >= 0")
        return d

    def layer(self, g: h5py.Group, where: str):
        kind = self.text(g, "type", where)
        if kind in UNLOADABLE:
            raise self.fail(where, f"layer type '{kind}' cannot be run: Lava NetX (lava-dl 0.6) has no "
                                   f"{kind} block (fold pooling into a strided conv before export)")
        if kind not in SUPPORTED:
            raise self.fail(where, f"layer type '{kind}' cannot be run (supported: {', '.join(SUPPORTED)})")
        if kind == "input":
            return InputLayer(shape=self.int_tuple(g, "shape", where), neuron=self.neuron(g, where, False),
                              weight=self.scalar(g, "weight", where), bias=self.scalar(g, "bias", where))
        if kind == "flatten":
            return FlattenLayer(shape=self.int_tuple(g, "shape", where))
        bias = self.array(g, "bias", where, 1) if "bias" in g else None
        delay = self.delay(g, where)
        if kind in ("dense", "dense_rec"):
            w = self.array(g, "weight", where, 2)
            if "outFeatures" in g and self.integer(g, "outFeatures", where) != w.shape[0]:
                raise self.fail(where, f"outFeatures does not match weight shape {w.shape}")
            if "inFeatures" in g and self.integer(g, "inFeatures", where) != w.shape[1]:
                raise self.fail(where, f"inFeatures does not match weight shape {w.shape}")
            if delay is not None and delay.ndim == 1 and delay.size not in (w.shape[0], w.shape[1]):
                raise self.fail(where, f"delay of shape {delay.shape} fits neither the {w.shape[0]} outputs "
                                       f"nor the {w.shape[1]} inputs")
            if delay is not None and delay.ndim == 2 and delay.shape != w.shape:
                raise self.fail(where, f"delay of shape {delay.shape} does not match weight {w.shape}")
            neuron = self.neuron(g, where, required=False)
            if isinstance(neuron, SigmaDeltaNeuron) and neuron.sigma_output and bias is not None:
                raise self.fail(where, "a sigma_output neuron cannot take a bias (Lava's Sigma has none)")
            if kind == "dense":
                return DenseLayer(weight=w, neuron=neuron, bias=bias, delay=delay)
            wr = self.array(g, "weight_rec", where, 2)
            if wr.shape != (w.shape[0], w.shape[0]):
                raise self.fail(where, f"weight_rec must be ({w.shape[0]}, {w.shape[0]}), got {wr.shape}")
            if delay is not None:
                raise self.fail(where, "dense_rec with 'delay' is not supported (NetX's delayed recurrent "
                                       "synapse drops the weight exponent)")
            return RecurrentDenseLayer(weight=w, weight_rec=wr, neuron=neuron, bias=bias)
        w = self.array(g, "weight", where, 4)
        groups = self.integer(g, "groups", where, 1) if "groups" in g else 1
        shape = self.int_tuple(g, "shape", where, None)
        if len(shape) != 3 or shape[0] != w.shape[0]:
            raise self.fail(where, f"conv shape {shape} does not match weight {w.shape}")
        return ConvLayer(weight=w, neuron=self.neuron(g, where), shape=shape,
                         stride=self.int_tuple(g, "stride", where, 2),
                         padding=self.int_tuple(g, "padding", where, 2),
                         dilation=self.int_tuple(g, "dilation", where, 2),
                         groups=groups, bias=bias, delay=delay)


def _check_chain(r: _Reader, layers: list) -> None:
    """Each layer's input size must match the previous layer's output."""
    shape = None
    for i, layer in enumerate(layers):
        where = f"layer {i}"
        if isinstance(layer, InputLayer):
            if i != 0:
                raise r.fail(where, "input layer must come first")
        elif isinstance(layer, FlattenLayer):
            if shape is not None and int(np.prod(shape)) != int(np.prod(layer.shape)):
                raise r.fail(where, f"flatten of {shape} cannot give {layer.shape}")
        elif isinstance(layer, (DenseLayer, RecurrentDenseLayer)):
            if shape is not None and int(np.prod(shape)) != layer.weight.shape[1]:
                raise r.fail(where, f"dense expects {layer.weight.shape[1]} inputs, gets {shape}")
        elif isinstance(layer, ConvLayer):
            if shape is None or len(shape) != 3:
                raise r.fail(where, f"conv needs a (C, H, W) input, gets {shape}")
            if shape[0] != layer.weight.shape[1] * layer.groups:
                raise r.fail(where, f"conv expects {layer.weight.shape[1] * layer.groups} channels, gets {shape[0]}")
            kh, kw = layer.weight.shape[2:]
            out = []
            for n, k, s, p, d in zip(shape[1:], (kh, kw), layer.stride, layer.padding, layer.dilation):
                out.append(conv_output_size(n, k, s, p, d))
            if tuple(out) != tuple(layer.shape[1:]):
                raise r.fail(where, f"conv output {tuple(layer.shape)} does not follow from input {shape}")
        if getattr(layer, "bias", None) is not None and not isinstance(layer, InputLayer):
            nb, n_out = int(np.asarray(layer.bias).size), int(np.prod(layer.shape))
            if nb not in (1, n_out, int(layer.shape[0])):
                raise r.fail(where, f"bias of {nb} values fits neither the {n_out} neurons nor the channels")
        shape = tuple(layer.shape)
    if not any(isinstance(l, (DenseLayer, RecurrentDenseLayer, ConvLayer)) for l in layers):
        raise r.fail("layers", "no dense or conv layer")


def read(path) -> NetxModel:
    """Read and validate a NetX file. Raises :class:`NetxFormatError` on any fault."""
    path = Path(path)
    r = _Reader(path)
    if not path.is_file():
        raise NetxFormatError(f"{path}: no such file")
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise NetxFormatError(f"{path}: not a readable HDF5 file ({str(e).split('(')[0].strip()})") from None
    with f:
        try:
            if "layer" not in f or not isinstance(f["layer"], h5py.Group):
                raise r.fail("file", "no '/layer' group")
            lg = f["layer"]
            keys = sorted(lg.keys(), key=lambda k: int(k) if k.isdigit() else -1)
            if not keys or keys != [str(i) for i in range(len(keys))]:
                raise r.fail("/layer", f"groups must be named 0..n-1, found {list(lg.keys())[:8]}")
            if len(keys) > MAX_LAYERS:
                raise r.fail("/layer", f"{len(keys)} layers (at most {MAX_LAYERS})")
            layers = [r.layer(lg[k], f"layer {k}") for k in keys]
            card: dict[str, Any] = {}
            if "model_card" in f:
                try:
                    card = json.loads(r.text(f, "model_card", "model_card"))
                except json.JSONDecodeError as e:
                    raise r.fail("model_card", f"not valid JSON ({e.msg})") from None
                except RecursionError:
                    raise r.fail("model_card", "not valid JSON (nested too deeply)") from None
        except (OSError, KeyError, RuntimeError) as e:  # truncated datasets surface here
            raise NetxFormatError(f"{path}: damaged HDF5 content ({e})") from None
    _check_chain(r, layers)
    synaptic = [l for l in layers if isinstance(l, (DenseLayer, ConvLayer))]
    check_card(card, path, num_outputs=int(synaptic[-1].shape[0]))
    return NetxModel(layers=layers, card=card)
