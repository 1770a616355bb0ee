"""Backend-neutral deployment runtime: ``run_model`` on ``emu`` | ``sim`` | ``loihi2``.

All backends share one convention (``runtime/emu.py``): each sample starts from zero state,
output spikes are indexed by the input step that caused them, and the exit rule
(:mod:`neurodeploy.runtime.exit_rules`) decides after each step. ``emu`` computes all T steps
and applies the rule afterwards (the result is the same: the state never depends on the
future); ``sim`` decides inside the Lava simulation and stops simulating the sample.
"""
from __future__ import annotations

import math
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from neurodeploy import budget
from neurodeploy.atomic import write_json
from neurodeploy.errors import BadInputError, UsageError
from neurodeploy import netx as netx_format
from neurodeploy.runtime.exit_rules import ExitRule

BACKENDS = ("emu", "sim", "loihi2")


# ----------------------------------------------------------------------------------- result
@dataclass
class RunResult:
    """What a run gives, per sample and in summary.

    Per sample (N,): ``prediction``, ``label`` (or None), ``exit_step`` (steps used, 1..T),
    ``counts`` (N, C) cumulative output spikes at the exit step; ``step_counts`` (N, C, T) uint8
    output spikes per step (zero after the exit step). ``recording``: the backend's layer
    recording when ``record=True`` (emu: list of (N, *shape, T) trains; sim: a ``SimResult``).
    """

    backend: str
    exit_rule: str
    steps: int
    prediction: np.ndarray
    exit_step: np.ndarray
    counts: np.ndarray
    step_counts: np.ndarray
    wall_time: float
    label: np.ndarray | None = None
    classes: list | None = None
    lava_steps: int | None = None
    model_path: str | None = None
    meta: dict = field(default_factory=dict)
    recording: object = None

    @property
    def num_samples(self) -> int:
        return int(self.prediction.shape[0])

    @property
    def accuracy(self) -> float | None:
        if self.label is None or self.num_samples == 0:
            return None
        return float(np.mean(self.prediction == self.label))

    @property
    def samples_per_s(self) -> float:
        return self.num_samples / self.wall_time if self.wall_time > 0 else float("inf")

    def summary(self) -> dict:
        """Accuracy, exit-step statistics (percentiles: inverted CDF, i.e. an actual step such that
        at least that share of samples exits at or before it), throughput and wall time."""
        e = self.exit_step.astype(np.float64)
        n = self.num_samples

        def pct(q):
            return int(np.percentile(e, q, method="inverted_cdf")) if n else None

        s = {
            "backend": self.backend,
            "exit_rule": self.exit_rule,
            "samples": n,
            "steps": self.steps,
            "accuracy": self.accuracy,
            "correct": int(np.sum(self.prediction == self.label)) if self.label is not None else None,
            "exit_step_mean": float(e.mean()) if n else None,
            "exit_step_p50": pct(50),
            "exit_step_p90": pct(90),
            "exit_step_p99": pct(99),
            "early_exits": int(np.sum(self.exit_step < self.steps)),
            "samples_per_s": self.samples_per_s if math.isfinite(self.samples_per_s) else None,
            "wall_time_s": self.wall_time,
        }
        if self.lava_steps is not None:
            s["lava_steps"] = int(self.lava_steps)
        startup = self.meta.get("startup_s")
        if startup is not None:
            s["startup_s"] = float(startup)
            busy = self.wall_time - float(startup)
            s["samples_per_s_after_startup"] = n / busy if busy > 0 else None
        return s

    def output_values(self) -> np.ndarray:
        """The output layer's spikes or graded values per step, (N, *output_shape, T)."""
        shape = self.meta.get("output_shape") or [self.step_counts.shape[1]]
        return self.step_counts.reshape(self.num_samples, *shape, self.steps)

    def values_line(self) -> str:
        """Regression view: the output's value per sample (graded: its last step, as a sigma
        output holds the running value; spikes: the count over the steps used), summarised."""
        if self.meta.get("graded_output"):
            v = self.step_counts[np.arange(self.num_samples), :, self.exit_step - 1].astype(np.float64)
            what = "output at the last step"
        else:
            v = self.counts.astype(np.float64)
            what = "output spike counts"
        cols = [f"{v[:, j].mean():.4g} [{v[:, j].min():.4g}, {v[:, j].max():.4g}]" for j in range(min(4, v.shape[1]))]
        more = f" (+{v.shape[1] - 4} more)" if v.shape[1] > 4 else ""
        return f"{what}, mean [min, max] per output: " + "; ".join(cols) + more

    def summary_line(self) -> str:
        s = self.summary()
        if s["accuracy"] is None and s["samples"] and self.meta.get("graded_output"):
            rate = f"{s['samples_per_s']:.1f} samples/s" if s["samples_per_s"] else "-"
            return f"{self.backend}: {s['samples']} samples, T={self.steps} | {self.values_line()} | {rate}"
        acc = (f"accuracy {100 * s['accuracy']:.2f}% ({s['correct']}/{s['samples']})"
               if s["accuracy"] is not None else f"{s['samples']} samples (no labels)")
        if not s["samples"]:
            return f"{self.backend}: no samples"
        ex = (f"exit step mean {s['exit_step_mean']:.2f}, p50 {s['exit_step_p50']}, "
              f"p90 {s['exit_step_p90']}, p99 {s['exit_step_p99']} of T={self.steps} ({self.exit_rule})")
        rate = f"{s['samples_per_s']:.1f} samples/s" if s["samples_per_s"] else "-"
        if s.get("samples_per_s_after_startup"):
            rate += f" ({s['samples_per_s_after_startup']:.1f} after {s['startup_s']:.1f} s startup)"
        return f"{self.backend}: {acc} | {ex} | {rate}"

    def rows(self, per_step: bool = False) -> list:
        out = []
        for i in range(self.num_samples):
            r = {"index": i, "prediction": int(self.prediction[i]),
                 "label": int(self.label[i]) if self.label is not None else None,
                 "exit_step": int(self.exit_step[i]),
                 "counts": [int(c) for c in self.counts[i]]}
            if per_step:
                r["step_counts"] = self.step_counts[i, :, :int(self.exit_step[i])].astype(int).tolist()
            out.append(r)
        return out

    def to_json(self, per_step: bool = False) -> dict:
        """A JSON-able dict: ``summary``, ``meta`` and one row per sample."""
        return {"summary": self.summary(), "meta": {**self.meta, "model": self.model_path,
                                                    "classes": self.classes},
                "samples": self.rows(per_step)}

    def write_json(self, path, per_step: bool = False) -> Path:
        return write_json(path, self.to_json(per_step))


