"""``make_report``: modelled energy and latency of a deployed model on a target, with and without early exit.

Steps (each a call into the package; nothing is re-implemented here):

1. encode the test images as the model card says (:mod:`neurodeploy.report.inputs`);
2. run all T steps on ``emu`` or ``sim`` and keep every layer's spike trains
   (:mod:`neurodeploy.report.backends`);
3. count activity once (:func:`neurodeploy.energy.counting.count_activity`) and mask it for any
   exit vector (:mod:`neurodeploy.report.activity`);
4. *without exit*: every sample uses all T input steps; *with exit*: each sample stops at the step
   its exit rule fires (:func:`neurodeploy.runtime.exit_rules.apply_exit_rule`). Both pay the L
   pipeline steps of a NetX network on Lava (an exit after e input steps costs e + L Lava steps);
5. energy and latency per inference from the profile (:func:`neurodeploy.energy.model.snn_energy`),
   the ANN twin's MACs on the CMOS profiles (:func:`~neurodeploy.energy.model.ann_energy`), the
   NeuroBench-named metrics, the hardware fit verdict (:func:`neurodeploy.hardware.fit.fit`) and
   a sweep of exit thresholds (accuracy against mean modelled energy).

Every energy and latency here is **modelled** (activity counts x per-operation figures), never
measured; the result carries that label, the figures with their sources and qualities, and the
costs the model includes and leaves out.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

from neurodeploy.energy.counting import (SynapticOperations, activation_sparsity, ann_synaptic_operations,
                                         connection_sparsity, footprint, synaptic_operations)
from neurodeploy.energy.model import LABEL, EnergyEstimate, ann_energy, snn_energy
from neurodeploy.errors import UsageError
from neurodeploy import netx
from neurodeploy.hardware.fit import FitReport, fit
from neurodeploy.hardware.profiles import Profile, load_profile
from neurodeploy.hardware.resources import layer_resources
from neurodeploy.report.activity import FullActivity
from neurodeploy.report.backends import BACKENDS, record
from neurodeploy.report.inputs import encode_inputs, file_inputs
from neurodeploy.runtime.exit_rules import ExitRule, apply_exit_rule, predict

DEFAULT_EXIT = "margin:2,min=2"
ANN_PROFILES = ("cmos45-fp32", "cmos45-int8")
CONFIDENCE_SWEEP = (0.5, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999)

# What the counts leave out, whatever the profile (the profile's own omissions come from the model).
COUNTING_EXCLUDED = (
    "pipeline drain: when a sample exits after e input steps, Lava has already fed up to L further "
    "input steps into the first layers; their synaptic ops and spikes are not counted (their neuron "
    "updates and barriers are, as the L pipeline steps)",
    "activity after step T while the pipeline drains (no input; residual spikes are not counted)",
    "host I/O, input encoding, runtime and off-chip traffic",
    "learning (no on-chip learning is used)",
)
COUNTING_INCLUDED = (
    "synaptic operations: one input event reaching one synapse with a nonzero weight (NeuroBench "
    "effective count), exact at conv borders",
    "neuron updates: every neuron at every step (time-driven), split into silent and spiking updates",
    "spikes sent: every layer's output spikes and the input spikes entering the first cores",
    "per-step barrier synchronisation and static power x latency, where the profile has figures",
)


@dataclass
class Scenario:
    """One way of running the test set: every sample's exit step, prediction and the modelled cost."""

    name: str
    rule: str
    accuracy: float
    mean_steps: float
    lava_steps: float
    energy: EnergyEstimate
    activity: dict
    activation_sparsity: float
    synaptic_operations: SynapticOperations
    exit_steps: np.ndarray = field(repr=False)
    predictions: np.ndarray = field(repr=False)
    per_sample: dict = field(repr=False, default_factory=dict)

    @property
    def energy_J(self) -> float:
        return self.energy.total_J

    @property
    def latency_s(self) -> float | None:
        return self.energy.latency_s

    def to_dict(self) -> dict:
        return {"name": self.name, "exit_rule": self.rule, "accuracy": self.accuracy,
                "mean_input_steps": self.mean_steps, "mean_lava_steps": self.lava_steps,
                "energy_J": self.energy_J, "latency_s": self.latency_s, "label": self.energy.label,
                "energy": self.energy.to_dict(), "activity_per_inference": self.activity,
                "ActivationSparsity": self.activation_sparsity,
                "SynapticOperations": {"Effective_ACs": self.synaptic_operations.effective_acs,
                                       "Effective_MACs": self.synaptic_operations.effective_macs,
                                       "Dense": self.synaptic_operations.dense},
                "exit_step_histogram": histogram(self.exit_steps, int(self.exit_steps.max(initial=1))),
                "per_sample": self.per_sample}


