"""The command line on card-less NetX files made by lava-dl: info names what the card lacks,
fit/report/run accept them with --input/--steps, outputs are saved as (N, *output_shape, T)."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from neurodeploy import netx
from neurodeploy.cli import main
from neurodeploy.runtime.emu import emulate


def _cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def arrays(tmp_path_factory):
    d = tmp_path_factory.mktemp("cardless_inputs")
    rng = np.random.default_rng(0)
    files = {"dense_x": d / "xd.npy", "dense_y": d / "yd.npy", "conv_x": d / "xc.npz", "sd_x": d / "xs.h5",
             "frames": d / "fr.npy"}
    np.save(files["dense_x"], rng.integers(0, 300, (12, 20, 10)).astype(np.int32))
    np.save(files["dense_y"], rng.integers(0, 5, 12))
    np.savez(files["conv_x"], x=(rng.random((10, 2, 8, 8, 10)) < 0.3).astype(np.uint8), other=np.zeros(3))
    import h5py
    with h5py.File(files["sd_x"], "w") as f:
        f.create_dataset("input", data=rng.integers(-50, 120, (6, 12, 8)).astype(np.int16))
    np.save(files["frames"], rng.integers(-20, 60, (7, 20)))
    return files


def test_info_names_missing_card_fields_and_input_modes(lavadl_files):
    r = _cli("info", lavadl_files["dense"])
    assert r.exit_code == 0, r.output
    assert "model card lacks: encoding, steps, dataset, classes" in r.output
    assert "input_shape: (20)" in r.output and "a_in | bias" in r.output and "dense_rec" in r.output
    r = _cli("info", lavadl_files["sdnn"])
    assert "graded values" in r.output and "bias" not in r.output.split("input modes:")[1].split(";")[0]


def test_fit_accepts_card_less_files(lavadl_files):
    for name in ("dense", "conv", "sdnn"):
        r = _cli("fit", lavadl_files[name], "--target", "loihi2", "--steps", 16)
        assert r.exit_code == 0 and "fits on loihi2" in r.output, (name, r.output)
    r = _cli("fit", lavadl_files["sdnn"], "--target", "loihi1")
    assert r.exit_code == 1 and "graded" in r.output                  # Loihi 1 has binary spikes only
    r = _cli("fit", lavadl_files["dense"], "--target", "loihi2", "--steps", 12)
    # T = 12 fits: the loihi2 runtime pads each sample to the next power of two, and fit says so
    assert r.exit_code == 0 and "not a power of two" in r.output and "R = 16" in r.output


def test_run_input_labels_save_output(lavadl_files, arrays, tmp_path):
    out, js = tmp_path / "o.npy", tmp_path / "r.json"
    r = _cli("run", lavadl_files["dense"], "--input", arrays["dense_x"], "--labels", arrays["dense_y"],
             "--save-output", out, "--out", js)
    assert r.exit_code == 0, r.output
    assert "accuracy" in r.output
    got = np.load(out)
    want = emulate(netx.read(lavadl_files["dense"]), torch.from_numpy(np.load(arrays["dense_x"]))).spikes
    assert got.shape == (12, 5, 10) and np.array_equal(got, want.numpy())
    summary = json.load(open(js))["summary"]
    assert summary["samples"] == 12 and summary["accuracy"] is not None
    # --steps cuts T; --limit the samples; the exit rule applies to a classifier
    r = _cli("run", lavadl_files["conv"], "--input", arrays["conv_x"], "--steps", 8, "--limit", 6,
             "--exit", "margin:2,min=2", "--save-output", out)
    assert r.exit_code == 0 and "6 samples (no labels)" in r.output, r.output
    assert np.load(out).shape == (6, 4, 8)


def test_run_regression_prints_values_and_sim_agrees(lavadl_files, arrays, tmp_path):
    o_emu, o_sim = tmp_path / "e.npy", tmp_path / "s.npy"
    r = _cli("run", lavadl_files["sdnn"], "--input", arrays["sd_x"], "--save-output", o_emu)
    assert r.exit_code == 0 and "output at the last step" in r.output and "accuracy" not in r.output, r.output
    r = _cli("run", lavadl_files["sdnn"], "--input", arrays["sd_x"], "--save-output", o_sim, "--backend", "sim")
    assert r.exit_code == 0, r.output
    e, s = np.load(o_emu), np.load(o_sim)
    assert e.shape == (6, 3, 8) and np.array_equal(e, s) and len(np.unique(e)) > 5


def test_bias_frames_need_steps_and_bad_inputs_are_one_line(lavadl_files, arrays, tmp_path):
    r = _cli("run", lavadl_files["dense"], "--input", arrays["frames"], "--input-mode", "bias", "--steps", 6)
    assert r.exit_code == 0, r.output
    r = _cli("run", lavadl_files["dense"], "--input", arrays["frames"], "--input-mode", "bias")
    assert r.exit_code == 2 and "--steps" in r.output
    r = _cli("run", lavadl_files["dense"])
    assert r.exit_code == 3 and "lacks 'encoding'" in r.output
    bad = tmp_path / "bad.npy"
    np.save(bad, np.zeros((3, 7, 4)))
    r = _cli("run", lavadl_files["dense"], "--input", bad)
    assert r.exit_code == 3 and "does not match" in r.output and r.output.count("\n") == 1
    r = _cli("run", lavadl_files["conv"], "--input", arrays["dense_x"])
    assert r.exit_code == 3
    r = _cli("run", lavadl_files["sdnn"], "--input", arrays["sd_x"], "--input-mode", "bias", "--steps", 4)
    assert r.exit_code == 2 and "Delta" in r.output
    np.save(bad, np.array([object()], dtype=object), allow_pickle=True)
    r = _cli("run", lavadl_files["dense"], "--input", bad)
    assert r.exit_code == 3 and "not a readable" in r.output


def test_report_with_input_as_activity_source(lavadl_files, arrays, tmp_path):
    r = _cli("report", lavadl_files["dense"], "--target", "loihi2", "--input", arrays["dense_x"],
             "--labels", arrays["dense_y"], "--exit", "margin:1,min=2", "--out", tmp_path / "rep")
    assert r.exit_code == 0, r.output
    rep = json.load(open(tmp_path / "rep" / "report.json"))
    assert rep["samples"] == 12 and rep["steps"] == 10
    r = _cli("report", lavadl_files["conv"], "--target", "loihi2", "--input", arrays["conv_x"])
    assert r.exit_code == 0 and "uJ/inference" in r.output, r.output
