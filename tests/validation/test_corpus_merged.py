"""Hostile-input corpus for the commands merged after issue 12: import/convert (NIR files), study,
card-less run/report --input arrays, fit --steps, --threads, train --augment.

Same contract as test_corpus.py: exit code, one stderr line naming the file or option, no
traceback, nothing created, changed or removed in the work folder.
"""
from __future__ import annotations

import numpy as np
import pytest

from test_corpus import refuse_in

_O = []


def _opt(cmd, opt, values, needle=None):
    for v in values:
        _O.append((f"{cmd[0]} {opt} {v}", [*cmd, opt, v], needle or opt))


_IMPORT = ["import", "{work}/model.nir", "--out", "{work}/o.net"]
_opt(_IMPORT, "--steps", ["0", "-1", "abc", "99999999999999"])
_opt(_IMPORT, "--limit", ["0", "-5", "abc"])
_opt(_IMPORT, "--min-agreement", ["nan", "1.5", "-0.1", "abc"])
_opt(_IMPORT, "--dt", ["0", "-1", "nan", "inf"])
_opt(_IMPORT, "--seed", ["-1", "99999999999999999999999"])
_opt(["fit", "{work}/model.net", "--target", "loihi2"], "--steps", ["0", "-1", "abc"])
_opt(["run", "{work}/model.net", "--limit", "4"], "--steps", ["0", "abc"])
_opt(["report", "{work}/model.net", "--target", "loihi2", "--limit", "4"], "--steps", ["0", "nan"])
_opt(["study", "{work}/g.toml", "--out", "{work}/s"], "--workers", ["0", "-1", "abc", "99999"])
_opt(["study", "{work}/g.toml", "--out", "{work}/s"], "--limit", ["0", "-5"])
_opt(["train", "--out", "{work}/new", "--limit", "8"], "--augment", ["bogus", "crop0", "crop-1", "crop99999999",
                                                                    "flip+flip", "crop4+crop4"])
for v in ("0", "-1", "abc", "1.5", "99999999"):
    _O.append((f"--threads {v}", ["--threads", v, "info", "{work}/model.net"], "--threads"))
_opt(["study", "{work}/g.toml", "--out", "{work}/s"], "--ray", ["abc", "host:0", "ray://h:99999", "127.0.0.1:1"])
_O.append(("run --save-output input", ["run", "{work}/model.net", "--limit", "4", "--save-output", "{work}/model.net"],
           "--save-output"))
_O.append(("run --save-output in run", ["run", "{work}/model.net", "--limit", "4", "--save-output", "{work}/run/o.npy"],
           "--save-output"))
_O.append(("run --save-output folder", ["run", "{work}/model.net", "--limit", "4", "--save-output", "{work}/run"],
           "--save-output"))
_O.append(("run --encoding bogus", ["run", "{work}/model.net", "--limit", "4", "--encoding", "bogus"], "bogus"))
_O.append(("import --encoding bogus", ["import", "{work}/model.nir", "--out", "{work}/o.net", "--encoding", "bogus"],
           "bogus"))
_O.append(("import --dataset bogus", ["import", "{work}/model.nir", "--out", "{work}/o.net", "--encoding", "poisson",
                                      "--dataset", "bogus"], "bogus"))
_O.append(("convert --out input", ["convert", "{work}/model.net", "--to", "nir", "--out", "{work}/model.net"], "--out"))
_O.append(("import --out input", ["import", "{work}/model.nir", "--out", "{work}/model.nir"], "--out"))
_O.append(("import --out in run", ["import", "{work}/model.nir", "--out", "{work}/run/x.net"], "--out"))
_O.append(("study --out grid", ["study", "{work}/g.toml", "--out", "{work}/g.toml"], "--out"))
_O.append(("study --out run", ["study", "{work}/g.toml", "--out", "{work}/run"], "--out"))


def test_threads_from_the_environment(work):
    refuse_in(work, ["info", work / "model.net"], 2, "NEURODEPLOY_THREADS", env={"NEURODEPLOY_THREADS": "abc"})
    refuse_in(work, ["info", work / "model.net"], 2, "NEURODEPLOY_THREADS", env={"NEURODEPLOY_THREADS": "0"})


@pytest.fixture
def nwork(work):
    from neurodeploy.nir.api import convert_file

    convert_file(work / "model.net", work / "model.nir")
    (work / "g.toml").write_text(_grid_text())   # a valid grid: only the option is wrong
    return work


@pytest.mark.parametrize("case", _O, ids=[c[0] for c in _O])
def test_merged_command_options(case, nwork):
    _, args, needle = case
    refuse_in(nwork, [a.format(work=nwork) for a in args], 2, needle)