@dataclass
class SweepPoint:
    """One exit threshold: accuracy and mean modelled energy/latency per inference."""

    family: str
    rule: str
    accuracy: float
    mean_steps: float
    energy_J: float
    latency_s: float | None

    def to_dict(self) -> dict:
        return {"family": self.family, "exit_rule": self.rule, "accuracy": self.accuracy,
                "mean_input_steps": self.mean_steps, "energy_J": self.energy_J,
                "latency_s": self.latency_s, "label": LABEL}


@dataclass
class EnergyReport:
    """Everything ``neurodeploy report`` computes; ``to_dict`` is ``report.json``."""

    model_path: str
    model: dict
    target: str
    target_kind: str
    backend: str
    dataset: str
    data_source: str
    samples: int
    seed: int
    steps: int
    pipeline_steps: int
    exit_rule: str
    no_exit: Scenario
    early_exit: Scenario
    ann: list
    neurobench: dict
    fit: FitReport
    sweep: list
    profiles: dict
    included: list
    excluded: list
    assumptions: list
    backend_check: dict = field(default_factory=dict)
    labels: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0, np.int64))
    files: dict = field(default_factory=dict)
    created: str = ""
    seconds: float = 0.0
    versions: dict = field(default_factory=dict)
    label: str = LABEL

    @property
    def energy_saving(self) -> float:
        """Fraction of the modelled energy per inference that early exit saves."""
        full = self.no_exit.energy_J
        return 0.0 if full <= 0 else 1.0 - self.early_exit.energy_J / full

    @property
    def latency_saving(self) -> float | None:
        a, b = self.no_exit.latency_s, self.early_exit.latency_s
        return None if not a or b is None else 1.0 - b / a

    def summary(self) -> str:
        """The one-line stdout summary (every figure labelled modelled)."""
        e, n = self.early_exit, self.no_exit
        lat = ("" if e.latency_s is None else
               f", {LABEL} latency {e.latency_s * 1e6:.3g} us (vs {n.latency_s * 1e6:.3g})")
        nv = len(self.fit.violations)
        verdict = "fits" if self.fit.fits() else f"does NOT fit ({nv} violation{'s' if nv != 1 else ''})"
        where = f" -> {self.files['md']}" if self.files.get("md") else ""
        return (f"{Path(self.model_path).name} on {self.target}: {LABEL} {e.energy_J * 1e6:.4g} uJ/inference "
                f"with exit {self.exit_rule} vs {n.energy_J * 1e6:.4g} uJ without "
                f"({self.energy_saving:.1%} saved){lat}; accuracy {e.accuracy:.2%} vs {n.accuracy:.2%}, "
                f"mean exit step {e.mean_steps:.2f}/{self.steps}; n={self.samples} ({self.backend}); "
                f"{verdict}{where}")

    def to_dict(self) -> dict:
        return {
            "label": self.label,
            "note": "every energy and latency figure is modelled (activity counts x per-operation "
                    "figures from the hardware profile), never measured",
            "model_path": self.model_path, "model": self.model, "target": self.target,
            "target_kind": self.target_kind, "backend": self.backend, "backend_check": self.backend_check,
            "dataset": self.dataset, "data_source": self.data_source, "samples": self.samples,
            "seed": self.seed, "steps": self.steps, "pipeline_steps": self.pipeline_steps,
            "exit_rule": self.exit_rule, "labels": self.labels.tolist(),
            "scenarios": {"no_exit": self.no_exit.to_dict(), "early_exit": self.early_exit.to_dict()},
            "early_exit_saving": {"energy": self.energy_saving, "latency": self.latency_saving,
                                  "accuracy_change": self.early_exit.accuracy - self.no_exit.accuracy},
            "ann_twin": [a.to_dict() | {"energy_J": a.total_J} for a in self.ann],
            "neurobench": self.neurobench,
            "fit": self.fit.to_dict() | {"summary": self.fit.summary()},
            "sweep": [p.to_dict() for p in self.sweep],
            "profiles": self.profiles, "included": list(self.included), "excluded": list(self.excluded),
            "assumptions": list(self.assumptions), "files": dict(self.files), "created": self.created,
            "seconds": self.seconds, "versions": self.versions,
        }