# ----------------------------------------------------------------------------------- running
def _progress_bar(total: int, desc: str, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="sample", file=sys.stderr, leave=False,
                disable=not (enabled and sys.stderr.isatty()))


def _resolve_model(model, path):
    if isinstance(model, (str, os.PathLike)):
        path = Path(model)
        return netx_format.read(path), path
    if not isinstance(model, netx_format.NetxModel):
        raise UsageError(f"expected a NetxModel or a path to a NetX file, got {type(model).__name__}")
    return model, (Path(path) if path is not None else None)


@dataclass
class _BackendRun:
    """What one backend returns to :func:`run_model`: output spikes per step (zero after the exit),
    exit steps, predictions, wall time, Lava steps, the recording, backend info and the file run."""

    step_counts: np.ndarray
    exit_step: np.ndarray
    prediction: np.ndarray
    wall: float
    lava_steps: int | None
    recording: object
    info: dict
    path: Path | None


def _run_emu(net, x: torch.Tensor, rule: ExitRule, record: bool, threads, progress, path, mode: str,
             T: int) -> _BackendRun:
    """emu with the exit rule inside the batch (exited samples stop costing compute)."""
    from neurodeploy.runtime.emu import emulate

    t0 = time.perf_counter()
    r = emulate(net, x, record=record, progress=progress, threads=threads, exit_rule=rule, input_mode=mode, steps=T)
    wall = time.perf_counter() - t0
    return _BackendRun(r.spikes.numpy(), r.exit_step.numpy(), r.prediction.numpy(), wall, None, r.layers, {}, path)


