"""A trained and exported SLAYER network runs identically on emu and Lava sim, with early exit."""
from __future__ import annotations

import numpy as np


def test_trained_export_emu_equals_sim(tiny_run, tmp_path):
    from neurodeploy.export.exporter import export_run
    from neurodeploy.runtime.api import encode_dataset_for_model, run_model

    run_dir, _ = tiny_run
    path = tmp_path / "tiny.net"
    model = export_run(run_dir, path)
    x, y = encode_dataset_for_model(model, None, "test", 40)
    emu = run_model(path, x, y, backend="emu", exit_rule="margin:2,min=2", progress=False)
    sim = run_model(path, x, y, backend="sim", exit_rule="margin:2,min=2", progress=False)
    assert emu.accuracy > 0.2                                   # trained: well above chance
    assert 2 <= emu.exit_step.min() and (emu.exit_step < model.card["steps"]).any()
    assert np.array_equal(emu.step_counts, sim.step_counts)
    assert np.array_equal(emu.prediction, sim.prediction)
    assert np.array_equal(emu.exit_step, sim.exit_step)
    assert sim.lava_steps == int(sim.exit_step.sum()) + 2 * 40  # exit step + L per sample