def histogram(exit_steps: np.ndarray, steps: int) -> list:
    """Number of samples exiting after 1..T input steps."""
    e = np.asarray(exit_steps, dtype=np.int64)
    return np.bincount(e, minlength=steps + 1)[1:steps + 1].tolist()


def _profile_info(prof: Profile, used: dict) -> dict:
    return {"name": prof.name, "kind": prof.kind, "description": prof.description, "file": str(prof.path),
            "notes": list(prof.notes), "figures_used": used}


def _versions() -> dict:
    try:
        from neurodeploy.versions import versions
        return versions()
    except Exception:  # noqa: BLE001 - version lookup must never break a report
        return {}


class Costing:
    """Costs exit decisions on one profile: a :class:`Scenario` or a :class:`SweepPoint` per rule.

    ``output``: the output spikes ``(N, C, T)`` of the full-length run; ``activity`` its
    :class:`FullActivity`; every sample pays ``pipeline`` extra Lava steps (default: one per
    synaptic layer); each layer sits on the fewest cores the profile's limits allow.
    """

    def __init__(self, model, activity: FullActivity, output, labels, profile, pipeline: int | None = None):
        self.model, self.activity, self.profile = model, activity, load_profile(profile)
        self.pipeline = len(model.synaptic_layers) if pipeline is None else int(pipeline)
        self.labels = np.asarray(labels)
        self.out = output.numpy() if hasattr(output, "numpy") else np.asarray(output)
        self.cores = [r.cores for r in layer_resources(model, self.profile)]

    def decide(self, rule: ExitRule):
        return apply_exit_rule(self.out, rule)

    def cost(self, exit_steps):
        counts = self.activity.at(exit_steps, pipeline_steps=self.pipeline)
        return counts, snn_energy(self.model, counts, self.profile, cores=self.cores)

    def scenario(self, name: str, rule: ExitRule) -> Scenario:
        exit_steps, pred = self.decide(rule)
        counts, est = self.cost(exit_steps)
        per_sample = {
            "exit_step": exit_steps.tolist(), "prediction": pred.tolist(), "input_events": counts.input_events.tolist(),
            "energy_J": np.asarray(est.per_sample_J).tolist(),
            "latency_s": None if est.per_sample_latency_s is None else np.asarray(est.per_sample_latency_s).tolist(),
            "layers": [{"index": l.index, "spikes": l.spikes.tolist(), "synops": l.synops.tolist(),
                        "synops_effective": l.synops_effective.tolist(),
                        "neuron_updates": l.neuron_updates.tolist()} for l in counts.layers]}
        return Scenario(name=name, rule=str(rule), accuracy=float(np.mean(pred == self.labels)),
                        mean_steps=float(exit_steps.mean()), lava_steps=float(exit_steps.mean()) + self.pipeline,
                        energy=est, activity=counts.mean(), activation_sparsity=activation_sparsity(counts),
                        synaptic_operations=synaptic_operations(counts), exit_steps=exit_steps, predictions=pred,
                        per_sample=per_sample)

    def point(self, family: str, rule: ExitRule) -> SweepPoint:
        exit_steps, pred = self.decide(rule)
        _, est = self.cost(exit_steps)
        return SweepPoint(family=family, rule=str(rule), accuracy=float(np.mean(pred == self.labels)),
                          mean_steps=float(exit_steps.mean()), energy_J=est.total_J, latency_s=est.latency_s)


