"""One seeding rule (neurodeploy.seeding): streams derived from (seed, purpose, keys), and a
stochastic model's accuracy is one number across train's metrics, run, report and attack."""
from __future__ import annotations

import subprocess
import sys

import torch

from neurodeploy.encoding import encode_samples, make_encoder
from neurodeploy.seeding import derive, numpy_stream, stream


def test_derive_is_stable_and_separates_purposes():
    # a fixed value: the same in every process (not Python's salted hash)
    code = "from neurodeploy.seeding import derive; print(derive(0, 'encode/test', 3))"
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert int(other.stdout) == derive(0, "encode/test", 3)
    assert 0 <= derive(0, "x") < 2 ** 63
    assert len({derive(0, "encode/test", 3), derive(1, "encode/test", 3), derive(0, "encode/train", 3),
                derive(0, "encode/test", 4), derive(0, "encode/test", "3", 0)}) == 5
    assert torch.equal(torch.rand(5, generator=stream(2, "p", 1)), torch.rand(5, generator=stream(2, "p", 1)))
    assert numpy_stream(2, "p").integers(1 << 30) == numpy_stream(2, "p").integers(1 << 30)


def test_sample_draw_does_not_depend_on_batch():
    enc = make_encoder("poisson")
    x = torch.rand(10, 1, 4, 4)
    whole = encode_samples(enc, x, 8, 0, range(10))
    parts = torch.cat([encode_samples(enc, x[:3], 8, 0, range(3)), encode_samples(enc, x[3:], 8, 0, range(3, 10))])
    assert torch.equal(whole, parts)
    assert not torch.equal(whole, encode_samples(enc, x, 8, 1, range(10)))  # the seed matters
    assert not torch.equal(whole[1:], encode_samples(enc, x[1:], 8, 0, range(9)))  # the index matters
    burst = make_encoder("early_burst")
    assert torch.equal(encode_samples(burst, x, 8, 0, range(10)), burst.spikes(x, 8))


def test_poisson_accuracy_is_one_number(tmp_path):
    """Train 1 epoch (Poisson MLP); train's final test accuracy == run --backend emu == report (exit
    off) == attack's clean accuracy on the same test images, exactly."""
    from neurodeploy import export_run, run
    from neurodeploy.attacks import AttackConfig, attack, parse_eps
    from neurodeploy.report import make_report
    from neurodeploy.training.config import TrainConfig
    from neurodeploy.training.run import train

    n = 120
    cfg = TrainConfig(model="mlp", encoding={"name": "poisson"}, steps=8, epochs=1, seed=3, batch_size=64,
                      limit=600, test_limit=n)
    metrics = train(cfg, tmp_path / "run", progress=False)
    acc_train = metrics["epochs"][-1]["test_accuracy"]
    assert 0.3 < acc_train < 1.0  # it learnt something, so agreement is not trivial
    export_run(tmp_path / "run", tmp_path / "m.net", check_samples=16)
    acc_run = run(tmp_path / "m.net", "emu", "off", limit=n).accuracy
    rep = make_report(tmp_path / "m.net", "loihi2", limit=n, exit_rule="off")
    acc_report = rep.no_exit.accuracy
    a = attack(tmp_path / "run", AttackConfig(attack="fgsm", eps=parse_eps("0.05"), limit=n, eot=1, seed=11))
    assert acc_train == acc_run == acc_report == a.clean_accuracy, (acc_train, acc_run, acc_report, a.clean_accuracy)
