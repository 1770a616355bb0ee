"""Training runs: a folder with ``config.json`` (re-creates the run), ``metrics.json`` (per epoch)
and ``checkpoint.pt`` (weights + optimiser, written every epoch, loaded with ``weights_only``).
"""
from __future__ import annotations

import json
import platform
import sys
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from neurodeploy.atomic import write_json, write_with
from neurodeploy.data import load_dataset, spec
from neurodeploy.encoding import make_encoder
from neurodeploy.errors import BadInputError, UsageError
from neurodeploy.models.classifier import ANNClassifier, SpikingClassifier
from neurodeploy.models.snn import ANNNet, NeuronConfig, SpikingNet
from neurodeploy.training.losses import LOSSES, accuracy_per_step, loss_fn
from neurodeploy.training.perturb import mppd_penalty, parse_adv, parse_noise, perturb_batch

CHECKPOINT = "checkpoint.pt"


@dataclass
class TrainConfig:
    """Everything that defines a run; saved as ``config.json``."""

    dataset: str = "fashion-mnist"
    model: str = "mlp"
    encoding: dict = field(default_factory=lambda: {"name": "early_burst"})
    steps: int = 8
    epochs: int = 5
    seed: int = 0
    ann: bool = False
    loss: str = "temporal"
    batch_size: int = 128
    lr: float = 1e-3
    lr_schedule: str = "cosine"  # "cosine" (to 0 over the run's epochs) | "constant"
    limit: int | None = None
    test_limit: int | None = None
    noise: str | None = None
    adv: str | None = None
    mppd: float | None = None  # ρ of the membrane-perturbation penalty; perturbed input from --adv/--noise (default gaussian 8/255)
    neuron: dict = field(default_factory=lambda: asdict(NeuronConfig()))
    weight_scale: float = 2.0
    init_from: str | None = None  # run folder whose weights start this run (fine-tuning), shape-checked

    def validate(self) -> "TrainConfig":
        spec(self.dataset)
        make_encoder(self.encoding)
        if self.loss not in LOSSES:
            raise UsageError(f"unknown loss '{self.loss}' (known: {', '.join(LOSSES)})")
        if self.lr_schedule not in ("cosine", "constant"):
            raise UsageError(f"unknown lr schedule '{self.lr_schedule}' (cosine | constant)")
        if self.steps < 1 or self.epochs < 0 or self.batch_size < 1:
            raise UsageError("steps and batch size must be >= 1 and epochs >= 0")
        parse_noise(self.noise)
        parse_adv(self.adv)
        if self.mppd is not None and (self.ann or self.mppd < 0):
            raise UsageError("--mppd needs a spiking model and ρ >= 0")
        return self

    @classmethod
    def from_dict(cls, d: dict, source: str = "config") -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known - {"versions"}
        if unknown:
            raise BadInputError(f"{source}: unknown keys {sorted(unknown)}")
        return cls(**{k: v for k, v in d.items() if k in known})


def versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for pkg in ("neurodeploy", "torch", "numpy", "lava-nc", "lava-dl"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = None
    return out


def build_classifier(cfg: TrainConfig):
    s = spec(cfg.dataset)
    enc = make_encoder(cfg.encoding)
    if cfg.ann:
        return ANNClassifier(ANNNet(cfg.model, len(s.classes), s.shape[0]))
    net = SpikingNet(cfg.model, len(s.classes), s.shape[0] * enc.channels_factor,
                     NeuronConfig(**cfg.neuron), cfg.weight_scale)
    return SpikingClassifier(net, enc, cfg.steps, cfg.seed)


def _checkpoint_state(clf) -> dict:
    """The network's weights without SLAYER's batch-shaped neuron-state buffers."""
    skip = clf.net.transient_state_keys() if hasattr(clf.net, "transient_state_keys") else set()
    return {k: v for k, v in clf.net.state_dict().items() if k not in skip}


def load_weights(clf, state: dict, source: str) -> None:
    own = _checkpoint_state(clf)
    if set(state) != set(own):
        raise BadInputError(f"{source}: weights do not match the model (missing {sorted(set(own) - set(state))[:3]}, "
                            f"unexpected {sorted(set(state) - set(own))[:3]})")
    for k, v in state.items():
        if not isinstance(v, torch.Tensor) or v.shape != own[k].shape:
            raise BadInputError(f"{source}: '{k}' has shape {getattr(v, 'shape', type(v))}, expected {tuple(own[k].shape)}")
    clf.net.load_state_dict(state, strict=False)


def read_json(path: Path) -> dict:
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise BadInputError(f"{path}: missing") from None
    except json.JSONDecodeError as e:
        raise BadInputError(f"{path}: not valid JSON ({e.msg} at line {e.lineno})") from None


def _to_float(images_u8: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(images_u8).float().div_(255.0)


@torch.no_grad()
def evaluate(clf, images: np.ndarray, labels: np.ndarray, batch_size: int = 500) -> dict:
    """Test accuracy at the end and at every step (argmax of cumulative output)."""
    clf.eval()
    correct = None
    for i in range(0, len(labels), batch_size):
        x = _to_float(images[i:i + batch_size])
        y = torch.from_numpy(labels[i:i + batch_size])
        if isinstance(clf, SpikingClassifier):
            clf.generator = torch.Generator().manual_seed(clf.seed + 7919 + i)
        cum = clf.cumulative(x)
        c = accuracy_per_step(cum, y)
        correct = c if correct is None else correct + c
    per_step = (correct.double() / len(labels)).tolist()
    return {"test_accuracy": per_step[-1], "test_accuracy_per_step": per_step}


def train(cfg: TrainConfig, out_dir, resume: bool = False, data_dir=None, progress: bool | None = None,
          stop_after: int | None = None) -> dict:
    """Train (or resume) a run into ``out_dir``; returns the metrics dict also written to disk.

    ``stop_after``: return after this epoch, as an interruption would (resume continues from it).
    """
    cfg.validate()
    out = Path(out_dir)
    ckpt_path = out / CHECKPOINT
    if resume:
        if not ckpt_path.exists():
            raise BadInputError(f"{ckpt_path}: nothing to resume (no checkpoint)")
        saved = TrainConfig.from_dict(read_json(out / "config.json"), str(out / "config.json"))
        if asdict(saved) != asdict(cfg):
            raise UsageError(f"{out / 'config.json'}: resume needs the same settings as the run")
    out.mkdir(parents=True, exist_ok=True)

    torch.manual_seed(cfg.seed)
    np.random.seed(cfg.seed)
    clf = build_classifier(cfg)
    opt = torch.optim.Adam(clf.net.parameters(), lr=cfg.lr)
    sched = (torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(cfg.epochs, 1))
             if cfg.lr_schedule == "cosine" else None)
    start, history = 0, []
    if cfg.init_from and not resume:
        src = Path(cfg.init_from) / CHECKPOINT
        if not src.exists():
            raise BadInputError(f"{src}: missing (--init-from needs a trained run)")
        load_weights(clf, torch.load(src, map_location="cpu", weights_only=True)["model"], str(src))
    if resume:
        state = torch.load(ckpt_path, map_location="cpu", weights_only=True)
        load_weights(clf, state["model"], str(ckpt_path))
        opt.load_state_dict(state["optimizer"])
        if sched is not None and "scheduler" in state:
            sched.load_state_dict(state["scheduler"])
        start = int(state["epoch"]) + 1
        history = read_json(out / "metrics.json").get("epochs", [])[:start]

    train_ds = load_dataset(cfg.dataset, "train", data_dir, cfg.limit)
    test_ds = load_dataset(cfg.dataset, "test", data_dir, cfg.test_limit)
    write_json(out / "config.json", {**asdict(cfg), "versions": versions()})
    lossf = loss_fn(cfg.loss)
    noise, adv = parse_noise(cfg.noise), parse_adv(cfg.adv)
    show = sys.stderr.isatty() if progress is None else progress

    last = cfg.epochs if stop_after is None else min(cfg.epochs, stop_after)
    for epoch in range(start, last):
        t0 = time.time()
        clf.train()
        order = torch.randperm(len(train_ds), generator=torch.Generator().manual_seed(cfg.seed * 1000 + epoch))
        total, correct, loss_sum = 0, 0, 0.0
        bar = tqdm(range(0, len(order), cfg.batch_size), desc=f"epoch {epoch + 1}/{cfg.epochs}",
                   disable=not show, leave=False)
        for b, i in enumerate(bar):
            idx = order[i:i + cfg.batch_size].numpy()
            x, y = _to_float(train_ds.images[idx]), torch.from_numpy(train_ds.labels[idx])
            if isinstance(clf, SpikingClassifier):
                clf.generator = torch.Generator().manual_seed(cfg.seed * 1_000_003 + epoch * 10_007 + b)
            if cfg.mppd is not None:
                x_pert = perturb_batch(clf, x, y, noise if (noise or adv) else 8 / 255, adv, lossf)
                loss, cum = mppd_penalty(clf, x, x_pert, y, lossf, cfg.mppd)
            else:
                x = perturb_batch(clf, x, y, noise, adv, lossf)
                cum = clf.cumulative(x)
                loss = lossf(cum, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += len(y)
            correct += int((cum[..., -1].argmax(1) == y).sum())
            loss_sum += float(loss.detach()) * len(y)
            bar.set_postfix(loss=f"{loss_sum / total:.3f}", acc=f"{correct / total:.3f}")
        if sched is not None:
            sched.step()
        ev = evaluate(clf, test_ds.images, test_ds.labels)
        # checkpoint first, then metrics: a crash between them re-runs one epoch, never skips one
        history.append({"epoch": epoch + 1, "loss": loss_sum / max(total, 1), "train_accuracy": correct / max(total, 1),
                        **ev, "seconds": time.time() - t0})
        write_with(ckpt_path, lambda tmp: torch.save(
            {"model": _checkpoint_state(clf), "optimizer": opt.state_dict(), "epoch": epoch,
             **({"scheduler": sched.state_dict()} if sched is not None else {})}, tmp))
        write_json(out / "metrics.json", {"epochs": history, "seed": cfg.seed})
        if show:
            tqdm.write(f"epoch {epoch + 1}: loss {history[-1]['loss']:.4f} train {history[-1]['train_accuracy']:.4f} "
                       f"test {ev['test_accuracy']:.4f}", file=sys.stderr)
    if not history:
        write_json(out / "metrics.json", {"epochs": [], "seed": cfg.seed})
    return read_json(out / "metrics.json")


def load_run(run_dir, device: str = "cpu"):
    """A trained run as an ``nn.Module`` in eval mode: images in [0,1] (N, C, H, W) -> logits."""
    run = Path(run_dir)
    if not run.is_dir():
        raise BadInputError(f"{run}: not a run folder")
    cfg = TrainConfig.from_dict(read_json(run / "config.json"), str(run / "config.json")).validate()
    clf = build_classifier(cfg)
    ckpt = run / CHECKPOINT
    if not ckpt.exists():
        raise BadInputError(f"{ckpt}: missing (the run has not finished an epoch)")
    try:
        state = torch.load(ckpt, map_location=device, weights_only=True)
    except Exception as e:  # pickle errors, truncation: one line, no code executed
        raise BadInputError(f"{ckpt}: unreadable checkpoint ({type(e).__name__})") from None
    if not isinstance(state, dict) or "model" not in state:
        raise BadInputError(f"{ckpt}: not a neurodeploy checkpoint")
    load_weights(clf, state["model"], str(ckpt))
    clf.config = cfg
    return clf.eval().to(device)
