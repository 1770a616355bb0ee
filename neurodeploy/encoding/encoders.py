"""Spike encoders: images x in [0, 1], shape (N, C, H, W) -> spikes (N, C', H, W, T), t = 0..T-1.

Formulas (docs/attacks.md, as in the seed paper's public code):

=============  ===============================================  ==========================
name           s[t]                                             attack surrogate (default)
=============  ===============================================  ==========================
direct         x  (analog current every step; not spikes)        exact (identity per step)
graded         q / 2^b, q = round(x (2^b - 1)): a b-bit graded   straight-through
               spike every step (Loihi 2 payload; deployable)
poisson        Bernoulli(x), independent per step, seeded         straight-through
early_burst    1[t/T < x]     bright pixels first and longest     spike-only
early_burst_floor  1[t < floor(x T)]  count = floor(x T): x < 1/T      spike-only
               never fires (faint noise cannot add a spike)
late_burst     1[t/T > 1 - x] same counts, information late       spike-only
ttfs           1[t = floor((1 - x) T)], never for x = 0           spike-only
fusion         channel concatenation of the listed encoders       each part's own
=============  ===============================================  ==========================

The true gradient of a T-level code is zero almost everywhere, so attacks need a surrogate
(BPDA). Two are offered for every spike encoder, selected with ``surrogate=``:

* ``"ste"`` (straight-through): ds[t]/dx = 1 for every t, i.e. the backward pass of the spike
  count as if count ≈ T·x.
* ``"spike"`` (spike-only, the seed code's choice for temporal codes): ds[t]/dx = s[t], the
  gradient passes only where a spike was emitted. It masks gradients (docs/attacks.md), so the
  attack suite takes the worst case over both.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch

from neurodeploy.errors import UsageError

SURROGATES = ("ste", "spike")


class _Surrogate(torch.autograd.Function):
    """Forward: the given spikes. Backward: dL/dx = sum_t dL/ds[t] * (1 or s[t])."""

    @staticmethod
    def forward(ctx, x, spikes, spike_only: bool):
        ctx.save_for_backward(spikes)
        ctx.spike_only = spike_only
        return spikes

    @staticmethod
    def backward(ctx, grad):
        (spikes,) = ctx.saved_tensors
        g = grad * spikes if ctx.spike_only else grad
        return g.sum(-1), None, None


def _with_surrogate(x: torch.Tensor, spikes: torch.Tensor, surrogate: str) -> torch.Tensor:
    if not x.requires_grad:
        return spikes
    if surrogate not in SURROGATES:
        raise UsageError(f"unknown encoder surrogate '{surrogate}' (known: {', '.join(SURROGATES)})")
    return _Surrogate.apply(x, spikes, surrogate == "spike")


def _steps(T: int, x: torch.Tensor) -> torch.Tensor:
    return torch.arange(T, dtype=x.dtype, device=x.device)


@dataclass
class Encoder:
    """Base: ``encode(x, T, generator)`` returns (N, C * channels_factor, H, W, T) float 0/1 spikes."""

    name: str = ""
    default_surrogate: str = "spike"
    stochastic: bool = False
    analog: bool = False

    @property
    def channels_factor(self) -> int:
        return 1

    def spikes(self, x: torch.Tensor, T: int, generator: torch.Generator | None = None) -> torch.Tensor:
        raise NotImplementedError

    def encode(self, x: torch.Tensor, T: int, generator=None, surrogate: str | None = None) -> torch.Tensor:
        """Encode with the attack surrogate in the backward pass (only when ``x`` requires grad)."""
        with torch.no_grad():
            s = self.spikes(x.detach(), T, generator)
        return _with_surrogate(x, s, surrogate or self.default_surrogate)

    def config(self) -> dict:
        d = asdict(self)
        for k in ("default_surrogate", "stochastic", "analog"):
            d.pop(k, None)
        return d

    @property
    def message_bits(self) -> int:
        """Bits of the payload the deployed network's first synapse receives (0: unary 0/1 spikes)."""
        return 0

    def to_deployed(self, spikes: torch.Tensor) -> torch.Tensor:
        """What the NetX network takes for ``spikes`` (this encoder's output): 0/1 as uint8."""
        return spikes.to(torch.uint8)


