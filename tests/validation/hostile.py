"""Generators of hostile inputs: damaged copies of a valid run folder, NetX file and hardware profile.

Each generator is ``(name, make)``; ``make(path, ...)`` writes the hostile file at ``path``. Nothing
here is a binary fixture: every file is produced from the valid tiny run at test time.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import h5py
import numpy as np
import torch


# ------------------------------------------------------------------------------ run config.json
def _cfg(**changes):
    def mutate(d):
        d = dict(d)
        for k, v in changes.items():
            if v is _DROP:
                d.pop(k, None)
            else:
                d[k] = v
        return d
    return mutate


_DROP = object()
CONFIG_MUTATIONS = [  # (name, dict -> object dumped as JSON | raw text | "DIR")
    ("encoding-number", _cfg(encoding=5)),
    ("encoding-name-number", _cfg(encoding={"name": 3})),
    ("encoding-unknown", _cfg(encoding={"name": "bogus"})),
    ("encoding-extra-key", _cfg(encoding={"name": "early_burst", "rate": 3})),
    ("encoding-fusion-parts-text", _cfg(encoding={"name": "fusion", "parts": "abc"})),
    ("neuron-number", _cfg(neuron=3)),
    ("neuron-unknown-key", _cfg(neuron={"threshold": 1.25, "bogus": 1})),
    ("neuron-threshold-text", _cfg(neuron={"threshold": "x"})),
    ("neuron-decay-2", _cfg(neuron={"current_decay": 2.0})),
    ("neuron-threshold-negative", _cfg(neuron={"threshold": -1.0})),
    ("steps-abc", _cfg(steps="abc")),
    ("steps-null", _cfg(steps=None)),
    ("steps-1e9", _cfg(steps=1_000_000_000)),
    ("steps-0", _cfg(steps=0)),
    ("steps-negative", _cfg(steps=-1)),
    ("steps-float", _cfg(steps=1.5)),
    ("steps-true", _cfg(steps=True)),
    ("dataset-7", _cfg(dataset=7)),
    ("dataset-bogus", _cfg(dataset="bogus")),
    ("model-bogus", _cfg(model="bogus")),
    ("model-list", _cfg(model=["mlp"])),
    ("seed-abc", _cfg(seed="abc")),
    ("seed-negative", _cfg(seed=-1)),
    ("seed-2^64", _cfg(seed=2 ** 64)),
    ("lr-negative", _cfg(lr=-1)),
    ("lr-zero", _cfg(lr=0)),
    ("lr-nan", "NAN"),
    ("batch-size-0", _cfg(batch_size=0)),
    ("limit-0", _cfg(limit=0)),
    ("epochs-negative", _cfg(epochs=-1)),
    ("ann-yes", _cfg(ann="yes")),
    ("loss-bogus", _cfg(loss="bogus")),
    ("lr-schedule-bogus", _cfg(lr_schedule="bogus")),
    ("noise-number", _cfg(noise=5)),
    ("noise-nan", _cfg(noise="gaussian:nan")),
    ("adv-nan", _cfg(adv="fgsm:nan")),
    ("mppd-negative", _cfg(mppd=-1)),
    ("weight-scale-0", _cfg(weight_scale=0)),
    ("unknown-key", _cfg(bogus=1)),
    ("top-level-list", lambda d: [d]),
    ("top-level-string", lambda d: "config"),
    ("empty-file", ""),
    ("invalid-json", "{\"steps\": 4,"),
    ("not-utf8", b"\xff\xfe\x00garbage"),
    ("nested-deeply", "[" * 100_000 + "]" * 100_000),
    ("directory", "DIR"),
]


def write_config(path: Path, valid: dict, mutation) -> None:
    if path.is_dir():
        import shutil
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()
    if mutation == "DIR":
        path.mkdir()
    elif mutation == "NAN":
        path.write_text(json.dumps({**valid, "lr": 0.001}).replace('"lr": 0.001', '"lr": NaN'))
    elif isinstance(mutation, bytes):
        path.write_bytes(mutation)
    elif isinstance(mutation, str):
        path.write_text(mutation)
    else:
        path.write_text(json.dumps(mutation(valid)))


# ------------------------------------------------------------------------------ checkpoint.pt
class _Evil:
    """Pickled as a custom class: ``weights_only`` loading must refuse it (and run nothing)."""

    def __reduce__(self):
        return (print, ("code ran",))


def _ckpt(change):
    def make(path: Path, valid: dict):
        torch.save(change(valid), path)
    return make


def _raw(data: bytes):
    def make(path: Path, valid: dict):
        path.write_bytes(data)
    return make


def _wrong_shape(v):
    s = {k: t.clone() for k, t in v["model"].items()}
    k = sorted(s)[0]
    s[k] = torch.zeros(3, 3)
    return {**v, "model": s}


def _nan(v):
    s = {k: t.clone() for k, t in v["model"].items()}
    k = next(k for k in sorted(s) if s[k].is_floating_point())
    s[k] = s[k].clone()
    s[k].view(-1)[0] = math.nan
    return {**v, "model": s}


CHECKPOINT_MUTATIONS = [
    ("empty", _raw(b"")),
    ("garbage", _raw(b"not a checkpoint at all")),
    ("code", _ckpt(lambda v: {"model": _Evil()})),
    ("list", _ckpt(lambda v: [1, 2, 3])),
    ("no-model", _ckpt(lambda v: {k: x for k, x in v.items() if k != "model"})),
    ("model-not-dict", _ckpt(lambda v: {**v, "model": 5})),
    ("model-empty", _ckpt(lambda v: {**v, "model": {}})),
    ("wrong-shape", _ckpt(_wrong_shape)),
    ("nan-weight", _ckpt(_nan)),
    ("epoch-text", _ckpt(lambda v: {**v, "epoch": "x"})),
]


# ------------------------------------------------------------------------------ metrics.json
METRICS_MUTATIONS = [
    ("invalid-json", lambda m: "{"),
    ("epochs-number", lambda m: json.dumps({"epochs": 3})),
    ("accuracy-text", lambda m: json.dumps({"epochs": [{**m["epochs"][0], "test_accuracy": "high"}]})),
    ("accuracy-2", lambda m: json.dumps({"epochs": [{**m["epochs"][0], "test_accuracy": 2.0}]})),
    ("epoch-out-of-order", lambda m: json.dumps({"epochs": [{**m["epochs"][0], "epoch": 7}]})),
]


# ------------------------------------------------------------------------------ NetX files
def _h5(edit):
    """A copy of the valid NetX file with ``edit(h5py.File)`` applied."""
    def make(path: Path, valid: Path):
        path.write_bytes(valid.read_bytes())
        with h5py.File(path, "r+") as f:
            edit(f)
    return make


def _replace(f, key, **kw):
    del f[key]
    f.create_dataset(key, **kw)


def _card(**changes):
    def edit(f):
        card = json.loads(f["model_card"][()])
        for k, v in changes.items():
            if v is _DROP:
                card.pop(k, None)
            else:
                card[k] = v
        _replace(f, "model_card", data=json.dumps(card))
    return edit


def _dense_key(f) -> str:
    return next(k for k in f["layer"] if f["layer"][k]["type"][()][0] == b"dense")


def _edit_dense(fn):
    def edit(f):
        fn(f["layer"][_dense_key(f)])
    return edit


def _huge_weight(g):
    del g["weight"]
    g.create_dataset("weight", shape=(100_000, 100_000), dtype="float32")  # declared, never stored


def _raw_file(data: bytes):
    def make(path: Path, valid: Path):
        path.write_bytes(data)
    return make


def _truncated(path: Path, valid: Path):
    b = valid.read_bytes()
    path.write_bytes(b[: len(b) // 2])


def _rename_layer(f):
    f["layer"].move("1", "x")


NETX_MUTATIONS = [
    ("empty-file", _raw_file(b"")),
    ("text-file", _raw_file(b"hello, I am not HDF5\n")),
    ("truncated", _truncated),
    ("no-layer-group", _h5(lambda f: f.__delitem__("layer"))),
    ("layer-misnamed", _h5(_rename_layer)),
    ("layer-type-unknown", _h5(_edit_dense(lambda g: _replace(g, "type", data=np.array([b"lstm"]))))),
    ("weight-nan", _h5(_edit_dense(lambda g: _replace(g, "weight", data=np.full(g["weight"].shape, np.nan, "f4"))))),
    ("weight-1d", _h5(_edit_dense(lambda g: _replace(g, "weight", data=np.zeros(10, "f4"))))),
    ("weight-text", _h5(_edit_dense(lambda g: _replace(g, "weight", data=np.array([b"abc"]))))),
    ("weight-100000x100000", _h5(_edit_dense(_huge_weight))),
    ("weight-chain-mismatch", _h5(_edit_dense(lambda g: _replace(g, "weight", data=np.zeros((g["weight"].shape[0], 7), "f4"))))),
    ("neuron-threshold-missing", _h5(_edit_dense(lambda g: g["neuron"].__delitem__("vThMant")))),  # (no neuron at all is a valid NetX layer)
    ("idecay-99999", _h5(_edit_dense(lambda g: _replace(g["neuron"], "iDecay", data=99999)))),
    ("vth-negative", _h5(_edit_dense(lambda g: _replace(g["neuron"], "vThMant", data=-1)))),
    ("input-shape-4d", _h5(lambda f: _replace(f["layer"]["0"], "shape", data=np.array([1, 1, 28, 28])))),
    ("input-shape-huge", _h5(lambda f: _replace(f["layer"]["0"], "shape", data=np.array([100_000, 100_000, 100])))),
    ("card-invalid-json", _h5(lambda f: _replace(f, "model_card", data="{not json"))),
    ("card-list", _h5(lambda f: _replace(f, "model_card", data="[1, 2]"))),
    ("card-steps-abc", _h5(_card(steps="abc"))),
    ("card-steps-null", _h5(_card(steps=None))),
    ("card-steps-1e9", _h5(_card(steps=1_000_000_000))),
    ("card-steps-0", _h5(_card(steps=0))),
    ("card-dataset-7", _h5(_card(dataset=7))),
    ("card-seed-abc", _h5(_card(seed="abc"))),
    ("card-encoding-number", _h5(_card(encoding=5))),
    ("card-encoding-bogus", _h5(_card(encoding={"name": "bogus"}))),
    ("card-dataset-bogus", _h5(_card(dataset="bogus"))),
    ("card-classes-count", _h5(_card(classes=["a", "b"]))),
    ("card-neuron-unknown-key", _h5(_card(neuron={"bogus": 1}))),
    ("card-input-shape-text", _h5(_card(input_shape="28x28"))),
]
# NetX faults that only a command encoding data for the model can see (info/fit need no card)
CARD_ONLY_NEEDED_TO_RUN = {"card-steps-null", "card-encoding-bogus", "card-dataset-bogus"}


# ------------------------------------------------------------------------------ hardware profiles
PROFILE_OK = """[profile]
name = "hostile"
kind = "neuromorphic"
description = "test"

