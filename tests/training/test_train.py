"""A short train on a slice beats chance clearly; resume continues; load() gives a usable module."""
import json

import pytest
import torch
from click.testing import CliRunner

import neurodeploy
from neurodeploy.cli import main
from neurodeploy.data import load_dataset
from neurodeploy.errors import BadInputError, UsageError
from neurodeploy.training.losses import rate_loss, temporal_loss
from neurodeploy.training.config import TrainConfig
from neurodeploy.training.run import train


def test_tiny_run_beats_chance_and_writes_files(tiny_run):
    run, metrics = tiny_run
    ep = metrics["epochs"]
    assert len(ep) == 2 and ep[-1]["test_accuracy"] > 0.4  # chance is 0.1
    assert len(ep[-1]["test_accuracy_per_step"]) == 8
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["seed"] == 0 and cfg["encoding"] == {"name": "early_burst"} and cfg["versions"]["lava-dl"] == "0.6.0"
    assert (run / "checkpoint.pt").exists()


def test_load_returns_images_to_logits_module(tiny_run):
    run, metrics = tiny_run
    clf = neurodeploy.load(run)
    assert isinstance(clf, torch.nn.Module) and not clf.training
    ds = load_dataset("fashion-mnist", "test", limit=300)
    x = torch.from_numpy(ds.images).float() / 255
    with torch.no_grad():
        logits = clf(x)
    assert logits.shape == (300, 10)
    acc = (logits.argmax(1) == torch.from_numpy(ds.labels)).float().mean().item()
    assert acc == pytest.approx(metrics["epochs"][-1]["test_accuracy"], abs=1e-6)


def test_resume_continues_identically(tmp_path):
    cfg = dict(epochs=2, limit=256, test_limit=100, batch_size=64)
    straight = train(TrainConfig(**cfg), tmp_path / "a", progress=False)
    first = train(TrainConfig(**cfg), tmp_path / "b", progress=False, stop_after=1)  # as if interrupted
    assert len(first["epochs"]) == 1
    resumed = train(TrainConfig(**cfg), tmp_path / "b", resume=True, progress=False)
    assert [e["epoch"] for e in resumed["epochs"]] == [1, 2]
    assert resumed["epochs"][-1]["loss"] == pytest.approx(straight["epochs"][-1]["loss"], rel=1e-6)
    assert resumed["epochs"][-1]["test_accuracy"] == straight["epochs"][-1]["test_accuracy"]
    with pytest.raises(UsageError, match="same settings"):
        train(TrainConfig(**{**cfg, "lr": 0.1}), tmp_path / "b", resume=True, progress=False)


def test_ann_twin_trains_through_same_loop(tmp_path):
    m = train(TrainConfig(ann=True, epochs=1, limit=1000, test_limit=300), tmp_path, progress=False)
    assert m["epochs"][0]["test_accuracy"] > 0.5
    assert neurodeploy.load(tmp_path)(torch.rand(3, 1, 28, 28)).shape == (3, 10)


def test_losses_on_hand_made_outputs():
    y = torch.tensor([0])
    early = torch.tensor([[[1.0, 2, 3], [0, 0, 0]]])   # right from step 0
    late = torch.tensor([[[0.0, 0, 3], [0, 0, 0]]])    # right only at the end
    assert rate_loss(early, y) == pytest.approx(rate_loss(late, y).item())
    assert temporal_loss(early, y) < temporal_loss(late, y)


def test_load_refuses_tampered_checkpoint(tiny_run, tmp_path):
    run, _ = tiny_run
    bad = tmp_path / "bad"
    bad.mkdir()
    for f in ("config.json", "metrics.json"):
        (bad / f).write_bytes((run / f).read_bytes())
    (bad / "checkpoint.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(BadInputError, match="checkpoint.pt: unreadable checkpoint"):
        neurodeploy.load(bad)


def test_cli_train_and_bad_option(tmp_path):
    r = CliRunner().invoke(main, ["train", "--out", str(tmp_path / "r"), "--epochs", "1", "--limit", "128",
                                  "--test-limit", "64", "--encoding", "ttfs", "--steps", "4"])
    assert r.exit_code == 0, r.output
    assert "1 epochs, test accuracy" in r.output
    r = CliRunner().invoke(main, ["train", "--out", str(tmp_path / "r2"), "--encoding", "morse"])
    assert r.exit_code == 2 and "unknown encoding 'morse'" in r.output


def test_robust_training_options_run_and_change_the_model(tmp_path):
    base = dict(epochs=1, limit=256, test_limit=64, batch_size=64)
    ref = train(TrainConfig(**base), tmp_path / "ref", progress=False)["epochs"][0]["loss"]
    for name, extra in {"noise": {"noise": "gaussian:0.1"}, "fgsm": {"adv": "fgsm:0.1"},
                        "pgd": {"adv": "pgd:0.1,2"}, "mppd": {"mppd": 0.5}}.items():
        m = train(TrainConfig(**base, **extra), tmp_path / name, progress=False)["epochs"][0]
        assert m["loss"] != pytest.approx(ref, rel=1e-4), name  # the perturbation reached the loss
        if name in ("noise", "mppd"):  # adversarial training needs more than 4 batches to learn
            assert m["test_accuracy"] > 0.2, name
    with pytest.raises(UsageError, match="bad --adv"):
        train(TrainConfig(**base, adv="pgd:0.1"), tmp_path / "x", progress=False)


def test_init_from_starts_from_a_trained_run(tiny_run, tmp_path):
    run, metrics = tiny_run
    m = train(TrainConfig(epochs=1, limit=64, test_limit=300, batch_size=64, lr=1e-6, init_from=str(run)),
              tmp_path / "ft", progress=False)
    # with a negligible learning rate the fine-tuned run keeps the source run's accuracy
    assert m["epochs"][0]["test_accuracy"] == pytest.approx(metrics["epochs"][-1]["test_accuracy"], abs=0.02)
    with pytest.raises(BadInputError, match="init-from needs a trained run"):
        train(TrainConfig(epochs=1, limit=64, init_from=str(tmp_path / "nothing")), tmp_path / "x", progress=False)
