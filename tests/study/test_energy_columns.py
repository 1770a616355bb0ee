"""The energy columns of a cell are what the energy model gives for the same activity."""
from __future__ import annotations

import json

import pytest


def test_cell_energy_matches_snn_energy_with_static_for_chip_and_cores(study_copy):
    from neurodeploy import netx
    from neurodeploy.energy.model import snn_energy
    from neurodeploy.report.activity import FullActivity
    from neurodeploy.report.backends import record
    from neurodeploy.report.energy_report import Costing
    from neurodeploy.report.inputs import encode_inputs
    from neurodeploy.runtime.exit_rules import ExitRule

    _, out = study_copy
    (cell,) = [c for c in out.glob("cells/snn-*") if json.loads((c / "cell.json").read_text())["cell"]["exit"] != "off"]
    info = json.loads((cell / "cell.json").read_text())
    energy = json.loads((cell / "energy.json").read_text())
    path = out / "runs" / info["cell"]["run_id"] / "model.net"
    model = netx.read(path)
    enc = encode_inputs(model, None, info["grid"]["limit"], None, None, path=path)
    rec = record(model, path, enc.spikes, "emu")
    costing = Costing(model, FullActivity.count(model, enc.spikes, rec.layers), rec.output, enc.labels, "loihi2")
    exit_steps, _ = costing.decide(ExitRule.parse(info["cell"]["exit"]))
    counts, chip = costing.cost(exit_steps)
    cores = snn_energy(model, counts, "loihi2", cores=costing.cores, static="cores")
    assert energy["dynamic_J"] == pytest.approx(chip.dynamic_J, rel=1e-9)
    assert energy["total_chip_J"] == pytest.approx(chip.total_J, rel=1e-9)
    assert energy["total_cores_J"] == pytest.approx(cores.total_J, rel=1e-9)
    assert energy["dynamic_J"] < energy["total_cores_J"] < energy["total_chip_J"]
    assert energy["mean_input_steps"] == pytest.approx(float(exit_steps.mean()))
