"""Each design rule on a NetX model built to break it; fit() reports every violation."""
from __future__ import annotations

import numpy as np
import pytest

from neurodeploy.netx import (ConvLayer, CubaNeuron, DenseLayer, FlattenLayer, InputLayer,
                                     NetxModel)
from neurodeploy.hardware import rules
from neurodeploy.hardware.fit import fit
from neurodeploy.hardware.profiles import load_profile
from neurodeploy.hardware.resources import layer_resources, weight_format

OK_NEURON = CubaNeuron(i_decay=1024, v_decay=128, v_th_mant=80)


def dense(out, inp, value=2, neuron=OK_NEURON, **kw):
    w = np.full((out, inp), value, dtype=np.float32)
    w[0, 0] = -value  # mixed signs, like a trained layer
    return DenseLayer(weight=w, neuron=neuron, **kw)


def model(*layers, steps=16, n_in=None):
    n_in = n_in or layers[0].weight.shape[1]
    return NetxModel(layers=[InputLayer((n_in,)), *layers], card={"steps": steps})


def rule_names(m, profile="loihi2", **kw):
    report = fit(m, profile, **kw)
    return [v.rule for v in report.violations], report


def only(m, rule_fn, profile="loihi2", **kw):
    prof = load_profile(profile)
    return rule_fn(m, layer_resources(m, prof, **kw), prof)


def test_clean_model_fits_loihi1_and_loihi2():
    slayer_like = np.arange(-256, 256, 2, dtype=np.float32)[:200].reshape(10, 20)
    m = model(DenseLayer(weight=slayer_like, neuron=OK_NEURON), dense(4, 10))
    for target in ("loihi1", "loihi2"):
        names, report = rule_names(m, target)
        assert names == [] and report.fits(), report.format_table()


def test_weight_format_of_slayer_weights():
    wf = weight_format(np.array([-256, -2, 0, 4, 254]))
    assert (wf.integer, wf.sign_mode, wf.exponent, wf.mantissa_bits) == (True, "mixed", 1, 8)
    wf = weight_format(np.array([0, 255]))
    assert (wf.sign_mode, wf.exponent, wf.mantissa_bits) == ("excitatory", 0, 8)
    wf = weight_format(np.array([-3, 12]))  # odd -> exponent 0; [-3, 12] needs 5 signed bits
    assert (wf.exponent, wf.mantissa_bits) == (0, 5)
    assert not weight_format(np.array([0.5, 1.0])).integer


def test_weight_precision():
    assert only(model(dense(3, 4, value=2)), rules.weight_precision) == []
    v = only(model(dense(3, 4, value=0.3)), rules.weight_precision)
    assert len(v) == 1 and "not integers" in v[0].message and v[0].layer == 1
    v = only(model(dense(3, 4, value=301)), rules.weight_precision)  # odd, needs 10 signed bits
    assert len(v) == 1 and "10-bit" in v[0].message


def test_weight_exponent():
    big = 127 * 2 ** 10  # 8-bit mixed mantissa only at exponent 10 - 1 = 9 > 7
    v = only(model(dense(3, 4, value=big)), rules.weight_exponent)
    assert len(v) == 1 and "above the maximum 7" in v[0].message
    assert only(model(dense(3, 4, value=127 * 2 ** 7)), rules.weight_exponent) == []


def test_netx_weight_range():
    assert only(model(dense(3, 4, value=254)), rules.netx_weight_range) == []
    v = only(model(dense(3, 4, value=300)), rules.netx_weight_range)
    assert len(v) == 1 and "[-256, 254]" in v[0].message
    # odd weights: NetX shifts them to its own exponent, Lava keeps them exactly
    assert only(model(dense(3, 4, value=3)), rules.netx_weight_range) == []
    excit = DenseLayer(weight=np.full((3, 4), 255, np.float32), neuron=OK_NEURON)
    assert only(model(excit), rules.netx_weight_range) == []


