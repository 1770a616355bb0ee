"""A run's ``checkpoint.pt``: ``{"model": {name: Tensor}, "optimizer": dict, "epoch": int[, "scheduler",
"history"]}``, loaded with ``weights_only=True`` (no code runs). Shapes are checked against the
model by ``neurodeploy.runfolder.load_weights``.

``history`` is the metrics of every finished epoch (the checkpoint is the one atomic truth a
resume continues from; ``metrics.json`` is re-written from it).
"""
from __future__ import annotations

from pathlib import Path

import torch

from neurodeploy.errors import BadInputError
from neurodeploy.schemas import checks as c
from neurodeploy.schemas.metrics import check_epoch


def read_checkpoint(path, need_training_state: bool = False) -> dict:
    """Load and check ``path``; ``need_training_state``: also the optimiser and epoch (for --resume)."""
    path = Path(path)
    if not path.is_file():
        raise BadInputError(f"{path}: missing" if not path.exists() else f"{path}: not a file")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # pickle errors, truncation, an empty file: one line, no code executed
        raise BadInputError(f"{path}: unreadable checkpoint ({type(e).__name__})") from None
    if not isinstance(state, dict) or "model" not in state:
        raise BadInputError(f"{path}: not a neurodeploy checkpoint (no 'model' entry)")
    weights = c.mapping(state, "model", path)
    for k, v in weights.items():
        if not isinstance(k, str) or not isinstance(v, torch.Tensor):
            raise BadInputError(f"{path}: 'model' entry {k!r:.40} is not a named tensor")
        if v.is_floating_point() and not bool(torch.isfinite(v).all()):
            raise BadInputError(f"{path}: 'model' tensor '{k}' holds NaN or inf")
    if need_training_state or "epoch" in state:
        c.integer(state, "epoch", path, 0)
    if need_training_state:
        c.mapping(state, "optimizer", path)
    if "scheduler" in state:
        c.mapping(state, "scheduler", path)
    if "history" in state:
        hist = c.sequence(state, "history", path)
        for i, e in enumerate(hist):
            check_epoch(e, i, path)
        if "epoch" in state and len(hist) != state["epoch"] + 1:
            raise c.fail(path, "history", f"has {len(hist)} epochs, the checkpoint is after epoch {state['epoch'] + 1}")
    return state