# ------------------------------------------------------------------------------ NIR files
def _h5(edit):
    def make(path, valid):
        import h5py

        path.write_bytes(valid.read_bytes())
        with h5py.File(path, "r+") as f:
            edit(f["node"])
    return make


def _nodes(f):
    return f["nodes"]


def _neuron(f):
    return next(n for n in _nodes(f) if n.startswith("lif"))


def _weight(f):
    return next(n for n in _nodes(f) if "weight" in _nodes(f)[n])


def _set(group, key, **kw):
    if key in group:
        del group[key]
    group.create_dataset(key, **kw)


def _huge(f):
    g = _nodes(f)[_weight(f)]
    del g["weight"]
    g.create_dataset("weight", shape=(100_000, 100_000), dtype="float32")


def _cycle(f):
    e = [tuple(x.decode() if isinstance(x, bytes) else x for x in row) for row in f["edges"][()]]
    e.append((_neuron(f), _weight(f)))
    e.append((_neuron(f), e[0][0]))
    _set(f, "edges", data=np.array(e, dtype=object), dtype=__import__("h5py").string_dtype())


def _card(f):
    import json

    card = json.loads(f["metadata"]["neurodeploy_model_card"][()])
    card["steps"] = "abc"
    _set(f["metadata"], "neurodeploy_model_card", data=json.dumps(card))


NIR_MUTATIONS = [
    ("empty-file", lambda p, v: p.write_bytes(b""), 3),
    ("text-file", lambda p, v: p.write_text("not hdf5"), 3),
    ("no-node-group", _h5(lambda f: None) if False else (lambda p, v: __import__("h5py").File(p, "w").close()), 3),
    ("weight-nan", _h5(lambda f: _set(_nodes(f)[_weight(f)], "weight",
                                      data=np.full(_nodes(f)[_weight(f)]["weight"].shape, np.nan, "f4"))), 3),
    ("weight-inf", _h5(lambda f: _set(_nodes(f)[_weight(f)], "weight",
                                      data=np.full(_nodes(f)[_weight(f)]["weight"].shape, np.inf, "f4"))), 3),
    ("weight-complex", _h5(lambda f: _set(_nodes(f)[_weight(f)], "weight", data=np.zeros((10, 4), np.complex64))), 3),
    ("weight-1d", _h5(lambda f: _set(_nodes(f)[_weight(f)], "weight", data=np.zeros(7, "f4"))), 3),
    ("weight-huge", _h5(_huge), 2),
    ("tau-nan", _h5(lambda f: _set(_nodes(f)[_neuron(f)], "tau_mem",
                                   data=np.full(_nodes(f)[_neuron(f)]["tau_mem"].shape, np.nan))), 3),
    ("threshold-negative", _h5(lambda f: _set(_nodes(f)[_neuron(f)], "v_threshold",
                                              data=-np.ones(_nodes(f)[_neuron(f)]["v_threshold"].shape))), 3),
    ("type-missing", _h5(lambda f: _nodes(f)[_neuron(f)].__delitem__("type")), 3),
    ("type-number", _h5(lambda f: _set(_nodes(f)[_neuron(f)], "type", data=5)), 3),
    ("type-unknown", _h5(lambda f: _set(_nodes(f)[_neuron(f)], "type", data="LSTM")), 3),
    ("node-missing", _h5(lambda f: _nodes(f).__delitem__(_neuron(f))), 3),
    ("input-missing", _h5(lambda f: _nodes(f).__delitem__("input")), 3),
    ("input-shape-huge", _h5(lambda f: _set(_nodes(f)["input"], "shape", data=np.array([100_000, 100_000, 100]))), 3),
    ("input-shape-negative", _h5(lambda f: _set(_nodes(f)["input"], "shape", data=np.array([-1, 28, 28]))), 3),
    ("edges-numbers", _h5(lambda f: _set(f, "edges", data=np.zeros((3, 2)))), 3),
    ("edges-missing", _h5(lambda f: f.__delitem__("edges")), 3),
    ("cycle", _h5(_cycle), 3),
    ("card-steps-abc", _h5(_card), 3),
]