def test_threshold_range():
    assert only(model(dense(3, 4, neuron=CubaNeuron(1024, 128, 2 ** 17 - 1))), rules.threshold_range) == []
    v = only(model(dense(3, 4, neuron=CubaNeuron(1024, 128, 2 ** 17))), rules.threshold_range)
    assert len(v) == 1 and "131072" in v[0].message


def test_decay_ranges():
    v = only(model(dense(3, 4, neuron=CubaNeuron(0, 128, 80))), rules.current_decay_range)
    assert len(v) == 1 and "du = iDecay - 1 = -1" in v[0].message
    assert only(model(dense(3, 4, neuron=CubaNeuron(4096, 128, 80))), rules.current_decay_range) == []
    v = only(model(dense(3, 4, neuron=CubaNeuron(1024, 4096, 80))), rules.voltage_decay_range)
    assert len(v) == 1 and "4096" in v[0].message
    assert only(model(dense(3, 4, neuron=CubaNeuron(1024, 4095, 80))), rules.voltage_decay_range) == []


def test_bias_range():
    assert only(model(dense(3, 4, bias=np.array([4095, 0, -4096.0]))), rules.bias_range) == []
    v = only(model(dense(3, 4, bias=np.array([5000, 0, 0.0]))), rules.bias_range)
    assert len(v) == 1 and "13-bit" in v[0].message


def test_state_headroom():
    # 1000 inputs x 254 << 6 = 16,256,000 > 2**23: u can wrap in one step
    v = only(model(dense(2, 1000, value=254)), rules.state_headroom)
    assert len(v) == 1 and "25 signed state bits" in v[0].message
    assert only(model(dense(2, 100, value=254)), rules.state_headroom) == []


def test_delay_range():
    layer = dense(3, 4)
    layer.delay = np.array([0, 70, 3])  # NetX's reader refuses delays; a future field is still checked
    v = only(model(layer), rules.delay_range)
    assert len(v) == 1 and "0..62" in v[0].message


def test_graded_spikes_need_loihi2():
    m = model(dense(3, 4, neuron=CubaNeuron(1024, 128, 80, graded_spike=True)))
    assert len(only(m, rules.graded_spikes, "loihi1")) == 1
    assert only(m, rules.graded_spikes, "loihi2") == []


def test_neurons_per_core_pinned_placement():
    m = model(dense(2000, 4))
    assert only(m, rules.neurons_per_core, "loihi1") == []  # split over 2 cores by default
    assert layer_resources(m, load_profile("loihi1"))[0].cores == 2
    v = only(m, rules.neurons_per_core, "loihi1", cores={1: 1})
    assert len(v) == 1 and "2,000 neurons on a core" in v[0].message


def test_synaptic_memory_and_axons_when_fan_in_too_large():
    # 20,000 inputs: every core needs one 64-bit block per input = 160,000 B > 128 KiB, at any split
    m = model(dense(2, 20000))
    names, report = rule_names(m, "loihi1")
    assert "synaptic_memory_per_core" in names and "axons_in_per_core" in names
    row = report.layers[0]
    assert row.synmem_bytes_per_core == 20000 * 8 and not row.memory_fits


