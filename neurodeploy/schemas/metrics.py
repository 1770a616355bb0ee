"""A run's ``metrics.json``: ``{"epochs": [{epoch, loss, train_accuracy, test_accuracy, ...}], "seed"}``.

Epochs are numbered 1, 2, ... in order; accuracies are in [0, 1]; losses finite and >= 0.
"""
from __future__ import annotations

from neurodeploy.schemas import checks as c


def check_epoch(e, i: int, source) -> dict:
    where = f"{source}: epochs[{i}]"
    if not isinstance(e, dict):
        raise c.BadInputError(f"{where}: expected an object, got {type(e).__name__}")
    n = c.integer(e, "epoch", where, 1)
    if n != i + 1:
        raise c.fail(where, "epoch", f"= {n}, expected {i + 1} (epochs in order from 1)")
    c.number(e, "loss", where, 0.0)
    c.number(e, "train_accuracy", where, 0.0, 1.0)
    c.number(e, "test_accuracy", where, 0.0, 1.0)
    per_step = c.sequence(e, "test_accuracy_per_step", where, default=[])
    for t, _ in enumerate(per_step):
        c.number({f"test_accuracy_per_step[{t}]": per_step[t]}, f"test_accuracy_per_step[{t}]", where, 0.0, 1.0)
    c.number(e, "seconds", where, 0.0, default=0.0)
    c.number(e, "silent_output_fraction", where, 0.0, 1.0, default=0.0)
    c.boolean(e, "output_silent", where, default=False)
    c.number(e, "adv_eps", where, 0.0, 1.0, default=0.0)
    return e


def check_metrics(d, source) -> dict:
    if not isinstance(d, dict):
        raise c.BadInputError(f"{source}: expected a JSON object, got {type(d).__name__}")
    epochs = c.sequence(d, "epochs", source)
    for i, e in enumerate(epochs):
        check_epoch(e, i, source)
    c.integer(d, "seed", source, 0, c.SEED_MAX, optional=True, default=None)
    c.boolean(d, "output_silent", source, default=False)
    return d