def _run_lava(backend: str, model, net, path, x: torch.Tensor, rule: ExitRule, record: bool, progress, mode: str,
              T: int) -> _BackendRun:
    """sim / loihi2 on a NetX file (a temporary one when ``path`` is None)."""
    tmpdir = None
    try:
        if path is None:
            tmpdir = tempfile.mkdtemp(prefix="neurodeploy-run-")
            path = netx_format.write(model, Path(tmpdir) / "model.net")
        if backend == "sim":
            from neurodeploy.runtime.sim import simulate

            r = simulate(path, x, rule, record=record, model=model, progress=progress, input_mode=mode, steps=T)
        else:
            from neurodeploy.runtime.loihi2 import run_loihi2

            if mode != "spikes" or net.input_layer is not None:
                raise UsageError("backend 'loihi2' runs files without an input neuron, fed spikes; "
                                 "`--backend sim` runs this one")
            r = run_loihi2(path, x, rule, progress=progress, model=model)
    finally:
        if tmpdir is not None:
            import shutil
            shutil.rmtree(tmpdir, ignore_errors=True)
    return _BackendRun(r.spikes.numpy(), np.asarray(r.exit_step), np.asarray(r.prediction),
                       r.wall_time, r.lava_steps, (r if record else None), dict(r.info), path)


def run_model(model, spikes, labels=None, backend: str = "emu", exit_rule="off",
              progress: bool = True, path=None, record: bool = False, threads: int | None = 1,
              input_mode: str | None = None, steps: int | None = None) -> RunResult:
    """Run ``spikes`` (N, *model.input_shape, T) through ``model`` on ``backend``.

    ``input_mode``/``steps``: how the input enters (``spikes`` | ``a_in`` | ``bias``, see
    :func:`neurodeploy.runtime.emu.check_input`; default: spikes, or ``a_in`` for a file whose
    first layer has its own neuron); ``bias`` takes frames (N, *input_shape) and needs ``steps``.

    ``model``: a :class:`NetxModel` or the path of a NetX file (``sim``/``loihi2`` need a file;
    a model given without ``path`` is written to a temporary one). ``labels``: int (N,) or None.
    ``exit_rule``: ``ExitRule`` or its text. ``progress``: a tqdm bar on stderr (only on a TTY).
    ``threads``: emu's torch threads for the neuron updates (see ``emulate``; None: torch's own).
    """
    if backend not in BACKENDS:
        raise UsageError(f"unknown backend '{backend}' (known: {', '.join(BACKENDS)})")
    rule = ExitRule.parse(exit_rule)
    model, path = _resolve_model(model, path)
    from neurodeploy.runtime.emu import check_input, compile_model

    net = compile_model(model)
    x, mode, T = check_input(spikes, net, input_mode, steps)
    N = int(x.shape[0])
    if labels is not None:
        labels = np.asarray(labels).astype(np.int64).reshape(-1)
        if labels.shape[0] != N:
            raise BadInputError(f"{labels.shape[0]} labels for {N} samples")
    card = model.card or {}
    classes = card.get("classes")
    if backend == "loihi2":
        from neurodeploy.runtime import loihi2
        loihi2.require()
    bar = _progress_bar(N, backend, progress)
    try:
        if backend == "emu":
            run = _run_emu(net, x, rule, record, threads, lambda n: bar.update(n - bar.n), path, mode, T)
        else:
            run = _run_lava(backend, model, net, path, x, rule, record, lambda n: bar.update(n - bar.n), mode, T)
    finally:
        bar.close()
    startup = run.info.get("startup_s")
    return RunResult(backend=backend, exit_rule=str(rule), steps=T,
                     prediction=run.prediction.astype(np.int64), exit_step=run.exit_step.astype(np.int64),
                     counts=run.step_counts.astype(np.int64).sum(axis=2), step_counts=run.step_counts,
                     wall_time=float(run.wall), label=labels, classes=list(classes) if classes else None,
                     lava_steps=run.lava_steps, model_path=str(run.path) if run.path is not None else None,
                     meta={"exit_rule": rule.to_dict(), "latency_layers": len(net.layers),
                           "input_shape": list(net.input_shape), "num_classes": net.num_classes,
                           "input_mode": mode, "output_shape": list(net.output_shape),
                           "graded_output": bool(net.graded_output),
                           **({"startup_s": startup} if startup is not None else {})},
                     recording=run.recording)