# what the line must name besides the file: the node and the field
NIR_NAMES = {"weight-nan": ("node 'fc", "'weight'"), "weight-inf": ("node 'fc", "'weight'"),
             "weight-complex": ("node 'fc", "'weight'"), "weight-1d": ("node 'fc", "'weight'"),
             "weight-huge": ("/weight",), "tau-nan": ("node 'lif", "'tau_mem'"),
             "threshold-negative": ("node 'lif", "v_threshold"), "type-missing": ("node 'lif", "'type'"),
             "type-number": ("node 'lif", "'type'"), "type-unknown": ("node 'lif", "'type'", "LSTM"),
             "node-missing": ("node 'lif",), "input-missing": ("node 'input'",), "input-shape-huge": ("node 'fc",),
             "input-shape-negative": ("node 'input'", "shape"), "edges-numbers": ("'edges'",),
             "edges-missing": ("'edges'",), "cycle": ("cycle",), "card-steps-abc": ("model card", "'steps'")}


@pytest.mark.parametrize("mutation", NIR_MUTATIONS, ids=[m[0] for m in NIR_MUTATIONS])
def test_hostile_nir(mutation, nwork):
    name, make, code = mutation
    make(nwork / "bad.nir", nwork / "model.nir")
    r = refuse_in(nwork, ["--memory-limit", "1G", "import", nwork / "bad.nir", "--out", nwork / "o.net", "--limit", "4"],
                  code, "bad.nir")
    for needle in NIR_NAMES.get(name, ()):
        assert needle in r.stderr, f"{needle!r} not named in {r.stderr!r}"
    if code == 2:
        assert "memory limit" in r.stderr


def test_the_valid_nir_file_imports(nwork):
    """The NIR corpus is not vacuous: the undamaged file imports."""
    from test_corpus import invoke

    r = invoke(["import", nwork / "model.nir", "--out", nwork / "o.net", "--limit", "4"])
    assert r.exit_code == 0, r.stderr
    assert (nwork / "o.net").is_file()


# ------------------------------------------------------------------------------ --input arrays
def _npy(x):
    return lambda p: np.save(p, x, allow_pickle=True)


def _huge_npy(p):
    from numpy.lib import format as npy

    with open(p, "wb") as f:
        npy.write_array_header_1_0(f, {"descr": "|u1", "fortran_order": False, "shape": (10 ** 8, 784, 8)})
        f.write(b"\0" * 100)


def _nan_input(p):
    x = np.zeros((4, 784, 4), np.float32)
    x[0, 0, 0] = np.nan
    np.save(p, x)


INPUTS = [
    ("ndim-1", _npy(np.zeros(4, np.uint8)), 3),
    ("ndim-6", _npy(np.zeros((1, 1, 1, 1, 1, 1), np.uint8)), 3),
    ("object", _npy(np.array([{"a": 1}] * 4, dtype=object)), 3),
    ("strings", _npy(np.array([["a"] * 4] * 4)), 3),
    ("complex", _npy(np.zeros((4, 784, 4), np.complex64)), 3),
    ("nan", _nan_input, 3),
    ("wrong-shape", _npy(np.zeros((4, 100, 4), np.uint8)), 3),
    ("zero-samples", _npy(np.zeros((0, 784, 4), np.uint8)), 3),
    ("zero-steps", _npy(np.zeros((4, 784, 0), np.uint8)), 3),
    ("huge-N", _huge_npy, 2),
    ("garbage", lambda p: p.write_text("hello"), 3),
]


@pytest.mark.parametrize("command", ["run", "report"])
@pytest.mark.parametrize("case", INPUTS, ids=[c[0] for c in INPUTS])
def test_hostile_input_array(case, command, work):
    name, make, code = case
    make(work / "x.npy")
    args = {"run": ["run", work / "model.net", "--input", work / "x.npy"],
            "report": ["report", work / "model.net", "--target", "loihi2", "--input", work / "x.npy"]}[command]
    r = refuse_in(work, ["--memory-limit", "1G", *args], code, "x.npy")
    if code == 2:
        assert "memory limit" in r.stderr


def test_hostile_labels(work):
    np.save(work / "x.npy", np.zeros((4, 1, 28, 28, 4), np.uint8))
    for labels in (np.zeros(4, np.float32), np.zeros(3, np.int64), np.array([{"a": 1}] * 4, dtype=object)):
        np.save(work / "y.npy", labels, allow_pickle=True)
        refuse_in(work, ["run", work / "model.net", "--input", work / "x.npy", "--labels", work / "y.npy"], 3, "y.npy")


# ------------------------------------------------------------------------------ study grids
# (tests/study/test_grid.py covers bad rows and settings; these are the file-level faults)
def _grid_text():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "study"))
    from study_helpers import TINY

    return TINY.replace("{epochs}", "1")


