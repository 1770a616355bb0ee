"""Exit rules on hand-made output spike counts (N, C, T)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from neurodeploy.errors import UsageError
from neurodeploy.runtime.exit_rules import ExitRule, apply_exit_rule


def counts_from(rows):
    """rows: per sample, per step, the list of classes that spiked -> (N, C, T) with C = 3."""
    N, T = len(rows), len(rows[0])
    c = np.zeros((N, 3, T), dtype=np.int64)
    for i, steps in enumerate(rows):
        for t, classes in enumerate(steps):
            for k in classes:
                c[i, k, t] += 1
    return c


@pytest.mark.parametrize("text, want", [
    ("off", ExitRule()),
    ("OFF", ExitRule()),
    ("margin:3", ExitRule("margin", margin=3)),
    ("margin:2,min=4", ExitRule("margin", margin=2, min_steps=4)),
    (" margin: 2 , min = 4 ", ExitRule("margin", margin=2, min_steps=4)),
    ("confidence:0.9", ExitRule("confidence", confidence=0.9)),
    ("confidence:1,min=2", ExitRule("confidence", confidence=1.0, min_steps=2)),
])
def test_parse(text, want):
    assert ExitRule.parse(text) == want
    assert ExitRule.parse(str(want)) == want          # round trip


@pytest.mark.parametrize("text", ["margin", "margin:", "margin:0", "margin:-1", "margin:1.5",
                                  "margin:2,min=0", "margin:2,max=3", "confidence:0",
                                  "confidence:1.2", "confidence:x", "entropy:0.5", "fast"])
def test_parse_errors(text):
    with pytest.raises(UsageError) as e:
        ExitRule.parse(text)
    assert "\n" not in str(e.value) and text.strip() in str(e.value)


def test_margin_exit_step_and_prediction():
    c = counts_from([
        [[1], [1], [1], [0], [0]],        # margin 2 after step 2, 3 after step 3
        [[0, 1], [0, 1], [2], [2], [2]],  # class 2 catches up: margin 3 only at step 5
        [[], [], [], [], []],              # never: T, ties -> class 0
        [[2], [1], [1, 2], [], [0]],       # ends tied 2:2 between 1 and 2 -> class 1
    ])
    e, p = apply_exit_rule(c, "margin:3")
    assert e.tolist() == [3, 5, 5, 5]
    assert p.tolist() == [1, 2, 0, 1]
    e, p = apply_exit_rule(c, "margin:2")
    assert e.tolist() == [2, 5, 5, 5]
    e, p = apply_exit_rule(c, "margin:1,min=4")
    assert e.tolist() == [4, 5, 5, 5] and p.tolist() == [1, 2, 0, 1]
    e, p = apply_exit_rule(c, "off")
    assert e.tolist() == [5, 5, 5, 5]
    # prediction = argmax of the cumulative counts at T; first class wins ties
    assert p.tolist() == [1, 2, 0, 1]


def test_confidence_is_softmax_of_counts():
    c = counts_from([[[1], [1], [1], [1]], [[0, 1], [0, 1], [0, 1], [0, 1]]])
    # after n steps sample 0 has counts (0, n, 0): p = 1 / (1 + 2 e^-n)
    for n in range(1, 5):
        p_n = 1 / (1 + 2 * math.exp(-n))
        rule = f"confidence:{p_n - 1e-9:.12f}"
        e, pred = apply_exit_rule(c, rule)
        assert e[0] == n and pred[0] == 1
        assert e[1] == 4                      # balanced counts never reach it
    e, p = apply_exit_rule(c, "confidence:0.45")
    assert e.tolist() == [1, 2] and p.tolist() == [1, 0]   # (2, 2, 0): 1/(2 + e^-2) = 0.47


def test_numpy_and_torch_agree_and_keep_type():
    rng = np.random.default_rng(0)
    c = (rng.random((200, 10, 16)) < rng.random((200, 10, 1))).astype(np.uint8)
    for rule in ["off", "margin:2", "margin:3,min=3", "confidence:0.6", "confidence:0.3,min=2"]:
        e_np, p_np = apply_exit_rule(c, rule)
        e_t, p_t = apply_exit_rule(torch.from_numpy(c), rule)
        assert isinstance(e_np, np.ndarray) and isinstance(e_t, torch.Tensor)
        assert np.array_equal(e_np, e_t.numpy()) and np.array_equal(p_np, p_t.numpy())
        assert e_np.min() >= 1 and e_np.max() <= 16
        # the step-wise scalar check the Lava driver uses gives the same exits
        r = ExitRule.parse(rule)
        for i in range(0, 200, 17):
            cum = np.zeros(10, dtype=np.int64)
            for t in range(16):
                cum += c[i, :, t]
                if t == 15 or r.passes(cum, t + 1)[0]:
                    assert e_np[i] == t + 1 and p_np[i] == int(np.argmax(cum))
                    break


def test_bad_counts_shape():
    with pytest.raises(UsageError):
        apply_exit_rule(np.zeros((3, 4)), "off")
