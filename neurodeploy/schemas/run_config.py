"""A run's ``config.json``: one check per field of ``TrainConfig`` (types and ranges).

``check_run_config(d, source)`` is what ``TrainConfig.from_dict`` calls; a study grid's cells
(TrainConfig-like tables) can call it too. Names (data set, model, encoder, loss) are checked
against the package by ``TrainConfig.validate``; here only their types.
"""
from __future__ import annotations

from neurodeploy.schemas import checks as c
from neurodeploy.schemas.encoding import check_encoding

NEURON_KEYS = ("threshold", "current_decay", "voltage_decay", "tau_grad", "scale_grad")
MAX_EPOCHS = 100_000
MAX_BATCH = 1_000_000


def check_neuron(d: dict, key: str, source) -> dict:
    """CUBA neuron parameters: threshold > 0, decays in [0, 1], surrogate width and scale > 0."""
    n = c.mapping(d, key, source)
    c.no_unknown(n, NEURON_KEYS, source, where=f"'{key}'")
    where = f"{source}: '{key}'"
    for k in NEURON_KEYS:
        if k in n:
            if k.endswith("_decay"):
                c.number(n, k, where, 0.0, 1.0)
            else:
                c.number(n, k, where, 0.0, 1e6, lo_open=True)
    return n


FIELDS = {  # field -> check(d, key, source); a key absent from the file takes TrainConfig's default
    "dataset": lambda d, k, s: c.text(d, k, s, max_len=64),
    "model": lambda d, k, s: c.text(d, k, s, max_len=64),
    "encoding": check_encoding,
    "steps": lambda d, k, s: c.integer(d, k, s, 1, c.MAX_STEPS),
    "epochs": lambda d, k, s: c.integer(d, k, s, 0, MAX_EPOCHS),
    "seed": lambda d, k, s: c.integer(d, k, s, 0, c.SEED_MAX),
    "ann": lambda d, k, s: c.boolean(d, k, s),
    "loss": lambda d, k, s: c.text(d, k, s, max_len=64),
    "batch_size": lambda d, k, s: c.integer(d, k, s, 1, MAX_BATCH),
    "lr": lambda d, k, s: c.number(d, k, s, 0.0, 1e3, lo_open=True),
    "lr_schedule": lambda d, k, s: c.text(d, k, s, choices=("cosine", "constant")),
    "limit": lambda d, k, s: c.integer(d, k, s, 1, None, optional=True),
    "test_limit": lambda d, k, s: c.integer(d, k, s, 1, None, optional=True),
    "noise": lambda d, k, s: c.text(d, k, s, optional=True, max_len=64),
    "adv": lambda d, k, s: c.text(d, k, s, optional=True, max_len=64),
    "mppd": lambda d, k, s: c.number(d, k, s, 0.0, 1e6, optional=True),
    "neuron": check_neuron,
    "weight_scale": lambda d, k, s: c.number(d, k, s, 0.0, 1e6, lo_open=True),
    "init_from": lambda d, k, s: c.text(d, k, s, optional=True),
    "augment": lambda d, k, s: c.text(d, k, s, optional=True, max_len=64),
    "adv_weight": lambda d, k, s: c.number(d, k, s, 0.0, 1.0),
    "eps_warmup": lambda d, k, s: c.number(d, k, s, 0.0, MAX_EPOCHS),
    "trades": lambda d, k, s: c.number(d, k, s, 0.0, 1e6, optional=True),
    "adv_grad": lambda d, k, s: c.text(d, k, s, max_len=64),
    "input_quantisation": lambda d, k, s: c.boolean(d, k, s),
    "rate_reg": lambda d, k, s: c.number(d, k, s, 0.0, 1e6),
    "rate_true": lambda d, k, s: c.number(d, k, s, 0.0, 1.0),
    "rate_false": lambda d, k, s: c.number(d, k, s, 0.0, 1.0),
    "hidden_reg": lambda d, k, s: c.number(d, k, s, 0.0, 1e6),
    "hidden_low": lambda d, k, s: c.number(d, k, s, 0.0, 1.0),
}
EXTRA = ("versions",)  # written beside the settings, not part of them


def check_run_config(d, source) -> dict:
    """Check every present field of a run config; returns ``d`` (unchanged) or raises one line."""
    if not isinstance(d, dict):
        raise c.BadInputError(f"{source}: expected a JSON object, got {type(d).__name__}")
    c.no_unknown(d, tuple(FIELDS) + EXTRA, source)
    for key, check in FIELDS.items():
        if key in d:
            check(d, key, source)
    if "versions" in d:
        c.mapping(d, "versions", source)
    return d