[energy]
synop = {value = 23.6, unit = "pJ", source = "test", quality = "proxy"}
"""

PROFILE_MUTATIONS = [
    ("invalid-toml", "[profile\nname = 1"),
    ("no-profile-table", "[energy]\nsynop = {value = 1, unit = \"pJ\", source = \"s\", quality = \"proxy\"}\n"),
    ("kind-bogus", PROFILE_OK.replace('"neuromorphic"', '"quantum"')),
    ("value-text", PROFILE_OK.replace("value = 23.6", 'value = "lots"')),
    ("value-nan", PROFILE_OK.replace("value = 23.6", "value = nan")),
    ("value-inf", PROFILE_OK.replace("value = 23.6", "value = inf")),
    ("value-negative", PROFILE_OK.replace("value = 23.6", "value = -1.0")),
    ("value-bool", PROFILE_OK.replace("value = 23.6", "value = true")),
    ("unit-bogus", PROFILE_OK.replace('unit = "pJ"', 'unit = "furlongs"')),
    ("quality-bogus", PROFILE_OK.replace('"proxy"', '"trust me"')),
    ("unknown-field", PROFILE_OK + 'bogus = {value = 1, unit = "pJ", source = "s", quality = "proxy"}\n'),
    ("figure-not-table", PROFILE_OK.replace("synop = {value = 23.6, unit = \"pJ\", source = \"test\", quality = \"proxy\"}",
                                            "synop = 23.6")),
    ("required-missing", PROFILE_OK.split("[energy]")[0]),
]
