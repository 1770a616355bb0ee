"""Attack-time gradients: surrogate shapes/widths, BPTR, encoder surrogates, EOT."""
import pytest
import torch

from neurodeploy.attacks.gradients import GradientSpec, gradient_mode
from neurodeploy.attacks.losses import attack_loss, exit_outputs
from neurodeploy.attacks.oracle import Oracle
from neurodeploy.attacks.target import Target
from neurodeploy.errors import UsageError
from neurodeploy.runtime.exit_rules import apply_exit_rule

SPECS = ["ste", "spike", "ste+slayer:0.2", "ste+slayer:5", "ste+rect:0.5", "ste+triangle:1",
         "ste+sigmoid:0.25", "ste+bptr", "spike+bptr"]


def test_parse_and_print():
    assert GradientSpec.parse("spike") == GradientSpec("spike", "slayer", 1.0)
    assert str(GradientSpec.parse("ste+rect:0.5")) == "ste+rect:0.5"
    assert str(GradientSpec.parse("ste+bptr")) == "ste+bptr"
    for bad in ("foo", "ste+magic", "ste+rect:0", "ste+rect:x"):
        with pytest.raises(UsageError):
            GradientSpec.parse(bad)


def _grad(clf, x, y, spec):
    xr = x.clone().requires_grad_(True)
    with gradient_mode(clf, spec):
        cum = clf.cumulative(xr)
    (g,) = torch.autograd.grad(attack_loss(cum, y, at="final").sum(), xr)
    return cum.detach(), g


def test_forward_unchanged_backward_differs_and_patches_are_removed(snn, data):
    x, y, _ = (t[:16] for t in data)
    neuron = snn.net.blocks[1].neuron
    before = (neuron.tau_rho, dict(neuron.__dict__).keys() - {"_forward_hooks"}, snn.surrogate)
    with torch.no_grad():
        ref = snn.cumulative(x)
    grads = {}
    for s in SPECS:
        cum, g = _grad(snn, x, y, s)
        assert torch.equal(cum, ref), f"{s} changed the forward pass"
        assert torch.isfinite(g).all() and g.abs().sum() > 0, f"{s} gives no gradient"
        grads[s] = g
    assert (neuron.tau_rho, neuron.__dict__.keys() - {"_forward_hooks"}, snn.surrogate) == before
    assert "spike" not in neuron.__dict__ and "forward" not in neuron.__dict__
    distinct = {tuple(g.flatten()[:2000].sign().tolist()) for g in grads.values()}
    assert len(distinct) >= 6  # the shapes really give different directions


def test_spike_only_encoder_gradient_vanishes_where_no_spike(snn, data):
    x, y, _ = (t[:8] for t in data)
    _, g = _grad(snn, x, y, "spike")
    # early burst: a pixel of value 0 never fires, so the spike-only surrogate passes nothing there
    assert float(g[x == 0].abs().max()) == 0.0
    _, g_ste = _grad(snn, x, y, "ste")
    assert float(g_ste[x == 0].abs().max()) > 0.0


def test_bptr_passes_only_through_neurons_that_fired(snn):
    neuron = snn.net.blocks[-1].neuron
    z = (torch.randn(4, 10, 8, generator=torch.Generator().manual_seed(0)) * 1.5).requires_grad_(True)
    with torch.no_grad():
        ref = neuron(z)
    with gradient_mode(snn, "ste+bptr"):
        s = neuron(z)
    assert torch.equal(s, ref)
    w = torch.arange(8, dtype=torch.float32)  # dL/ds[t] = t
    (s * w).sum().backward()
    fired = ref.sum(-1) > 0
    assert fired.any() and (~fired).any()
    assert float(z.grad[~fired].abs().max()) == 0.0                        # silent neurons: no gradient
    assert torch.allclose(z.grad[fired], torch.full_like(z.grad[fired], float(w.mean())))  # rate: mean over t


def test_eot_averages_seeded_draws(poisson_run, data):
    import neurodeploy

    clf = neurodeploy.load(poisson_run)
    x, y, _ = (t[:8] for t in data)
    tg = Target(clf, "off", seed=3)
    o1 = Oracle(tg, eot=4, seed=5)
    out = o1(x, y)
    # the average of the four single draws with the same generators
    single = []
    for k in range(4):
        xr = x.clone().requires_grad_(True)
        with gradient_mode(clf, GradientSpec()):
            cum = tg.cumulative(xr, Oracle(tg, eot=4, seed=5).generator(k))
        (g,) = torch.autograd.grad(attack_loss(cum, y).sum(), xr)
        single.append(g)
    assert torch.allclose(out.grad, torch.stack(single).mean(0), atol=1e-6)
    assert not torch.allclose(single[0], single[1])  # the draws differ
    assert torch.equal(Oracle(tg, eot=4, seed=5)(x, y).grad, out.grad)  # seeded: deterministic
    assert not torch.equal(o1(x, y).grad, out.grad)  # the next call takes new draws
    # the evaluation draw is fixed per sample, whatever the batch
    p_all, _ = tg.decide(x, torch.arange(8))
    p_part, _ = tg.decide(x[3:6], torch.arange(3, 6))
    assert torch.equal(p_all[3:6], p_part)


def test_exit_loss_reads_the_exit_step(snn, data):
    x, y, idx = (t[:32] for t in data)
    tg = Target(snn, "margin:1")
    with torch.no_grad():
        cum = snn.cumulative(x)
    counts = cum.diff(dim=-1, prepend=torch.zeros_like(cum[..., :1])).round().long()
    steps, pred = apply_exit_rule(counts, tg.rule)
    assert (steps < snn.steps).any(), "the rule should exit early on some samples"
    z = exit_outputs(cum, tg.rule)
    assert torch.equal(z, cum[torch.arange(32), :, steps - 1])
    assert torch.equal(tg.decide(x, idx)[0], pred)
    prefix = attack_loss(cum, y, at="prefix")
    per_step = sum(torch.nn.functional.cross_entropy(cum[..., t], y, reduction="none") for t in range(snn.steps))
    assert torch.allclose(prefix, per_step, atol=1e-5)
