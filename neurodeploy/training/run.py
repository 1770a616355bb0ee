"""Training a run into its folder (see :mod:`neurodeploy.runfolder`): ``config.json`` (re-creates the run), ``metrics.json`` (per epoch)
and ``checkpoint.pt`` (weights + optimiser, written every epoch, loaded with ``weights_only``).

One loop for the SNN and the ANN twin. Per batch: the clean input x (Gaussian noise added with
``--noise``), optionally a perturbed x' (adversarial from ``--adv``, noisy for MPPD), then the
objective of :mod:`neurodeploy.training.losses` (plain, mixed clean/adversarial, TRADES or
MPPD). After each epoch the test set is evaluated; if the output layer is silent on more than
half of the test images (a dead network predicts class 0 by the tie rule), one line goes to
stderr and ``output_silent`` is set in ``metrics.json``.
"""
from __future__ import annotations

import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from neurodeploy.atomic import write_json, write_with
from neurodeploy.data import load_dataset
from neurodeploy.data.augment import Augment, augment
from neurodeploy.encoding import encode_samples
from neurodeploy.errors import BadInputError, UsageError
from neurodeploy.files import read_json
from neurodeploy.outputs import enclosing_run, same_place
from neurodeploy.schemas.checkpoint import read_checkpoint
from neurodeploy.models.classifier import SpikingClassifier
from neurodeploy.runfolder import (CHECKPOINT, build_classifier, check_budget, checkpoint_state, load_weights, read_config,
                                   read_metrics)
from neurodeploy.seeding import derive, stream
from neurodeploy.training.config import TrainConfig
from neurodeploy.training.losses import (accuracy_per_step, hidden_floor_penalty, kl_per_sample, loss_fn, mixed_loss,
                                         per_sample_loss, spike_rate_penalty, trades_loss)
from neurodeploy.training.perturb import (adversarial_batch, batch_gradient, mppd_penalty, noisy, parse_adv,
                                          parse_noise, warmup_eps)
from neurodeploy.versions import versions


