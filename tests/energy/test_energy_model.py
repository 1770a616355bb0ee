"""Energy and latency arithmetic on a hand-computed case (numbers worked out in the comments)."""
from __future__ import annotations

import pytest
import torch

from neurodeploy.energy.counting import count_activity
from neurodeploy.energy.model import ann_energy, format_estimate, snn_energy
from neurodeploy.errors import UsageError
from hand_cases import hand_model, hand_spikes

ROUND = """
[profile]
name = "round"
kind = "neuromorphic"
[energy]
synop = { value = 1, unit = "pJ", source = "test", quality = "proxy" }
neuron_update_inactive = { value = 2, unit = "pJ", source = "test", quality = "proxy" }
neuron_update_active = { value = 3, unit = "pJ", source = "test", quality = "proxy" }
spike = { value = 5, unit = "pJ", source = "test", quality = "proxy" }
step_sync = { value = 7, unit = "pJ", source = "test", quality = "proxy" }
static_power = { value = 1, unit = "mW", source = "test", quality = "proxy" }
[latency]
synop = { value = 1, unit = "ns", source = "test", quality = "proxy" }
neuron_update_inactive = { value = 1, unit = "ns", source = "test", quality = "proxy" }
neuron_update_active = { value = 2, unit = "ns", source = "test", quality = "proxy" }
step_sync = { value = 10, unit = "ns", source = "test", quality = "proxy" }
"""


def hand_case():
    m = hand_model()
    x, (h, y) = hand_spikes()
    return m, count_activity(m, x, [h, y], steps=[4, 2])


def test_snn_energy_hand_computed(tmp_path):
    (tmp_path / "round.toml").write_text(ROUND)
    m, counts = hand_case()
    est = snn_energy(m, counts, str(tmp_path / "round.toml"))
    # sample 0 (4 steps): L1 6 synops + 7 silent*2 + 1 spiking*3 + 1 spike*5 = 28
    #                     L2 1 synop + 8 silent*2 = 17; input 4 events*5 = 20; sync 4*7 = 28 -> 93 pJ
    #   step times (ns): L1 [4, 5, 2, 4], L2 [2, 3, 2, 2]; max + 10 -> 14+15+12+14 = 55 ns
    #   static 1 mW * 55 ns = 55 pJ -> 148 pJ
    # sample 1 (2 steps): L1 4 + 3*2 + 3 + 5 = 18; L2 2 + 4*2 = 10; input 10; sync 14 -> 52 pJ
    #   step times: L1 [5, 4], L2 [4, 2] -> 15 + 14 = 29 ns; static 29 pJ -> 81 pJ
    assert est.per_sample_J == pytest.approx([148e-12, 81e-12])
    assert est.per_sample_latency_s == pytest.approx([55e-9, 29e-9])
    assert est.total_J == pytest.approx(114.5e-12)
    assert est.latency_s == pytest.approx(42e-9)
    assert est.static_J == pytest.approx(42e-12)
    assert est.sync_J == pytest.approx(21e-12) and est.input_J == pytest.approx(15e-12)
    l1, l2 = est.layers
    assert (l1.synop_J, l1.neuron_J, l1.spike_J) == pytest.approx((5e-12, 13e-12, 5e-12))
    assert l2.total_J == pytest.approx(13.5e-12)
    assert est.label == "modelled" and est.excluded == []
    assert est.to_dict()["label"] == "modelled" and "modelled" in format_estimate(est)
    assert est.figures["energy.synop"]["quality"] == "proxy"


def test_all_synops_and_missing_figures_are_excluded(tmp_path):
    (tmp_path / "round.toml").write_text(ROUND)
    m, counts = hand_case()
    est = snn_energy(m, counts, str(tmp_path / "round.toml"), synops="all")
    assert est.layers[0].synop_J == pytest.approx((8 + 4) / 2 * 1e-12)
    lean = ROUND.split("[latency]")[0].replace('static_power = { value = 1, unit = "mW", source = "test", '
                                                'quality = "proxy" }\n', "")
    (tmp_path / "lean.toml").write_text(lean.replace('name = "round"', 'name = "lean"'))
    est = snn_energy(m, counts, str(tmp_path / "lean.toml"))
    assert est.latency_s is None and est.static_J == 0
    assert any("static power" in e for e in est.excluded) and any("latency" in e for e in est.excluded)
    assert est.total_J == pytest.approx((93e-12 + 52e-12) / 2)


