"""`neurodeploy fit` and `neurodeploy profiles` exit codes, via click's CliRunner."""
from __future__ import annotations

import numpy as np
from click.testing import CliRunner

from neurodeploy.cli import main
from neurodeploy import netx
from neurodeploy.netx import CubaNeuron, DenseLayer, InputLayer, NetxModel


def write_model(path, steps=16, v_th=80, value=2):
    w = np.full((3, 4), value, dtype=np.float32)
    w[0, 0] = -value
    m = NetxModel([InputLayer((4,)), DenseLayer(weight=w, neuron=CubaNeuron(1024, 128, v_th))],
                  card={"steps": steps})
    return netx.write(m, path)


def test_fit_ok_exits_0(tmp_path):
    p = write_model(tmp_path / "ok.net")
    r = CliRunner().invoke(main, ["fit", str(p), "--target", "loihi2"])
    assert r.exit_code == 0, r.output
    assert "fits on loihi2" in r.output and "neurons" in r.output


def test_fit_violations_exit_1_listing_all(tmp_path):
    p = write_model(tmp_path / "bad.net", steps=12, v_th=2 ** 17, value=301)
    r = CliRunner().invoke(main, ["fit", str(p), "--target", "loihi1"])
    assert r.exit_code == 1
    out = r.output  # click 8.2+ mixes stderr into output
    for rule in ("threshold_range", "weight_precision", "netx_weight_range"):
        assert f"[{rule}]" in out
    assert "[reset_interval_pow2]" not in out and "pads each sample to R = 16" in out  # T = 12 runs, padded
    assert "does not fit loihi1" in out


def test_fit_unknown_target_exits_2_and_bad_file_exits_3(tmp_path):
    p = write_model(tmp_path / "ok.net")
    r = CliRunner().invoke(main, ["fit", str(p), "--target", "loihi9"])
    assert r.exit_code == 2 and "loihi2" in r.output
    junk = tmp_path / "junk.net"
    junk.write_bytes(b"not hdf5")
    r = CliRunner().invoke(main, ["fit", str(junk), "--target", "loihi2"])
    assert r.exit_code == 3 and str(junk) in r.output


def test_fit_with_profile_path_and_broken_profile(tmp_path):
    p = write_model(tmp_path / "ok.net")
    bad = tmp_path / "bad.toml"
    bad.write_text('[profile]\nkind = "neuromorphic"\n[energy]\nsynop = { value = "x", unit = "pJ", '
                   'source = "s", quality = "proxy" }\n')
    r = CliRunner().invoke(main, ["fit", str(p), "--target", str(bad)])
    assert r.exit_code == 3 and "energy.synop.value" in r.output


def test_profiles_lists_names():
    r = CliRunner().invoke(main, ["profiles"])
    assert r.exit_code == 0
    for name in ("loihi1", "loihi2", "cmos45-fp32", "cmos45-int8"):
        assert name in r.output
    assert "proxy" in r.output and "modelled" in r.output