# ----------------------------------------------------------------------------------- data
def encode_dataset_for_model(model: netx_format.NetxModel, dataset: str | None = None,
                             split: str = "test", limit: int | None = None, data_dir=None,
                             seed: int | None = None, encoding=None, steps: int | None = None,
                             source=None) -> tuple:
    """Encode ``split`` of ``dataset`` (default: the card's) as the model card prescribes.

    Returns ``(spikes uint8 (N, *model.input_shape, T), labels int64 (N,))``. Images are scaled to
    [0, 1] and encoded with ``make_encoder(card['encoding'])`` for ``card['steps']`` steps; a
    stochastic encoder draws sample i from :func:`neurodeploy.seeding.sample_stream` (``seed``
    (default: the card's seed, else 0), ``split``, i): the draw of training's metrics, ``report``
    and ``attack``, whatever ``limit`` or the batch size. A model
    whose first layer takes a flat vector gets the C-major flattening of (C, H, W). ``encoding``
    and ``steps`` override (or, for a card-less file, stand in for) the card's. ``source``: the model's
    file, named in errors.
    """
    from neurodeploy.data import load_dataset
    from neurodeploy.encoding import encode_samples, make_encoder

    from neurodeploy.data import spec
    from neurodeploy.errors import NeurodeployError

    card = dict(model.card or {})
    if encoding is not None:
        card["encoding"] = encoding
    if steps is not None:
        card["steps"] = int(steps)
    where = f"{source}: " if source else ""
    for key in ("encoding", "steps"):
        if card.get(key) is None:
            raise BadInputError(f"{where}model card lacks '{key}': cannot encode a data set for this model "
                                f"(give --encoding NAME --steps T, or --input X.npy --steps T)")
    name = dataset or card.get("dataset")
    if not name:
        raise UsageError("no data set given and the model card names none (use --dataset)")
    try:  # names from the card are the file's fault (exit 3), names from options the user's (2)
        if not dataset:
            spec(name)
        enc = make_encoder(card["encoding"])
    except NeurodeployError as e:
        raise BadInputError(f"{where}model card: {e}") from None
    if limit is not None and int(limit) < 1:
        raise UsageError(f"--limit must be >= 1, got {limit}")
    T = int(card["steps"])
    if T < 1:
        raise BadInputError(f"model card has steps = {T}")
    if seed is None:
        seed = int(card.get("seed") or 0)
    if getattr(enc, "analog", False):
        raise BadInputError(f"encoding '{enc.name}' gives analog values; Lava takes binary or graded spikes "
                            f"(deploy a model trained with a spike encoding)")
    if enc.message_bits != model.input_message_bits:
        raise BadInputError(f"{where}encoding '{enc.name}' sends {enc.message_bits}-bit spikes, the model takes "
                            f"{model.input_message_bits}-bit input (model card input_message_bits)")
    want = tuple(int(s) for s in model.input_shape)
    # every layer's spike trains of every sample may be kept (report); checked before the data is read
    neurons = int(np.prod(want)) + sum(int(np.prod(l.shape)) for l in model.layers if not isinstance(l, netx_format.InputLayer))
    budget.check(budget.spike_trains(limit or 1, neurons, T), f"{limit or 1} images x {neurons:,} neurons x T={T}")
    ds = load_dataset(name, split, data_dir, limit=limit)
    C, H, W = ds.images.shape[1:]
    factor = int(getattr(enc, "channels_factor", 1))
    enc_shape = (C * factor, H, W)
    if want != enc_shape and not (len(want) == 1 and want[0] == C * factor * H * W):
        raise BadInputError(f"data set '{name}' encodes to {enc_shape} per step with '{enc.name}', "
                            f"but the model takes {want}")
    N = len(ds.labels)
    if N == 0:
        raise BadInputError(f"data set '{name}' has no {split} images")
    budget.check(budget.spike_trains(N, neurons, T), f"{N} images x {neurons:,} neurons x T={T}")
    out = torch.empty((N, *want, T), dtype=torch.uint8)
    chunk = 1024
    with torch.no_grad():
        for lo in range(0, N, chunk):
            x = torch.from_numpy(ds.images[lo:lo + chunk]).float() / 255
            s = encode_samples(enc, x, T, int(seed), range(lo, lo + x.shape[0]), split)
            d = enc.to_deployed(s)  # 0/1, or the integer payloads q of s = q / 2^b
            if not bool((s == d.to(s.dtype) / (1 << enc.message_bits)).all()):
                kind = f"{enc.message_bits}-bit graded spikes" if enc.message_bits else "0/1 spikes"
                raise BadInputError(f"encoding '{enc.name}' did not give {kind}")
            out[lo:lo + chunk] = d.reshape(d.shape[0], *want, T)
    return out, np.asarray(ds.labels, dtype=np.int64)