def test_memory_model_hand_case():
    # dense 4 -> 3 on Loihi 1: per input axon one block of 3 x 8 bits + 10 header = 34 -> 64 bits
    row = layer_resources(model(dense(3, 4)), load_profile("loihi1"))[0]
    assert (row.memory_format, row.synmem_bytes_per_core, row.cores) == ("dense", 4 * 64 // 8, 1)
    # memory forces a split: 1024 inputs x 1024 outputs x 8 bits ~ 1 MiB -> at least 8 cores
    row = layer_resources(model(dense(1024, 1024)), load_profile("loihi2"))[0]
    assert row.cores >= 8 and row.synmem_bytes_per_core <= 128 * 1024


def test_chip_totals_with_a_small_user_profile(tmp_path):
    p = tmp_path / "tiny.toml"
    p.write_text("""
[profile]
name = "tiny"
kind = "neuromorphic"
[energy]
synop = { value = 1, unit = "pJ", source = "test", quality = "proxy" }
[limits]
neurons_per_core = { value = 10, unit = "neurons", source = "test", quality = "proxy" }
cores_per_chip = { value = 3, unit = "cores", source = "test", quality = "proxy" }
neurons_per_chip = { value = 25, unit = "neurons", source = "test", quality = "proxy" }
synapses_per_chip = { value = 100, unit = "synapses", source = "test", quality = "proxy" }
""")
    names, report = rule_names(model(dense(30, 4)), str(p))  # 30 neurons, 120 synapses, 3 cores
    assert names == ["chip_neurons", "chip_synapses"]
    names, _ = rule_names(model(dense(30, 3), dense(5, 30)), str(p))  # 4 cores
    assert "chip_cores" in names


def test_reset_interval_power_of_two():
    # T = 12 fits: the runtime pads each sample to 16 steps, and fit says so with the cost
    assert only(model(dense(3, 4), steps=12), rules.reset_interval_pow2) == []
    report = fit(model(dense(3, 4), steps=12), "loihi2")
    assert report.fits() and report.remarks and "R = 16" in report.remarks[0] and "33%" in report.remarks[0]
    assert "note: reset interval" in report.format_table()
    assert fit(model(dense(3, 4), steps=16), "loihi2").remarks == []
    v = only(model(dense(3, 4), steps=0), rules.reset_interval_pow2)
    assert len(v) == 1 and "not a positive integer" in v[0].message
    m = model(dense(3, 4))
    m.card = {}
    report = fit(m, "loihi2")
    assert report.fits() and any("reset_interval_pow2" in u for u in report.unchecked)


def test_fit_lists_all_violations_not_the_first():
    bad = CubaNeuron(i_decay=0, v_decay=4096, v_th_mant=2 ** 17)
    m = model(dense(3, 4, value=301, neuron=bad), dense(2, 3, value=0.5), steps=10)
    names, report = rule_names(m, "loihi2")
    assert not report.fits()
    for expected in ("weight_precision", "threshold_range", "current_decay_range",
                     "voltage_decay_range"):
        assert expected in names
    assert sum(n == "weight_precision" for n in names) == 2  # both layers
    text = report.format_table()
    assert all(str(v) in text for v in report.violations)


def test_conv_resources_exact_at_borders():
    rng = np.random.default_rng(0)
    w = rng.integers(-3, 4, size=(4, 1, 3, 3)).astype(np.float32) * 2  # groups=2: in 2 -> out 4
    w[:, :, 0, 0] = 0
    conv = ConvLayer(weight=w, neuron=OK_NEURON, shape=(4, 3, 3), stride=(2, 2), padding=(1, 1), groups=2)
    m = NetxModel([InputLayer((2, 5, 5)), conv, FlattenLayer((36,)), dense(3, 36)], card={"steps": 8})
    row = layer_resources(m, load_profile("loihi2"))[0]
    # brute force: every (output, tap) landing inside the input is one synapse per input channel
    syn = nz = 0
    fan_in = 0
    for o in range(4):
        g = o // 2
        for oy in range(3):
            for ox in range(3):
                taps = 0
                for ky in range(3):
                    for kx in range(3):
                        y, x = oy * 2 - 1 + ky, ox * 2 - 1 + kx
                        if 0 <= y < 5 and 0 <= x < 5:
                            taps += 1
                            syn += 1
                            nz += int(w[o, 0, ky, kx] != 0)
                fan_in = max(fan_in, taps)
    assert (row.synapses, row.synapses_nonzero, row.fan_in) == (syn, nz, fan_in)
    assert row.neurons == 36 and row.params == w.size


@pytest.mark.parametrize("target", ["cmos45-fp32", "spinnaker2"])
def test_profiles_without_limits_report_unchecked(target):
    report = fit(model(dense(3, 4)), target)
    assert report.fits() and report.unchecked
