"""Each encoder's formula on hand-made pixels, seeding, fusion and the attack surrogates."""
import pytest
import torch

from neurodeploy.encoding import make_encoder
from neurodeploy.errors import UsageError

X = torch.tensor([0.0, 0.1, 0.3, 0.5, 0.75, 1.0]).reshape(1, 1, 1, 6)
T = 4


def trains(name, x=X, **kw):
    return make_encoder(name).encode(x, T, **kw)[0, 0, 0]  # (pixels, T)


def test_direct_is_analog_every_step():
    assert torch.equal(trains("direct"), X[0, 0, 0, :, None].expand(6, T))


def test_early_burst_t_over_T_below_x():
    # t/T in {0, .25, .5, .75}; spike where t/T < x
    expected = [[0, 0, 0, 0], [1, 0, 0, 0], [1, 1, 0, 0], [1, 1, 0, 0], [1, 1, 1, 0], [1, 1, 1, 1]]
    assert trains("early_burst").tolist() == expected


def test_late_burst_t_over_T_above_one_minus_x():
    # spike where t/T > 1 - x
    expected = [[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 1, 1], [0, 1, 1, 1]]
    assert trains("late_burst").tolist() == expected


def test_ttfs_single_spike_at_floor_one_minus_x_T():
    # floor((1-x)*4): x=.1 -> 3, .3 -> 2, .5 -> 2, .75 -> 1, 1 -> 0; x = 0 never
    expected = [[0, 0, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0], [0, 0, 1, 0], [0, 1, 0, 0], [1, 0, 0, 0]]
    assert trains("ttfs").tolist() == expected


def test_poisson_is_seeded_and_rate_matches():
    x = torch.full((1, 1, 50, 50), 0.3)
    a = make_encoder("poisson").encode(x, 20, torch.Generator().manual_seed(5))
    b = make_encoder("poisson").encode(x, 20, torch.Generator().manual_seed(5))
    c = make_encoder("poisson").encode(x, 20, torch.Generator().manual_seed(6))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert abs(a.mean().item() - 0.3) < 0.01
    assert trains("poisson", generator=torch.Generator().manual_seed(0))[0].sum() == 0  # x = 0 never fires
    assert trains("poisson", generator=torch.Generator().manual_seed(0))[-1].sum() == T  # x = 1 always


def test_fusion_concatenates_channels():
    f = make_encoder("fusion:early_burst+ttfs")
    s = f.encode(X, T)
    assert s.shape == (1, 2, 1, 6, T) and f.channels_factor == 2
    assert torch.equal(s[0, 0, 0], trains("early_burst")) and torch.equal(s[0, 1, 0], trains("ttfs"))
    assert make_encoder(f.config()).parts == ["early_burst", "ttfs"]


def test_surrogates_straight_through_and_spike_only():
    x = X.clone().requires_grad_(True)
    make_encoder("early_burst").encode(x, T, surrogate="ste").sum().backward()
    assert x.grad.flatten().tolist() == [T] * 6  # ds[t]/dx = 1 at every step
    x.grad = None
    s = make_encoder("early_burst").encode(x, T, surrogate="spike")
    s.sum().backward()
    assert x.grad.flatten().tolist() == s.detach().sum(-1).flatten().tolist()  # only where a spike was sent
    assert s.requires_grad


def test_unknown_encoding_is_a_usage_error():
    with pytest.raises(UsageError, match="unknown encoding 'morse'"):
        make_encoder("morse")
    with pytest.raises(UsageError, match="unknown encoder surrogate"):
        make_encoder("ttfs").encode(X.clone().requires_grad_(True), T, surrogate="magic")


def test_early_burst_floor_counts_floor_x_T_and_ignores_faint_pixels():
    # floor(x*4): 0, 0 (0.4), 1 (1.2), 2, 3, 4 -- x = 0.1 < 1/T never fires, unlike early_burst
    expected = [[0, 0, 0, 0], [0, 0, 0, 0], [1, 0, 0, 0], [1, 1, 0, 0], [1, 1, 1, 0], [1, 1, 1, 1]]
    assert trains("early_burst_floor").tolist() == expected
    exact = torch.tensor([k / 8 for k in range(9)]).reshape(1, 1, 1, 9)
    assert make_encoder("early_burst_floor").spikes(exact, 8).sum(-1).flatten().tolist() == list(range(9))
    faint = torch.full((1, 1, 2, 2), 1 / 255)
    assert make_encoder("early_burst_floor").spikes(faint, 8).sum() == 0
    assert make_encoder("early_burst").spikes(faint, 8).sum() == 4
