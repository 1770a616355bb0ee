"""An encoder's config as stored in ``config.json`` and model cards: ``{"name": str[, "parts": [str, ...]][, "bits": int]}``."""
from __future__ import annotations

from neurodeploy.schemas import checks as c


def check_encoding(d: dict, key: str, source) -> dict:
    enc = c.mapping(d, key, source)
    where = f"{source}: '{key}'"
    c.text(enc, "name", where, max_len=64)
    if "parts" in enc:
        parts = c.sequence(enc, "parts", where, max_len=8)
        if not parts or not all(isinstance(p, str) and 0 < len(p) <= 64 for p in parts):
            raise c.fail(where, "parts", "must be a non-empty list of encoder names")
    if "bits" in enc:
        c.integer(enc, "bits", where, 1, 8)
    c.no_unknown(enc, ("name", "parts", "bits"), source, where=f"'{key}'")
    return enc
