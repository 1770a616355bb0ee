"""The cheap-first suite: same per-sample worst case as the full-cost order, at a fraction of the work;
APGD and Square draw per sample, so a sample's fate does not depend on its batch."""
import pytest
import torch

from neurodeploy.attacks import AttackConfig, Target, evaluate
from neurodeploy.attacks.apgd import APGDConfig, apgd, checkpoints
from neurodeploy.attacks.square import SquareConfig, p_at, square

EPS = 0.02


@pytest.fixture(scope="module")
def floor_snn(tmp_path_factory):
    """A small SNN on the floored early burst: some samples survive ε = 0.02 (plain early burst: none)."""
    import neurodeploy
    from neurodeploy.training.config import TrainConfig
    from neurodeploy.training.run import train

    out = tmp_path_factory.mktemp("floor_snn")
    train(TrainConfig(epochs=1, limit=1000, test_limit=100, encoding={"name": "early_burst_floor"}), out, progress=False)
    return neurodeploy.load(out)


def test_cheap_first_suite_has_the_full_orders_robust_set(floor_snn, data):
    x, y, _ = (t[:50] for t in data)
    tg = Target(floor_snn, "off")
    kw = dict(attack="suite", eps=(EPS,), steps=10, queries=60, limit=None, check_samples=15)
    cheap = evaluate(tg, x, y, AttackConfig(**kw), progress=False)
    full = evaluate(tg, x, y, AttackConfig(**kw, full=True), progress=False)
    rc, rf = cheap.results[0], full.results[0]
    robust_cheap = [b is None for b in rc.broken_by]
    robust_full = [b is None for b in rf.broken_by]
    assert robust_cheap == robust_full
    assert sum(robust_full) > 0  # some samples survive: the order had something to skip
    attacked = lambda r: sum(m.attacked for m in r.members)  # noqa: E731
    assert attacked(rc) < attacked(rf)
    sq = rc.member(next(m.name for m in rc.members if m.method == "square"))
    assert sq.attacked == sum(robust_cheap) + sq.new  # Square only saw what the others left standing
    assert all(m.accuracy_on == 15 for m in rc.members if m.standalone)
    assert {c.name for c in cheap.checks} == {c.name for c in full.checks}


def test_apgd_and_square_results_do_not_depend_on_the_batch(floor_snn, data):
    x, y, idx = (t[:24] for t in data)
    tg = Target(floor_snn, "off")
    sub = torch.arange(0, 24, 3)
    for run in (lambda xx, yy, ii: apgd(tg, xx, yy, ii, APGDConfig(EPS, steps=8)),
                lambda xx, yy, ii: square(tg, xx, yy, ii, SquareConfig(EPS, queries=40))):
        whole = run(x, y, idx)
        part = run(x[sub], y[sub], idx[sub])
        assert torch.equal(whole.broken[sub], part.broken)
        assert torch.allclose(whole.x_adv[sub], part.x_adv, atol=1e-6)


def test_schedules():
    assert checkpoints(100)[:2] == [22, 41] and checkpoints(100)[-1] == 99 and len(checkpoints(100)) == 8
    assert p_at(0.8, 0, 1000) == 0.8 and p_at(0.8, 30, 1000) == 0.1 and p_at(0.8, 999, 1000) == 0.8 / 512