def sweep_rules(rule: ExitRule, steps: int) -> list:
    """The thresholds swept: margin 1..T and a ladder of confidences (the chosen rule's ``min``)."""
    m_min = rule.min_steps if rule.kind == "margin" else 1
    c_min = rule.min_steps if rule.kind == "confidence" else 1
    rules = [("margin", ExitRule(kind="margin", margin=m, min_steps=m_min)) for m in range(1, steps + 1)]
    rules += [("confidence", ExitRule(kind="confidence", confidence=p, min_steps=c_min)) for p in CONFIDENCE_SWEEP]
    return rules + [("off", ExitRule())]


def _neurobench(model, no_exit, early) -> dict:
    """The NeuroBench-named metrics of the report, without and with exit."""
    return {
        "Footprint": {"value": footprint(model), "unit": "bytes",
                      "note": "8-bit weights + 4-byte biases and neuron parameters"},
        "ConnectionSparsity": connection_sparsity(model),
        "ActivationSparsity": {"no_exit": no_exit.activation_sparsity, "early_exit": early.activation_sparsity},
        "SynapticOperations": {
            "no_exit": vars(no_exit.synaptic_operations), "early_exit": vars(early.synaptic_operations),
            "ann_twin": vars(ann_synaptic_operations(model)),
            "note": "mean per inference; SNN effective ops skip zero weights (ACs for binary inputs, MACs "
                    "for analog ones); Dense = every synapse at every counted step; ANN: MACs"},
    }


def _assumptions(early, pipeline: int, cores, backend: str, rule: ExitRule, steps: int) -> list:
    """The energy model's assumptions plus the report's own, each once."""
    return list(dict.fromkeys(list(early.energy.assumptions) + [
        f"pipeline: {pipeline} Lava steps per sample beyond the exit step (one per synaptic layer)",
        f"cores per layer: {cores} (fewest that satisfy the profile's per-core limits)",
        "ANN twin: same topology run once, memory 'per-op' (every MAC reads its weight and input); "
        "its accuracy is not measured here",
        f"exit decisions from the output spikes of the {backend} run with {rule}; without exit = all "
        f"{steps} input steps"]))


def _model_summary(model) -> dict:
    """The model card fields a report records, and the layer list."""
    card = model.card or {}
    return ({k: card.get(k) for k in ("model", "dataset", "encoding", "steps", "classes", "input_shape",
                                      "latency_steps", "seed", "metrics", "quantisation")}
            | {"layers": [{"index": i, "kind": type(l).__name__.replace("Layer", "").lower(),
                           "shape": list(l.shape)} for i, l in enumerate(model.layers)]})