def inputs_from_file(model: netx_format.NetxModel, input_path, steps: int | None = None, labels_path=None,
                     input_mode: str | None = None, limit: int | None = None) -> tuple:
    """``--input X`` for a (card-less) file: ``(x, labels or None, mode, T)``.

    ``x`` is (N, *input_shape, T) per-step values (``spikes``/``a_in``; ``steps`` may cut T) or
    (N, *input_shape) frames (``bias``; ``steps`` required). ``limit`` keeps the first N samples.
    """
    from neurodeploy.data.arrays import LABEL_KEYS, load_array
    from neurodeploy.runtime.emu import compile_model

    net = compile_model(model)
    mode = input_mode or net.default_input_mode
    x = load_array(input_path, "--input")
    if limit is not None:
        if int(limit) < 1:
            raise UsageError(f"--limit must be >= 1, got {limit}")
        x = x[:int(limit)]
    if mode != "bias":
        if x.ndim < 2:
            raise BadInputError(f"{input_path}: --input: expected (N, {', '.join(map(str, net.input_shape))}, T), "
                                f"got shape {x.shape}")
        if steps is not None:
            if int(steps) < 1 or int(steps) > x.shape[-1]:
                raise UsageError(f"--steps {steps}: the input holds {x.shape[-1]} steps")
            x = x[..., :int(steps)]
        T = int(x.shape[-1])
        if tuple(x.shape[1:-1]) != tuple(net.input_shape) or x.shape[0] < 1 or T < 1:
            raise BadInputError(f"{input_path}: --input: shape {x.shape} does not match the model input "
                                f"(N, {', '.join(map(str, net.input_shape))}, T) with N, T >= 1")
    else:
        if steps is None:
            raise UsageError("--input-mode bias holds one frame per sample: give --steps T")
        T = int(steps)
    labels = None
    if labels_path is not None:
        labels = load_array(labels_path, "--labels", LABEL_KEYS).reshape(-1)
        if limit is not None:
            labels = labels[:int(limit)]
        if labels.shape[0] != x.shape[0]:
            raise BadInputError(f"{labels_path}: --labels: {labels.shape[0]} labels for {x.shape[0]} samples")
        if not np.issubdtype(labels.dtype, np.integer):
            raise BadInputError(f"{labels_path}: --labels: must be integer class indices, got {labels.dtype}")
    return torch.from_numpy(np.ascontiguousarray(x)), labels, mode, T


def save_output(result: RunResult, path) -> Path:
    """Write the output layer's spikes or graded values (N, *output_shape, T) to ``path`` (.npy), atomically."""
    from neurodeploy.atomic import write_with

    values = result.output_values()

    def write(tmp):
        with open(tmp, "wb") as f:         # a file object: np.save would append ".npy" to the temp name
            np.save(f, values)

    return write_with(path, write)
