"""The NIR commands end to end: export RUN --format nir, convert MODEL.net --to nir, import MODEL.nir."""
import nir
import numpy as np
from click.testing import CliRunner

from neurodeploy import netx
from neurodeploy.cli import main
from neurodeploy.nir import from_nir
from nir_helpers import assert_same_model


def test_export_run_as_nir_then_import(tiny_run, tmp_path):
    run, _ = tiny_run
    out = tmp_path / "tiny.nir"
    r = CliRunner().invoke(main, ["export", str(run), "--format", "nir", "--out", str(out), "--check-samples", "16"])
    assert r.exit_code == 0, r.output
    g = nir.read(out)
    assert {type(n).__name__ for n in g.nodes.values()} >= {"Input", "Flatten", "Linear", "CubaLIF", "Output"}
    ref = tmp_path / "tiny.net"
    assert CliRunner().invoke(main, ["export", str(run), "--out", str(ref), "--check-samples", "0"]).exit_code == 0
    assert_same_model(netx.read(ref), from_nir(g).model)

    back = tmp_path / "back.net"
    r = CliRunner().invoke(main, ["import", str(out), "--out", str(back), "--limit", "64"])
    assert r.exit_code == 0, r.output
    assert "2 synaptic layers (2 stored exactly)" in r.output and "prediction agreement" in r.output
    card = netx.read(back).card
    # the card of the trained run travels inside the NIR file and comes back, with the import recorded
    assert card["encoding"] == {"name": "early_burst"} and card["steps"] == 8 and card["dataset"] == "fashion-mnist"
    assert card["source"]["from_neurodeploy_export"] and len(card["source"]["sha256"]) == 64
    assert card["nir_verified"]["samples"] == 64 and card["nir_verified"]["passed"]
    assert all(l["lossless"] for l in card["quantisation"]["layers"])


def test_convert_then_import_generated_input(tmp_path):
    rng = np.random.default_rng(0)
    n = netx.CubaNeuron(1024, 256, 100)
    m = netx.NetxModel([netx.InputLayer((20,)), netx.DenseLayer(rng.integers(-60, 128, (8, 20)) * 2.0, n),
                        netx.DenseLayer(rng.integers(-60, 128, (4, 8)) * 2.0, n)], {})
    netx.write(m, tmp_path / "m.net")
    r = CliRunner().invoke(main, ["convert", str(tmp_path / "m.net"), "--to", "nir", "--out", str(tmp_path / "m.nir")])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(main, ["import", str(tmp_path / "m.nir"), "--out", str(tmp_path / "b.net"), "--steps", "12",
                                  "--limit", "50", "--seed", "3"])
    assert r.exit_code == 0, r.output
    assert "generated Bernoulli" in r.output
    b = netx.read(tmp_path / "b.net")
    assert_same_model(m, b)
    assert b.card["nir_verified"]["input"].startswith("generated") and b.card["seed"] == 3 and b.card["steps"] == 12
    assert "encoding" not in b.card