@dataclass
class Direct(Encoder):
    """Direct coding: the analog pixel value x is the input current at every step, s[t] = x."""

    name: str = "direct"
    default_surrogate: str = "ste"
    analog: bool = True

    def spikes(self, x, T, generator=None):
        return x.unsqueeze(-1).expand(*x.shape, T).contiguous()

    def encode(self, x, T, generator=None, surrogate=None):
        return x.unsqueeze(-1).expand(*x.shape, T)  # differentiable as is


MAX_GRADED_BITS = 8


@dataclass
class Graded(Encoder):
    """Graded spikes: at every step the pixel's b-bit level q = round(x (2^b - 1)) as one spike's
    payload (Loihi 2; NetX ``input_message_bits = b``). The network sees s[t] = q / 2^b.

    Exact on Lava: the first layer receives a = W q with W = k/64 as integers k q, so its neurons
    keep their state 2^b times finer than the others (``SpikingNet(input_bits=b)``; the export
    writes that layer's threshold as vThMant = θ·64·2^b). Lava's 24-bit state then bounds that
    layer's current and voltage by 2^(11-b) (32 at b = 6).
    """

    name: str = "graded"
    bits: int = 6
    default_surrogate: str = "ste"

    def __post_init__(self):
        if not isinstance(self.bits, int) or isinstance(self.bits, bool) or not 1 <= self.bits <= MAX_GRADED_BITS:
            raise UsageError(f"graded encoding: bits must be an integer in 1..{MAX_GRADED_BITS}, got {self.bits!r}")

    @property
    def message_bits(self) -> int:
        return self.bits

    def spikes(self, x, T, generator=None):
        q = torch.round(x.clamp(0, 1) * ((1 << self.bits) - 1))
        return (q / (1 << self.bits)).unsqueeze(-1).expand(*x.shape, T).contiguous()

    def to_deployed(self, spikes: torch.Tensor) -> torch.Tensor:
        return torch.round(spikes * (1 << self.bits)).to(torch.uint8)


@dataclass
class Poisson(Encoder):
    """Rate coding: s[t] ~ Bernoulli(x) independently at every step (seeded by ``generator``)."""

    name: str = "poisson"
    default_surrogate: str = "ste"
    stochastic: bool = True

    def spikes(self, x, T, generator=None):
        u = torch.rand(*x.shape, T, generator=generator, dtype=x.dtype, device=x.device)
        return (u < x.unsqueeze(-1)).to(x.dtype)


@dataclass
class EarlyBurst(Encoder):
    """Early burst ("pre"): s[t] = 1[t/T < x]; a pixel fires from t = 0 for ceil(x T) steps."""

    name: str = "early_burst"

    def spikes(self, x, T, generator=None):
        return (_steps(T, x) / T < x.unsqueeze(-1)).to(x.dtype)


@dataclass
class EarlyBurstFloor(Encoder):
    """Early burst with floored counts: s[t] = 1[t < floor(x T)]; a pixel fires from t = 0 for
    floor(x T) steps, so x < 1/T never fires (plain early burst fires any x > 0 at t = 0, and
    lifting a black pixel by 1/255 adds a spike at the most influential step)."""

    name: str = "early_burst_floor"

    def spikes(self, x, T, generator=None):
        count = torch.floor(x * T + FLOOR_TOLERANCE).unsqueeze(-1)
        return (_steps(T, x) < count).to(x.dtype)


FLOOR_TOLERANCE = 1e-6  # x·T computed in float: k/T must give k spikes, not k − 1


@dataclass
class LateBurst(Encoder):
    """Late burst ("post"): s[t] = 1[t/T > 1 - x]; same counts as early burst, information late."""

    name: str = "late_burst"

    def spikes(self, x, T, generator=None):
        return (_steps(T, x) / T > 1 - x.unsqueeze(-1)).to(x.dtype)


