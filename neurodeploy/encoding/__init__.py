"""Spike encoders (pure PyTorch, no Lava): see :mod:`neurodeploy.encoding.encoders` for the formulas."""
from neurodeploy.encoding.encoders import ENCODERS, Encoder, Fusion, encode_samples, make_encoder

__all__ = ["ENCODERS", "Encoder", "Fusion", "encode_samples", "make_encoder"]
