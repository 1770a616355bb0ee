"""Training-time image augmentation, seeded: the usual CIFAR-10 recipe (random crop with padding,
horizontal flip) as a pure function of (images, generator).

For images x (N, C, H, W) and padding p, sample n gets offsets (dy, dx) uniform in {0..2p} and
a flip bit f (probability 1/2), drawn in that order from the generator::

    x'[n, c, i, j] = pad_p(x)[n, c, i + dy, j + dx]        (zero padding)
    x''[n, c, i, j] = x'[n, c, i, W - 1 - j] if f else x'[n, c, i, j]

Specs: ``none``, ``cropP`` (1 ≤ P ≤ 64), ``flip``, ``cropP+flip`` (e.g. ``crop4+flip``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import torch

from neurodeploy.errors import UsageError

MAX_PAD = 64  # crop padding beyond the largest image side (32) only adds empty border


@dataclass(frozen=True)
class Augment:
    """Crop padding p (0: no crop) and whether to flip horizontally."""

    pad: int = 0
    flip: bool = False

    @classmethod
    def parse(cls, text: str) -> "Augment":
        t = (text or "none").strip().lower()
        if t == "none":
            return cls()
        pad, flip = 0, False
        for part in t.split("+"):
            m = re.fullmatch(r"crop(\d+)", part.strip())
            if m and 1 <= int(m.group(1)) <= MAX_PAD and not pad:
                pad = int(m.group(1))
            elif part.strip() == "flip" and not flip:
                flip = True
            else:
                raise UsageError(f"bad augmentation '{text}' (expected none, cropP (1 <= P <= {MAX_PAD}), flip or cropP+flip, e.g. crop4+flip)")
        return cls(pad, flip)

    def __str__(self) -> str:
        parts = ([f"crop{self.pad}"] if self.pad else []) + (["flip"] if self.flip else [])
        return "+".join(parts) or "none"

    @property
    def active(self) -> bool:
        return bool(self.pad or self.flip)


def augment(images: torch.Tensor, spec: Augment, generator: torch.Generator) -> torch.Tensor:
    """A new tensor: ``images`` (N, C, H, W) randomly cropped and flipped as ``spec`` says."""
    if not spec.active:
        return images
    n, _, h, w = images.shape
    out = images
    if spec.pad:
        p = spec.pad
        padded = torch.nn.functional.pad(images, (p, p, p, p))
        dy = torch.randint(0, 2 * p + 1, (n,), generator=generator)
        dx = torch.randint(0, 2 * p + 1, (n,), generator=generator)
        rows = (dy[:, None] + torch.arange(h))[:, :, None]       # (N, H, 1)
        cols = (dx[:, None] + torch.arange(w))[:, None, :]       # (N, 1, W)
        out = padded[torch.arange(n)[:, None, None], :, rows, cols].permute(0, 3, 1, 2).contiguous()
    if spec.flip:
        f = torch.rand(n, generator=generator) < 0.5
        out = torch.where(f[:, None, None, None], out.flip(-1), out)
    return out
