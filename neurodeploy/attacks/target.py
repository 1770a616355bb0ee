"""The model under attack and the decision it really takes (its own encoder draw and exit rule).

``Target`` wraps a trained classifier (``SpikingClassifier`` or ``ANNClassifier``) with

* ``decide(x, idx)``: the exact prediction — spikes drawn with the evaluation seed of every
  sample (stochastic encoders: one generator per sample, seeded by ``(seed, sample index)``, so a
  sample's draw does not depend on the batch it sits in), output counts per step, then
  :func:`~neurodeploy.runtime.exit_rules.apply_exit_rule` with the model's exit rule;
* ``cumulative(x, generator)``: the differentiable cumulative output c[t] (N, C, T) used for
  gradients, drawing stochastic encoders from ``generator`` (EOT draws).

The ANN twin has one step and real-valued logits; its decision is the argmax (exit rule n/a).
``judge`` (optional, e.g. the emulated NetX artifact, :class:`~neurodeploy.attacks.deployed.DeployedModel`)
takes over the exact decision: ``counts`` come from ``judge.counts(x, idx)`` while gradients
still come from ``clf`` (attacking an exported model through its float twin, judged on ``emu``).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from neurodeploy.encoding import encode_samples
from neurodeploy.runtime.exit_rules import ExitRule, apply_exit_rule, predict
from neurodeploy.seeding import sample_stream

EVAL_BATCH = 1000


def eval_generator(seed: int, index: int) -> torch.Generator:
    """The generator of test sample ``index``'s evaluation draw (the same on the trained and deployed model,
    and in ``train``'s metrics, ``run`` and ``report``: :func:`neurodeploy.seeding.sample_stream`)."""
    return sample_stream(seed, "test", index)


def eval_spikes(encoder, x: torch.Tensor, steps: int, idx: torch.Tensor, seed: int) -> torch.Tensor:
    """Encode images ``x`` (N, C, H, W) for evaluation, (N, C', H, W, T), no gradient."""
    return encode_samples(encoder, x, steps, seed, idx, "test")


@dataclass
class Target:
    """A classifier under attack: its exact decision and its differentiable output."""

    clf: torch.nn.Module
    rule: ExitRule = field(default_factory=ExitRule)
    seed: int = 0
    judge: object | None = None

    def __post_init__(self):
        self.rule = ExitRule.parse(self.rule)
        self.clf.eval()

    @property
    def is_snn(self) -> bool:
        return getattr(self.clf, "kind", "") == "snn"

    @property
    def stochastic(self) -> bool:
        return self.is_snn and bool(self.clf.encoder.stochastic)

    @property
    def rule_in_force(self) -> ExitRule:
        """The exit rule that decides (always ``off`` for the one-step ANN)."""
        return self.rule if self.is_snn else ExitRule()

    # ------------------------------------------------------------------ exact decision
    def counts(self, x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        """SNN: output spikes per step, int64 (N, C, T). ANN: logits (N, C, 1)."""
        if self.judge is not None:
            return self.judge.counts(x, idx)
        outs = []
        with torch.no_grad():
            for lo in range(0, x.shape[0], EVAL_BATCH):
                xb, ib = x[lo:lo + EVAL_BATCH], idx[lo:lo + EVAL_BATCH]
                if self.is_snn:
                    s = eval_spikes(self.clf.encoder, xb, self.clf.steps, ib, self.seed)
                    outs.append(self.clf.net(s).round().to(torch.int64))
                else:
                    outs.append(self.clf(xb).unsqueeze(-1))
        return torch.cat(outs, dim=0)

    def decide_counts(self, counts: torch.Tensor) -> tuple:
        """(prediction, exit_step) from per-step counts (SNN) or logits (ANN)."""
        if not self.is_snn:
            return predict(counts[..., -1]), torch.ones(counts.shape[0], dtype=torch.int64)
        exit_step, pred = apply_exit_rule(counts, self.rule)
        return pred, exit_step

    def decide(self, x: torch.Tensor, idx: torch.Tensor) -> tuple:
        """Exact (prediction, exit_step), both int64 (N,)."""
        return self.decide_counts(self.counts(x, idx))

    def correct(self, x: torch.Tensor, y: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        return self.decide(x, idx)[0] == y

    def decide_cumulative(self, cum: torch.Tensor) -> torch.Tensor:
        """Prediction from a (detached) cumulative output of a deterministic forward pass."""
        cum = cum.detach()
        if not self.is_snn:
            return predict(cum[..., -1])
        counts = torch.diff(cum, dim=-1, prepend=torch.zeros_like(cum[..., :1])).round().to(torch.int64)
        return apply_exit_rule(counts, self.rule)[1]

    # ------------------------------------------------------------------ differentiable output
    def cumulative(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """c[t] (N, C, T) with gradients; stochastic encoders draw from ``generator``."""
        if not self.is_snn:
            return self.clf.cumulative(x)
        old = self.clf.generator
        self.clf.generator = generator
        try:
            return self.clf.cumulative(x)
        finally:
            self.clf.generator = old