GRIDS = [
    ("folder", "DIR", 3, "g.toml"),
    ("not-utf8", b"\xff\xfe\x00", 3, "g.toml"),
    ("nested-deeply", "a = " + "[" * 5000 + "]" * 5000, 3, "g.toml"),
    ("eps-nan", lambda t: t.replace("eps = [0.1]", "eps = [nan]"), 3, "study.eps"),
    ("eps-inf", lambda t: t.replace("eps = [0.1]", "eps = [inf]"), 3, "study.eps"),
    ("steps-1e9", lambda t: t.replace("steps = 4", "steps = 1000000000"), 3, "steps"),
    ("seed-2^64", lambda t: t.replace("seed = 0", "seed = 18446744073709551616"), 3, "seed"),
    ("limit-huge", lambda t: t.replace("limit = 16", "limit = 1000000000000"), 2, "memory limit"),
    ("lr-nan", lambda t: t.replace("batch_size = 32", "batch_size = 32\nlr = nan"), 3, "lr"),
    ("augment-bogus", lambda t: t.replace("batch_size = 32", 'batch_size = 32\naugment = "crop0"'), 3, "augment"),
]


@pytest.mark.parametrize("case", GRIDS, ids=[c[0] for c in GRIDS])
def test_hostile_study_grid(case, work):
    _, make, code, needle = case
    g = work / "g.toml"
    if make == "DIR":
        g.mkdir()
    elif isinstance(make, bytes):
        g.write_bytes(make)
    elif isinstance(make, str):
        g.write_text(make)
    else:
        g.write_text(make(_grid_text()))
    r = refuse_in(work, ["--memory-limit", "1G", "study", g, "--out", work / "s"], code, needle)
    assert "g.toml" in r.stderr


# ------------------------------------------------------------------------------ study folders (--summarize)
PLAN = {"grid": {"name": "t", "path": "g.toml", "target": "loihi2", "eps": [0.1], "limit": 16, "seed": 0,
                 "seed_pgd_steps": 2, "cells": [{"cell_id": "c1", "name": "SNN", "row": "SNN", "exit": "off"},
                                                {"cell_id": "c2", "name": "ANN", "row": "ANN", "exit": "off"}]}}
RESULT = {"cell": "SNN", "row": "SNN", "exit": "off", "kind": "snn", "clean": 0.5, "exit_step_mean": 4.0, "steps": 4,
          "suite": {"0.1": 0.1}, "seed_pgd": {"0.1": 0.2}, "energy": None, "train": {}}


def _grid_with(**kw):
    return {"grid": {**PLAN["grid"], **kw}}


def _cell0(**kw):
    return _grid_with(cells=[{**PLAN["grid"]["cells"][0], **kw}])


FOLDERS = [  # (name, plan, result, error.json of c2, file named)
    ("plan-invalid-json", "{", RESULT, None, "plan.json"),
    ("plan-list", [1], RESULT, None, "plan.json"),
    ("plan-no-grid", {"format": 5}, RESULT, None, "plan.json"),
    ("plan-eps-text", _grid_with(eps=["x"]), RESULT, None, "plan.json"),
    ("plan-eps-empty", _grid_with(eps=[]), RESULT, None, "plan.json"),
    ("plan-limit-0", _grid_with(limit=0), RESULT, None, "plan.json"),
    ("plan-cells-number", _grid_with(cells=5), RESULT, None, "plan.json"),
    ("plan-cell-id-escapes", _cell0(cell_id="../../etc"), RESULT, None, "plan.json"),
    ("plan-cell-name-number", _cell0(name=5), RESULT, None, "plan.json"),
    ("result-list", PLAN, [1], None, "result.json"),
    ("result-clean-text", PLAN, {**RESULT, "clean": "high"}, None, "result.json"),
    ("result-clean-nan", PLAN, "NAN", None, "result.json"),
    ("result-kind-bogus", PLAN, {**RESULT, "kind": "cnn"}, None, "result.json"),
    ("result-exit-step-null", PLAN, {**RESULT, "exit_step_mean": None}, None, "result.json"),
    ("result-suite-list", PLAN, {**RESULT, "suite": [0.1]}, None, "result.json"),
    ("result-suite-value-list", PLAN, {**RESULT, "suite": {"0.1": [1]}}, None, "result.json"),
    ("result-checks-number", PLAN, {**RESULT, "masking_checks_failed": 3}, None, "result.json"),
    ("result-attack-seconds-negative", PLAN, {**RESULT, "attack_seconds": {"suite": -1.0}}, None, "result.json"),
    ("result-attack-seconds-text", PLAN, {**RESULT, "attack_seconds": {"suite": "long"}}, None, "result.json"),
    ("error-list", PLAN, RESULT, [1], "error.json"),
    ("error-error-number", PLAN, RESULT, {"error": 5}, "error.json"),
]


