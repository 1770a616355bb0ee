"""The model card inside a NetX file (JSON): the fields the runtime, report and attacks read.

Checked when the file is read (``neurodeploy.netx.read``), so nothing past the loader sees an
unchecked value. Fields are optional (a hand-made or imported model may have no card); when
present they must have the right type and range. Unknown fields are kept (cards are
extensible: later stages add their own); the known ones, with their cross-field rules:

* ``steps`` T: integer in 1..MAX_STEPS; ``seed``: integer in 0..2^63-1
* ``dataset``, ``model``, ``format``, ``loss``: strings; ``classes``: list of strings
* ``encoding``: ``{"name"[, "parts"]}``; ``neuron``: the run config's neuron table
* ``image_shape``, ``input_shape``: lists of 1 or 3 positive integers; ``latency_steps`` >= 0
* ``input_message_bits``: 0 (unary spikes in) or the payload bits of graded input, 1..24
* ``classes`` count equals the model's number of outputs (checked by the reader, which knows the layers)
"""
from __future__ import annotations

from neurodeploy.schemas import checks as c
from neurodeploy.schemas.encoding import check_encoding
from neurodeploy.schemas.run_config import check_neuron

MAX_CLASSES = 1_000_000
MAX_INPUT_MESSAGE_BITS = 24  # Loihi 2's graded-spike payload


def _shape(card, key, source):
    v = c.sequence(card, key, source, optional=True, default=None, max_len=3)
    if v is not None and (len(v) not in (1, 3) or not all(isinstance(x, int) and not isinstance(x, bool)
                                                           and 1 <= x <= 1 << 24 for x in v)):
        raise c.fail(source, key, f"must be 1 or 3 positive integers, got {v!r:.60}")
    return v


def check_card(card, source, num_outputs: int | None = None) -> dict:
    """Check ``card`` (a dict from the NetX file); ``num_outputs``: the last layer's size, if known."""
    source = f"{source}: model card"
    if not isinstance(card, dict):
        raise c.BadInputError(f"{source}: expected a JSON object, got {type(card).__name__}")
    for key in ("format", "dataset", "model", "loss", "exported"):
        c.text(card, key, source, optional=True, default=None, max_len=256)
    c.integer(card, "steps", source, 1, c.MAX_STEPS, optional=True, default=None)
    c.integer(card, "seed", source, 0, c.SEED_MAX, optional=True, default=None)
    c.integer(card, "latency_steps", source, 0, 1 << 20, optional=True, default=None)
    c.integer(card, "input_message_bits", source, 0, MAX_INPUT_MESSAGE_BITS, optional=True, default=None)
    if card.get("encoding") is not None:
        check_encoding(card, "encoding", source)
    if card.get("neuron") is not None:
        check_neuron(card, "neuron", source)
    classes = c.sequence(card, "classes", source, optional=True, default=None, max_len=MAX_CLASSES)
    if classes is not None:
        if not all(isinstance(x, str) for x in classes):
            raise c.fail(source, "classes", "must be a list of strings")
        if num_outputs is not None and len(classes) != num_outputs:
            raise c.fail(source, "classes", f"names {len(classes)} classes, the model has {num_outputs} outputs")
    _shape(card, "image_shape", source)
    _shape(card, "input_shape", source)
    for key in ("training", "metrics", "quantisation", "versions", "verified"):
        c.mapping(card, key, source, optional=True, default=None)
    return card