def make_report(model_path, target, *, backend: str = "emu", dataset: str | None = None,
                limit: int | None = 1000, exit_rule: str = DEFAULT_EXIT, data_dir=None, seed: int | None = None,
                out=None, sweep: bool = True, input_path=None, steps: int | None = None, labels_path=None,
                input_mode: str | None = None, encoding=None) -> EnergyReport:
    """Report the modelled energy and latency of NetX file ``model_path`` on profile ``target``.

    ``exit_rule`` is the early-exit rule (``margin:M[,min=S]``, ``confidence:P[,min=S]``; ``off`` makes
    both scenarios identical); ``limit`` the number of test images (None: the whole split);
    ``seed`` the encoder's seed (default the model card's). With ``out`` (a folder) it writes
    ``report.json``, ``report.md`` and the PNG plots atomically and lists them in ``files``.

    Card-less files: ``input_path`` (with ``steps``, ``labels_path``, ``input_mode``) is the activity
    source (:func:`neurodeploy.report.inputs.inputs_from_file`), or ``encoding`` + ``steps`` encode
    ``dataset``. Without labels, accuracy means agreement with the prediction after all T steps.
    """
    t0 = time.perf_counter()
    if backend not in BACKENDS:
        raise UsageError(f"unknown backend '{backend}' for report (known: {', '.join(BACKENDS)})")
    rule = ExitRule.parse(exit_rule)
    if out is not None and Path(out).exists() and not Path(out).is_dir():
        raise UsageError(f"{out}: --out must be a folder, and this is a file")
    from neurodeploy.outputs import check_output
    from neurodeploy.report.output import own_files

    check_output(out, "--out", inputs=[model_path, target if Path(str(target)).suffix == ".toml" else None],
                 folder=True, own_files=own_files())
    profile = load_profile(target)                       # bad target: UsageError (2) before any work
    ann_profiles = [load_profile(p) for p in ANN_PROFILES]
    path = Path(model_path)
    model = netx.read(path)                              # bad file: NetxFormatError (3)
    if (model.card or {}).get("steps") is not None:
        rule.check_steps(int(model.card["steps"]))
    if input_path is not None:
        enc = file_inputs(model, input_path, steps, labels_path, input_mode, limit)
    else:
        enc = encode_inputs(model, dataset, limit, data_dir, seed, path=path, encoding=encoding, steps=steps)
    rec = record(model, path, enc.spikes, backend, enc.mode, enc.steps)
    if enc.labels is None:   # no labels: judge exit rules by agreement with the full-T prediction
        enc.labels = predict(rec.output.to(torch.int64).sum(-1)).numpy().astype(np.int64)
        enc.source += " (no labels: accuracy = agreement with the prediction after all T steps)"
    activity = FullActivity.count(model, rec.inputs if rec.inputs is not None else enc.spikes, rec.layers)
    steps = activity.steps
    costing = Costing(model, activity, rec.output, enc.labels, profile)
    pipeline, cores = costing.pipeline, costing.cores

    no_exit = costing.scenario("no_exit", ExitRule())
    early = costing.scenario("early_exit", rule)
    points = [costing.point(fam, r) for fam, r in sweep_rules(rule, steps)] if sweep else []
    anns = [ann_energy(model, p) for p in ann_profiles]
    fit_report = fit(model, profile, model_path=str(path))

    neurobench = _neurobench(model, no_exit, early)
    excluded = list(dict.fromkeys(list(early.energy.excluded) + list(COUNTING_EXCLUDED)))
    assumptions = _assumptions(early, pipeline, cores, rec.backend, rule, steps)
    profiles = {profile.name: _profile_info(profile, early.energy.figures)}
    for p, a in zip(ann_profiles, anns):
        profiles.setdefault(p.name, _profile_info(p, a.figures))
    rep = EnergyReport(
        model_path=str(path), model=_model_summary(model),
        target=profile.name, target_kind=profile.kind, backend=rec.backend, dataset=enc.dataset,
        data_source=enc.source, samples=enc.num_samples, seed=enc.seed, steps=steps,
        pipeline_steps=pipeline, exit_rule=str(rule), no_exit=no_exit, early_exit=early, ann=anns,
        neurobench=neurobench, fit=fit_report, sweep=points, profiles=profiles,
        included=list(COUNTING_INCLUDED), excluded=excluded, assumptions=assumptions,
        backend_check=rec.check, labels=enc.labels, created=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        versions=_versions())
    rep.seconds = time.perf_counter() - t0
    if out is not None:
        from neurodeploy.report.output import write_report
        write_report(rep, out)
    return rep