def _write_folder(s, plan, result, error):
    import json

    (s / "cells" / "c1").mkdir(parents=True)
    (s / "cells" / "c2").mkdir()
    dump = (lambda x: x if isinstance(x, str) and x != "NAN" else json.dumps(x))
    (s / "plan.json").write_text(dump(plan))
    if result == "NAN":
        (s / "cells" / "c1" / "result.json").write_text(json.dumps(RESULT).replace('"clean": 0.5', '"clean": NaN'))
    else:
        (s / "cells" / "c1" / "result.json").write_text(dump(result))
    if error is not None:
        (s / "cells" / "c2" / "error.json").write_text(dump(error))


@pytest.mark.parametrize("case", FOLDERS, ids=[c[0] for c in FOLDERS])
def test_hostile_study_folder(case, tmp_path):
    _, plan, result, error, needle = case
    _write_folder(tmp_path / "s", plan, result, error)
    refuse_in(tmp_path, ["study", tmp_path / "s", "--summarize"], 3, needle)


def test_the_valid_study_folder_summarizes(tmp_path):
    """The folder corpus is not vacuous: the undamaged folder summarizes."""
    from test_corpus import invoke

    _write_folder(tmp_path / "s", PLAN, RESULT, {"error": "boom"})
    r = invoke(["study", tmp_path / "s", "--summarize"])
    assert r.exit_code == 0, r.stderr
    md = tmp_path / "s" / "summary" / "study.md"
    assert md.is_file() and "boom" in md.read_text()


def test_summarize_takes_no_out_and_no_missing_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    refuse_in(tmp_path, ["study", tmp_path / "empty", "--summarize"], 3, "plan.json")
    refuse_in(tmp_path, ["study", tmp_path / "nope", "--summarize"], 3, "nope")
    refuse_in(tmp_path, ["study", tmp_path / "empty", "--summarize", "--out", tmp_path / "o"], 2, "--summarize")


# ------------------------------------------------------------------------------ convert, export --format nir
CONVERT_CASES = [m for m in __import__("hostile").NETX_MUTATIONS
                 if m[0] in ("empty-file", "text-file", "truncated", "weight-nan", "weight-100000x100000",
                             "weight-chain-mismatch", "neuron-missing", "card-steps-abc", "card-invalid-json")]


@pytest.mark.parametrize("mutation", CONVERT_CASES, ids=[m[0] for m in CONVERT_CASES])
def test_convert_hostile_netx(mutation, work):
    name, make = mutation
    make(work / "bad.net", work / "model.net")
    refuse_in(work, ["convert", work / "bad.net", "--to", "nir", "--out", work / "o.nir"],
              2 if name == "weight-100000x100000" else 3, "bad.net")


def test_export_nir_never_overwrites_its_run(work):
    run = work / "run"
    for out in (run / "checkpoint.pt", run / "m.nir", run):
        refuse_in(work, ["export", run, "--format", "nir", "--out", out, "--check-samples", "0"], 2, "--out")


# ------------------------------------------------------------------------------ Ctrl-C
@pytest.mark.parametrize("command", ["convert", "import", "study", "summarize", "doctor"])
def test_ctrl_c_in_merged_commands(command, nwork, monkeypatch):
    import neurodeploy.doctor as doctor
    import neurodeploy.netx as netx_pkg
    import neurodeploy.nir.graph as graph
    import neurodeploy.study.summary as summary

    def interrupt(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(netx_pkg, "read", interrupt)
    monkeypatch.setattr(graph, "check_file", interrupt, raising=False)
    monkeypatch.setattr("neurodeploy.nir.schema.check_file", interrupt)
    monkeypatch.setattr("neurodeploy.study.runner.load_grid", interrupt)
    monkeypatch.setattr(summary, "collect", interrupt)
    monkeypatch.setattr(doctor, "checks", interrupt)
    (nwork / "s").mkdir()
    args = {"convert": ["convert", nwork / "model.net", "--to", "nir", "--out", nwork / "o.nir"],
            "import": ["import", nwork / "model.nir", "--out", nwork / "o.net"],
            "study": ["study", nwork / "g.toml", "--out", nwork / "out"],
            "summarize": ["study", nwork / "s", "--summarize"],
            "doctor": ["doctor"]}[command]
    r = refuse_in(nwork, args, 130, "interrupted")
    assert r.stderr.strip() == "interrupted"