def test_ann_energy_on_cmos_hand_computed():
    m, _ = hand_case()
    # 6 + 4 MACs x 4.6 pJ = 46 pJ
    assert ann_energy(m, "cmos45-fp32", memory="none").total_J == pytest.approx(46e-12)
    # per-op: every access to an 8 KB SRAM, 10 pJ per 64 bits -> 5 pJ per fp32 word
    # L1: 6 MACs x (weight + input) 10 pJ + 2 outputs x 5 = 70; L2: 4 x 10 + 2 x 5 = 50
    est = ann_energy(m, "cmos45-fp32")
    assert est.total_J == pytest.approx((46 + 120) * 1e-12)
    assert est.label == "modelled" and est.network == "ann"
    # per-layer: weights, inputs and outputs once: L1 (6 + 3 + 2) x 5, L2 (4 + 2 + 2) x 5 = 95
    assert ann_energy(m, "cmos45-fp32", memory="per-layer").total_J == pytest.approx((46 + 95) * 1e-12)


def test_ann_energy_needs_mac_figure():
    m, _ = hand_case()
    with pytest.raises(UsageError, match="no MAC energy"):
        ann_energy(m, "loihi2")


def test_loihi2_static_uses_chip_or_cores():
    m, counts = hand_case()
    chip = snn_energy(m, counts, "loihi2")
    cores = snn_energy(m, counts, "loihi2", static="cores")
    assert chip.static_J == pytest.approx(cores.static_J * 128 / 2)  # 2 cores of 128
    assert chip.static_J == pytest.approx(0.23 * chip.latency_s)


def test_snn_memory_term_on_cmos():
    m, counts = hand_case()
    est = snn_energy(m, counts, "cmos45-fp32")
    # fp32 words in an 8 KB SRAM: 5 pJ per access; per synop weight read + state read and write
    # (15 pJ), per neuron update 4 state accesses (20 pJ). L1: s0 6*15 + 8*20 = 250, s1 4*15 + 4*20 = 140
    assert est.layers[0].memory_J == pytest.approx(195e-12)
    assert snn_energy(m, counts, "cmos45-fp32", memory="none").layers[0].memory_J == 0


def test_pipeline_steps_add_updates_barriers_and_time(tmp_path):
    (tmp_path / "round.toml").write_text(ROUND)
    m, base = hand_case()
    x = torch.zeros(2, 3, 4)
    x[0, 0, 0] = x[0, 0, 1] = x[0, 1, 0] = x[0, 2, 3] = 1
    x[1, 2, :] = 1
    h, y = torch.zeros(2, 2, 4), torch.zeros(2, 2, 4)
    h[0, 0, 1] = 1
    h[1, 1, 0] = h[1, 1, 2] = 1
    y[1, 0, 3] = 1
    piped = count_activity(m, x, [h, y], steps=[4, 2], pipeline_steps=2)
    assert piped.layers[0].neuron_updates.tolist() == [12, 8]
    a = snn_energy(m, base, str(tmp_path / "round.toml"))
    b = snn_energy(m, piped, str(tmp_path / "round.toml"))
    # per sample and pipeline step: 2 layers x 2 silent updates x 2 pJ + 7 pJ sync = 15 pJ; time
    # max(2 neurons x 1 ns) + 10 ns = 12 ns, which also costs 1 mW x 12 ns = 12 pJ static
    assert b.latency_s - a.latency_s == pytest.approx(2 * 12e-9)
    assert b.total_J - a.total_J == pytest.approx(2 * (15e-12 + 12e-12))
