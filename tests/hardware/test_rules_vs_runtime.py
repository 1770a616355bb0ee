"""Hardware rules agree with what the runtime does: each test runs the rule and the runtime's own logic."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from neurodeploy.hardware import rules
from neurodeploy.hardware.fit import fit
from neurodeploy.hardware.profiles import load_profile
from neurodeploy.hardware.resources import layer_resources
from neurodeploy.netx import CubaNeuron, DenseLayer, InputLayer, NetxModel
from neurodeploy.runtime.emu import compile_model
from neurodeploy.runtime.loihi2 import reset_interval

NEURON = CubaNeuron(i_decay=1024, v_decay=128, v_th_mant=80)


def test_reset_interval_rule_matches_the_loihi2_runtime():
    """fit never rejects a T that `run --backend loihi2` runs; its remark names the runtime's padding."""
    w = np.full((3, 4), 2, np.float32)
    w[0, 0] = -2
    for t in range(1, 41):
        r = reset_interval(t)  # what runtime/loihi2.py pads each sample to
        assert rules.padded_reset_interval(t) == r
        report = fit(NetxModel([InputLayer((4,)), DenseLayer(w, NEURON)], card={"steps": t}), "loihi2")
        assert report.fits(), (t, report.violations)
        if r == t:
            assert report.remarks == []
        else:
            assert len(report.remarks) == 1 and f"R = {r} " in report.remarks[0], (t, report.remarks)


WEIGHTS = {
    "slayer even [-256, 254]": lambda rng: rng.integers(-128, 127, (6, 9)) * 2,
    "odd small": lambda rng: rng.integers(-21, 22, (6, 9)),
    "odd, mixed, up to 200": lambda rng: np.concatenate([rng.integers(-3, 4, (6, 8)), np.full((6, 1), 199)], 1),
    "excitatory up to 255": lambda rng: rng.integers(0, 256, (6, 9)),
    "inhibitory down to -256": lambda rng: -rng.integers(0, 257, (6, 9)),
    "beyond 254 (clipped)": lambda rng: np.concatenate([rng.integers(-50, 50, (6, 8)), np.full((6, 1), 300)], 1),
    "below -256 (clipped)": lambda rng: np.concatenate([rng.integers(-50, 50, (6, 8)), np.full((6, 1), -400)], 1),
    "mixed multiples of 4 up to 508 (clipped)": lambda rng: rng.integers(-128, 127, (6, 9)) * 4,
    "large with low bits": lambda rng: rng.integers(-300, 300, (6, 9)) * 2 + 1,
}

EXACT = {"slayer even [-256, 254]", "odd small", "odd, mixed, up to 200", "excitatory up to 255"}


@pytest.mark.parametrize("name", list(WEIGHTS))
def test_netx_weight_range_rule_matches_the_emulated_lava_weights(name):
    """The rule passes exactly when the runtime's dense synapse computes W @ s with the stored weights."""
    rng = np.random.default_rng(0)
    w = WEIGHTS[name](rng).astype(np.float32)
    m = NetxModel([InputLayer((9,)), DenseLayer(w, NEURON)], card={"steps": 8})
    prof = load_profile("loihi2")
    verdict_ok = rules.netx_weight_range(m, layer_resources(m, prof), prof) == []
    layer = compile_model(m).layers[0]
    s = torch.cat([torch.eye(9), (torch.rand(64, 9, generator=torch.Generator().manual_seed(1)) < 0.5).float()])
    exact = (s.to(torch.float64) @ torch.from_numpy(w.astype(np.float64)).t()).to(torch.int64)
    runtime_exact = torch.equal(layer.synapse(s), exact)
    assert verdict_ok == runtime_exact, (name, verdict_ok, runtime_exact)
    assert verdict_ok == (name in EXACT)  # both verdicts occur among the cases