@dataclass
class TTFS(Encoder):
    """Time to first spike (latency): one spike at t = floor((1 - x) T); x = 0 never fires."""

    name: str = "ttfs"

    def spikes(self, x, T, generator=None):
        t_fire = torch.floor((1 - x) * T).unsqueeze(-1)
        return ((_steps(T, x) == t_fire) & (x.unsqueeze(-1) > 0)).to(x.dtype)


@dataclass
class Fusion(Encoder):
    """Fusion: channel concatenation [enc_1(x), ..., enc_k(x)] at every step (C' = k C)."""

    name: str = "fusion"
    parts: list = field(default_factory=lambda: ["early_burst", "ttfs"])

    def __post_init__(self):
        self._encoders = [make_encoder(p) for p in self.parts]
        if any(isinstance(e, Fusion) for e in self._encoders):
            raise UsageError("fusion cannot contain fusion")
        if any(e.message_bits for e in self._encoders):  # one payload width for the whole first layer
            raise UsageError("fusion cannot contain a graded encoding")
        self.stochastic = any(e.stochastic for e in self._encoders)
        self.analog = any(e.analog for e in self._encoders)

    @property
    def channels_factor(self) -> int:
        return len(self._encoders)

    def spikes(self, x, T, generator=None):
        return torch.cat([e.spikes(x, T, generator) for e in self._encoders], dim=1)

    def encode(self, x, T, generator=None, surrogate=None):
        return torch.cat([e.encode(x, T, generator, surrogate) for e in self._encoders], dim=1)

    def config(self) -> dict:
        return {"name": self.name, "parts": list(self.parts)}


ENCODERS = {
    "direct": Direct, "graded": Graded, "poisson": Poisson, "early_burst": EarlyBurst, "early_burst_floor": EarlyBurstFloor,
    "late_burst": LateBurst, "ttfs": TTFS, "fusion": Fusion}


def make_encoder(spec) -> Encoder:
    """Build an encoder from a name (``"early_burst"``, ``"graded:8"``, ``"fusion:early_burst+ttfs"``)
    or a config dict."""
    if isinstance(spec, Encoder):
        return spec
    if isinstance(spec, dict):
        name = spec.get("name", "")
        if name == "fusion":
            return Fusion(parts=list(spec.get("parts", [])))
        if name == "graded":
            return Graded(bits=spec.get("bits", Graded.bits))
        spec = name
    name = str(spec).replace("-", "_").lower()
    if name.startswith("fusion"):
        _, _, parts = name.partition(":")
        return Fusion(parts=parts.split("+")) if parts else Fusion()
    if name.startswith("graded:"):
        bits = name.partition(":")[2]
        if not bits.isdigit():
            raise UsageError(f"graded encoding: '{spec}' needs a number of bits, e.g. graded:6")
        return Graded(bits=int(bits))
    aliases = {"rate": "poisson", "pre": "early_burst", "post": "late_burst", "latency": "ttfs", "const": "direct"}
    name = aliases.get(name, name)
    if name not in ENCODERS:
        raise UsageError(f"unknown encoding '{spec}' (known: {', '.join(ENCODERS)}, fusion:A+B)")
    return ENCODERS[name]()


def encode_samples(encoder: Encoder, x: torch.Tensor, T: int, seed: int, indices, split: str = "test") -> torch.Tensor:
    """Spikes of images ``x`` (N, C, H, W) that are samples ``indices`` of data split ``split``.

    A stochastic encoder draws each sample from its own stream,
    :func:`neurodeploy.seeding.sample_stream` (``seed``, ``split``, index), so a sample's spikes
    do not depend on the batch it sits in or on how many samples are encoded: training's
    evaluation, ``run``, ``report``, export's check and ``attack`` see the same draw. No gradient.
    """
    from neurodeploy.seeding import sample_stream

    with torch.no_grad():
        if not encoder.stochastic:
            return encoder.spikes(x, T)
        idx = [int(i) for i in (indices.tolist() if hasattr(indices, "tolist") else indices)]
        if len(idx) != x.shape[0]:
            raise ValueError(f"{len(idx)} indices for {x.shape[0]} images")
        return torch.cat([encoder.spikes(x[k:k + 1], T, sample_stream(seed, split, i)) for k, i in enumerate(idx)],
                         dim=0)