def _to_float(images_u8: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(images_u8).float().div_(255.0)


@torch.no_grad()
def evaluate(clf, images: np.ndarray, labels: np.ndarray, batch_size: int = 500) -> dict:
    """Test accuracy at the end and at every step (argmax of cumulative output)."""
    clf.eval()
    correct, silent = None, 0
    for i in range(0, len(labels), batch_size):
        x = _to_float(images[i:i + batch_size])
        y = torch.from_numpy(labels[i:i + batch_size])
        if isinstance(clf, SpikingClassifier):  # each test image's own draw (neurodeploy.seeding)
            cum = clf.net(encode_samples(clf.encoder, x, clf.steps, clf.seed, range(i, i + len(y)))).cumsum(-1)
        else:
            cum = clf.cumulative(x)
        c = accuracy_per_step(cum, y)
        correct = c if correct is None else correct + c
        if isinstance(clf, SpikingClassifier):
            silent += int((cum[..., -1].sum(1) == 0).sum())
    per_step = (correct.double() / len(labels)).tolist()
    frac = silent / max(len(labels), 1)
    return {"test_accuracy": per_step[-1], "test_accuracy_per_step": per_step,
            "silent_output_fraction": frac, "output_silent": frac > SILENT_FRACTION}


SILENT_FRACTION = 0.5  # more test images than this without any output spike: the network has died


def _objective(cfg: TrainConfig, cum_ref):
    """What the training attack maximises per sample: the run's loss, or TRADES' KL to the clean output."""
    if cfg.trades is not None:
        return lambda cum, y: kl_per_sample(cfg.loss, cum_ref, cum)
    return lambda cum, y: per_sample_loss(cfg.loss, cum, y)


def batch_loss(clf, cfg: TrainConfig, x, y, idx, epoch: int, b: int, batches: int, noise, adv, lossf) -> tuple:
    """(loss, clean cumulative output, ε used) of one training batch; see the module docstring."""
    seed = derive(cfg.seed, "train/adv", epoch, b)
    if noise:
        x = noisy(x, noise, stream(cfg.seed, "train/noise", epoch, b))
    eps, x_pert = 0.0, None
    if adv is not None:
        eps = warmup_eps(adv.eps, cfg.eps_warmup, epoch, b, batches)
        cum_ref = None
        if cfg.trades is not None:
            with torch.no_grad():
                cum_ref = clf.cumulative(x).detach()
        x_pert = adversarial_batch(clf, x, y, idx, adv, eps, batch_gradient(cfg.adv_grad, seed + 1),
                                   _objective(cfg, cum_ref), seed)
    if cfg.mppd is not None:
        if x_pert is None:
            x_pert = noisy(x, 8 / 255, stream(cfg.seed, "train/mppd-noise", epoch, b))
        loss, cum, _ = mppd_penalty(clf, x, x_pert, y, lossf, cfg.mppd, cfg.adv_weight)
        return loss, cum, eps
    clean_loss, cum = objective(clf, cfg, x, y, lossf)
    if x_pert is None:
        return clean_loss, cum, eps
    cum_adv = clf.cumulative(x_pert)
    if cfg.trades is not None:
        return trades_loss(cfg.loss, cum, cum_adv, y, cfg.trades), cum, eps
    return mixed_loss(cfg.loss, cum, cum_adv, y, cfg.adv_weight), cum, eps


def objective(clf, cfg: TrainConfig, x: torch.Tensor, y: torch.Tensor, lossf):
    """(loss, cumulative output) of one batch: ``lossf`` plus, if ``cfg.hidden_reg``, the hidden layers'
    activity floor (:func:`neurodeploy.training.losses.hidden_floor_penalty`); the output-rate penalty
    is added by the caller (it also applies to ``--mppd``)."""
    if not cfg.hidden_reg:
        cum = clf.cumulative(x)
        return lossf(cum, y), cum
    out_spikes, trace = clf.net(clf.encode(x), record=True)
    cum = out_spikes.cumsum(-1)
    return lossf(cum, y) + cfg.hidden_reg * hidden_floor_penalty(trace[:-1], cfg.hidden_low), cum


def _open_run(cfg: TrainConfig, out: Path, resume: bool):
    """Check ``--out`` (and ``--resume``) before anything is built; the checkpoint to resume or None."""
    ckpt_path = out / CHECKPOINT
    if cfg.init_from and same_place(cfg.init_from, out):
        raise UsageError(f"--init-from {cfg.init_from}: is the run folder being written (--out {out})")
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: is a file, expected a run folder")
    if enclosing_run(out.parent) is not None:
        raise UsageError(f"--out {out}: is inside the run folder {enclosing_run(out.parent)}; choose another folder")
    if resume:
        if not (out / "config.json").exists():
            raise BadInputError(f"{out}: nothing to resume (no config.json)")
        saved = read_config(out)
        if asdict(saved) != asdict(cfg):
            raise UsageError(f"{out / 'config.json'}: resume needs the same settings as the run")
        if ckpt_path.exists():  # killed before the first checkpoint: the run starts over
            return read_checkpoint(ckpt_path, need_training_state=True)
    elif ckpt_path.exists():
        raise UsageError(f"--out {out}: already holds a trained run (use --resume, or another folder)")
    return None


def _restore(clf, opt, sched, state, cfg: TrainConfig, out: Path, resume: bool, train_images) -> tuple:
    """Weights from ``--init-from`` (a run of the same kind, or for an SNN its trained ANN twin:
    :mod:`neurodeploy.training.convert`), or the resumed checkpoint's weights, optimiser and
    history; returns (first epoch to run, history)."""
    ckpt_path = out / CHECKPOINT
    if cfg.init_from and not resume:
        src = Path(cfg.init_from) / CHECKPOINT
        if not src.exists():
            raise BadInputError(f"{src}: missing (--init-from needs a trained run)")
        if read_config(cfg.init_from).ann and not cfg.ann:
            from neurodeploy.runfolder import load_run
            from neurodeploy.training.convert import CALIBRATION, init_from_ann

            init_from_ann(clf, load_run(cfg.init_from), train_images[:CALIBRATION], str(cfg.init_from))
        else:
            load_weights(clf, read_checkpoint(src)["model"], str(src))
    if state is None:
        return 0, []
    load_weights(clf, state["model"], str(ckpt_path))
    try:
        opt.load_state_dict(state["optimizer"])
        if sched is not None and "scheduler" in state:
            sched.load_state_dict(state["scheduler"])
    except (KeyError, ValueError, TypeError, RuntimeError) as e:
        raise BadInputError(f"{ckpt_path}: optimiser state does not match the model ({type(e).__name__})") from None
    start = int(state["epoch"]) + 1
    # the checkpoint holds the history (one atomic file is the truth); older checkpoints: metrics.json
    history = list(state["history"]) if "history" in state else read_metrics(out)["epochs"][:start]
    if len(history) != start:
        raise BadInputError(f"{ckpt_path}: metrics of {len(history)} epochs for a checkpoint after epoch {start}")
    return start, history


def _train_epoch(clf, opt, cfg: TrainConfig, train_ds, epoch: int, noise, adv, lossf, aug, show: bool) -> tuple:
    """One pass over the shuffled training set; returns (mean loss, train accuracy, last ε)."""
    torch.manual_seed(derive(cfg.seed, "train/epoch", epoch))  # noise / PGD starts: the same draws on a resumed run
    clf.train()
    order = torch.randperm(len(train_ds), generator=stream(cfg.seed, "train/order", epoch))
    total, correct, loss_sum, eps = 0, 0, 0.0, 0.0
    starts = range(0, len(order), cfg.batch_size)
    bar = tqdm(starts, desc=f"epoch {epoch + 1}/{cfg.epochs}", disable=not show, leave=False)
    for b, i in enumerate(bar):
        idx = order[i:i + cfg.batch_size]
        x, y = _to_float(train_ds.images[idx.numpy()]), torch.from_numpy(train_ds.labels[idx.numpy()])
        if aug.active:  # seeded per (seed, epoch, batch): a resumed run sees the same images
            x = augment(x, aug, stream(cfg.seed, "train/augment", epoch, b))
        if isinstance(clf, SpikingClassifier):
            clf.generator = stream(cfg.seed, "train/encode", epoch, b)
        loss, cum, eps = batch_loss(clf, cfg, x, y, idx, epoch, b, len(starts), noise, adv, lossf)
        if cfg.rate_reg:  # keeps the output layer from falling silent (see losses.spike_rate_penalty)
            loss = loss + cfg.rate_reg * spike_rate_penalty(cum, y, cfg.rate_true, cfg.rate_false)
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += len(y)
        correct += int((cum[..., -1].argmax(1) == y).sum())
        loss_sum += float(loss.detach()) * len(y)
        bar.set_postfix(loss=f"{loss_sum / total:.3f}", acc=f"{correct / total:.3f}")
    return loss_sum / max(total, 1), correct / max(total, 1), eps


def _save_epoch(out: Path, clf, opt, sched, epoch: int, history: list, ev: dict, cfg: TrainConfig, show: bool) -> None:
    """Checkpoint (with the history) first, then metrics.json: a resume after a crash between them
    re-writes metrics.json from the checkpoint."""
    write_with(out / CHECKPOINT, lambda tmp: torch.save(
        {"model": checkpoint_state(clf), "optimizer": opt.state_dict(), "epoch": epoch, "history": history,
         **({"scheduler": sched.state_dict()} if sched is not None else {})}, tmp))
    write_json(out / "metrics.json", {"epochs": history, "seed": cfg.seed, "output_silent": ev["output_silent"]})
    if ev["output_silent"]:
        print(f"warning: {out}: epoch {epoch + 1}: the output layer stopped spiking on "
              f"{ev['silent_output_fraction']:.0%} of the test images (predictions fall back to class 0); "
              "metrics.json has output_silent: true", file=sys.stderr)
    if show:
        tqdm.write(f"epoch {epoch + 1}: loss {history[-1]['loss']:.4f} train {history[-1]['train_accuracy']:.4f} "
                   f"test {ev['test_accuracy']:.4f}", file=sys.stderr)


def train(cfg: TrainConfig, out_dir, resume: bool = False, data_dir=None, progress: bool | None = None,
          stop_after: int | None = None) -> dict:
    """Train (or resume) a run into ``out_dir``; returns the metrics dict also written to disk.

    ``stop_after``: return after this epoch, as an interruption would (resume continues from it).
    """
    cfg.validate()
    out = Path(out_dir)
    state = _open_run(cfg, out, resume)
    check_budget(cfg, max(cfg.batch_size, 500), "training: one batch")  # 500: the evaluation batch

    torch.manual_seed(derive(cfg.seed, "train/init"))
    np.random.seed(derive(cfg.seed, "train/init") % (1 << 32))
    clf = build_classifier(cfg)
    opt = torch.optim.Adam(clf.net.parameters(), lr=cfg.lr)
    sched = (torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(cfg.epochs, 1))
             if cfg.lr_schedule == "cosine" else None)
    train_ds = load_dataset(cfg.dataset, "train", data_dir, cfg.limit)
    test_ds = load_dataset(cfg.dataset, "test", data_dir, cfg.test_limit)
    if len(train_ds) == 0 or len(test_ds) == 0:
        raise BadInputError(f"data set '{cfg.dataset}' has no {'training' if len(train_ds) == 0 else 'test'} images")
    start, history = _restore(clf, opt, sched, state, cfg, out, resume, train_ds.images)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "config.json", {**asdict(cfg), "versions": versions()})
    if state is not None:
        write_json(out / "metrics.json", {"epochs": history, "seed": cfg.seed})
    lossf = loss_fn(cfg.loss)
    noise, adv = parse_noise(cfg.noise), parse_adv(cfg.adv)
    aug = Augment.parse(cfg.augment)
    show = sys.stderr.isatty() if progress is None else progress

    for epoch in range(start, cfg.epochs if stop_after is None else min(cfg.epochs, stop_after)):
        t0 = time.time()
        loss, acc, eps = _train_epoch(clf, opt, cfg, train_ds, epoch, noise, adv, lossf, aug, show)
        if sched is not None:
            sched.step()
        ev = evaluate(clf, test_ds.images, test_ds.labels)
        history.append({"epoch": epoch + 1, "loss": loss, "train_accuracy": acc,
                        **ev, **({"adv_eps": eps} if adv is not None else {}), "seconds": time.time() - t0})
        _save_epoch(out, clf, opt, sched, epoch, history, ev, cfg, show)
    if not history:
        write_json(out / "metrics.json", {"epochs": [], "seed": cfg.seed, "output_silent": False})
    return read_json(out / "metrics.json")
