"""Training losses on cumulative outputs c[t] (N, classes, T); pure functions.

* ``rate``:     L = CE(c[T-1], y), cross-entropy of the spike counts at the end.
* ``temporal``: L = (1/T) Σ_t CE(c[t], y), cross-entropy of the cumulative output at every
  step, so the network is right early — what early exit relies on.

For the ANN twin T = 1 and both reduce to the ordinary cross-entropy of its logits.

Robust-training objectives, built on the run's loss ℓ (``rate`` or ``temporal``):

* ``mixed_loss``:  L = (1 − w)·ℓ(c(x), y) + w·ℓ(c(x'), y), x' the perturbed input, w the
  adversarial weight (0.5 by default; w = 1 is adversarial loss alone, which killed the
  early-burst SNN, issue 13);
* ``trades_loss`` (Zhang et al. 2019): L = ℓ(c(x), y) + β·KL(p(x) ‖ p(x')), p = softmax of the
  cumulative output, the KL read where ℓ reads (every step for ``temporal``, step T for ``rate``),
  x' the input that maximises that KL (:func:`kl_per_sample` is the attack's objective).

``spike_rate_penalty`` (SLAYER's SpikeRate idea, used as a regulariser beside either loss): with
r_k = c_k[T-1] / T the output rate of class k, target r* = ``true_rate`` for the label and
``false_rate`` for the others,  P = mean_n Σ_k (r_k - r*_k)².  Cross-entropy alone is minimised at
ln(#classes) by a silent output layer, and a silent layer passes almost no surrogate gradient, so a
deep SNN (CIFAR-10 conv32) can fall into silence within a few steps; P makes silence cost.

``hidden_floor_penalty``: for hidden layers l with mean spike rate r̄_l (over samples, neurons and
steps), H = Σ_l max(0, r_low - r̄_l)², a lower bound on activity (zero while every layer fires at
least r_low); it stops the optimiser from silencing one hidden layer, after which nothing learns.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

LOSSES = ("rate", "temporal")


def rate_loss(cumulative: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(cumulative[..., -1], labels)


def temporal_loss(cumulative: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    n, c, t = cumulative.shape
    per_step = cumulative.permute(0, 2, 1).reshape(n * t, c)
    return F.cross_entropy(per_step, labels.repeat_interleave(t))


def loss_fn(name: str):
    return {"rate": rate_loss, "temporal": temporal_loss}[name]


def _read(cumulative: torch.Tensor, name: str) -> torch.Tensor:
    """The outputs loss ``name`` reads, (N, T', C): every step (temporal) or the last (rate)."""
    return cumulative.permute(0, 2, 1) if name == "temporal" else cumulative[..., -1:].permute(0, 2, 1)


def per_sample_loss(name: str, cumulative: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Loss ``name`` of every sample (N,); its mean is :func:`loss_fn` (name)."""
    z = _read(cumulative, name)
    n, t, c = z.shape
    return F.cross_entropy(z.reshape(n * t, c), labels.repeat_interleave(t), reduction="none").view(n, t).mean(1)


def kl_per_sample(name: str, cum_ref: torch.Tensor, cum: torch.Tensor) -> torch.Tensor:
    """KL(p_ref ‖ p) per sample (N,), averaged over the outputs loss ``name`` reads."""
    log_p_ref = F.log_softmax(_read(cum_ref, name), -1)
    log_p = F.log_softmax(_read(cum, name), -1)
    return (log_p_ref.exp() * (log_p_ref - log_p)).sum(-1).mean(1)


def mixed_loss(name: str, cum_clean: torch.Tensor, cum_adv: torch.Tensor, labels: torch.Tensor,
               adv_weight: float) -> torch.Tensor:
    """(1 − w)·ℓ(clean) + w·ℓ(adversarial)."""
    lossf = loss_fn(name)
    return (1.0 - adv_weight) * lossf(cum_clean, labels) + adv_weight * lossf(cum_adv, labels)


def trades_loss(name: str, cum_clean: torch.Tensor, cum_adv: torch.Tensor, labels: torch.Tensor,
                beta: float) -> torch.Tensor:
    """ℓ(clean) + β·mean KL(p(clean) ‖ p(adversarial))."""
    return loss_fn(name)(cum_clean, labels) + beta * kl_per_sample(name, cum_clean, cum_adv).mean()


def accuracy_per_step(cumulative: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Number correct at each step (ties -> lowest class index), shape (T,)."""
    return (cumulative.argmax(1) == labels[:, None]).sum(0)


def spike_rate_penalty(cumulative: torch.Tensor, labels: torch.Tensor, true_rate: float,
                       false_rate: float) -> torch.Tensor:
    """P = mean over samples of Σ_k (c_k[T-1]/T - r*_k)², r* = true_rate at the label, false_rate elsewhere."""
    rate = cumulative[..., -1] / cumulative.shape[-1]
    target = torch.full_like(rate, false_rate)
    target[torch.arange(len(labels)), labels] = true_rate
    return ((rate - target) ** 2).sum(1).mean()


def hidden_floor_penalty(hidden_spikes, low: float) -> torch.Tensor:
    """H = Σ_l max(0, low - mean(s_l))² over the hidden layers' spike tensors s_l."""
    return sum(torch.relu(low - s.mean()) ** 2 for s in hidden_spikes)
