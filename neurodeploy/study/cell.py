"""One study job: prepare a run (train or resume it, export it) or evaluate one cell.

Layout under the study folder ``DIR``::

    runs/<run_id>/   config.json, metrics.json, checkpoint.pt (training resumes per epoch),
                     model.net (the export; SNN with a spike encoder only), run.json (done marker)
    cells/<cell_id>/ model.json      clean accuracy and mean exit step of the trained model
                     emu.json        the exported model on the emulator, without and with the exit rule
                     seed_pgd/       attack.json: PGD-K through the seed code's spike-only gradient
                     suite/          attack.json: the suite's per-sample worst case (+ deployed on emu)
                     energy/         report.json of ``neurodeploy report`` on the target; energy.json
                     result.json     the cell's row of the study table (written last: the done marker)

Every step writes its result file atomically and is skipped when the file is there, so a cell
stopped at any moment resumes at the step it was in (training at the epoch it was in). Steps
that do not apply (no NetX form for an ANN or an analog encoder) write ``{"status": "n/a"}``.
"""
from __future__ import annotations

import os
import time
import traceback
from pathlib import Path

from neurodeploy.atomic import write_json
from neurodeploy.files import read_json

NA = "n/a"


def run_dir(out, run_id: str) -> Path:
    return Path(out) / "runs" / run_id


def cell_dir(out, cell_id: str) -> Path:
    return Path(out) / "cells" / cell_id


def run_done(out, run_id: str) -> bool:
    return (run_dir(out, run_id) / "run.json").exists()


def cell_done(out, cell_id: str) -> bool:
    return (cell_dir(out, cell_id) / "result.json").exists()


def _step(path: Path, compute):
    """The step's result: read from ``path`` if present, else ``compute()`` and write it atomically."""
    if path.exists():
        return read_json(path)
    result = compute()
    write_json(path, result)
    return result


# ------------------------------------------------------------------------------------ run job
def prepare_run(out, run_id: str, train: dict, data_dir=None) -> dict:
    """Train (resuming from the last finished epoch) and export one run; returns ``run.json``."""
    rd = run_dir(out, run_id)
    done = rd / "run.json"
    if done.exists():
        return read_json(done)
    from neurodeploy.runfolder import CHECKPOINT
    from neurodeploy.training.config import TrainConfig
    from neurodeploy.training.run import train as train_run

    cfg = TrainConfig(**train)
    metrics = train_run(cfg, rd, resume=(rd / CHECKPOINT).exists(), data_dir=data_dir, progress=False)
    epochs = metrics.get("epochs", [])
    export = _step(rd / "export.json", lambda: _export(rd, cfg, data_dir))
    info = {"run_id": run_id, "epochs": len(epochs), "test_accuracy": epochs[-1]["test_accuracy"] if epochs else None,
            "seconds": sum(e.get("seconds", 0.0) for e in epochs), "export": export}
    write_json(done, info)
    return info


def _export(rd: Path, cfg, data_dir) -> dict:
    from neurodeploy import export_run
    from neurodeploy.encoding import make_encoder

    if cfg.ann:
        return {"status": NA, "reason": "an ANN twin has no NetX form"}
    if make_encoder(cfg.encoding).analog:
        return {"status": NA, "reason": f"encoding {make_encoder(cfg.encoding).name} feeds analog currents, "
                                        "not spikes: no NetX form"}
    model = export_run(rd, rd / "model.net", check_samples=16, data_dir=data_dir)
    return {"status": "done", "path": "model.net", "verified": (model.card or {}).get("verified")}


# ----------------------------------------------------------------------------------- cell job
def evaluate_cell(out, cell: dict, grid: dict, data_dir=None) -> dict:
    """Every step of one cell (see the module docstring); returns ``result.json``."""
    cd = cell_dir(out, cell["cell_id"])
    done = cd / "result.json"
    if done.exists():
        return read_json(done)
    cd.mkdir(parents=True, exist_ok=True)
    rd = run_dir(out, cell["run_id"])
    run = read_json(rd / "run.json")
    model_net = rd / "model.net" if run["export"].get("status") == "done" else None
    rule, eps, limit, seed = cell["exit"], list(grid["eps"]), int(grid["limit"]), int(grid["seed"])
    _step(cd / "cell.json", lambda: {"cell": cell, "grid": {k: grid[k] for k in ("eps", "limit", "target", "seed",
                                                                                 "seed_pgd_steps", "attack")}})
    model = _step(cd / "model.json", lambda: _trained_model(rd, rule, limit, seed, data_dir))
    emu = _step(cd / "emu.json", lambda: _emu(model_net, rule, limit, data_dir))
    seed_pgd = _attack(cd / "seed_pgd", rd, dict(attack="pgd", steps=int(grid["seed_pgd_steps"]), grad="spike",
                                                 checks=False), eps, rule, limit, seed, data_dir, None)
    suite_settings = dict(grid["attack"], attack="suite")
    suite_settings.pop("transfer_from", None)   # a row name in the grid; the run's folder here
    if cell.get("transfer_run"):
        suite_settings["transfer_from"] = str(run_dir(out, cell["transfer_run"]))
    suite = _attack(cd / "suite", rd, suite_settings, eps, rule, limit, seed, data_dir, model_net)
    energy = _step(cd / "energy.json", lambda: _energy(model_net, cd / "energy", grid["target"], rule, limit,
                                                       data_dir))
    result = _row(cell, run, model, emu, seed_pgd, suite, energy, eps)
    write_json(done, result)
    return result


def _trained_model(rd: Path, rule: str, limit: int, seed: int, data_dir) -> dict:
    """Clean accuracy and mean exit step of the trained model under the cell's exit rule."""
    import torch

    from neurodeploy.attacks.target import Target
    from neurodeploy.data import load_dataset
    from neurodeploy.runfolder import load_run

    clf = load_run(rd)
    ds = load_dataset(clf.config.dataset, "test", data_dir, limit)
    x = torch.from_numpy(ds.images).float().div_(255.0)
    y = torch.from_numpy(ds.labels).to(torch.int64)
    pred, exit_step = Target(clf, rule, seed).decide(x, torch.arange(len(y)))
    return {"accuracy": float((pred == y).float().mean()), "exit_step_mean": float(exit_step.float().mean()),
            "steps": int(getattr(clf, "steps", 1)), "samples": int(len(y)), "kind": clf.kind}


def _emu(model_net, rule: str, limit: int, data_dir) -> dict:
    if model_net is None:
        return {"status": NA, "reason": "no NetX export"}
    from neurodeploy import run

    out = {"status": "done"}
    for key, r in (("no_exit", "off"), ("exit", rule)):
        res = run(str(model_net), "emu", r, limit=limit, data_dir=data_dir)
        out[key] = res.summary()
    return out


def _attack(folder: Path, rd: Path, settings: dict, eps: list, rule: str, limit: int, seed: int, data_dir,
            deployed) -> dict:
    """``neurodeploy attack`` into ``folder`` unless its ``attack.json`` (written last) is there."""
    path = folder / "attack.json"
    if path.exists():
        return read_json(path)
    from neurodeploy.attacks import AttackConfig, attack

    cfg = AttackConfig(**settings, eps=tuple(eps), exit=rule, limit=limit, seed=seed, data_dir=data_dir,
                       deployed=str(deployed) if deployed is not None else None)
    attack(rd, cfg, out_dir=folder, progress=False)
    return read_json(path)


def _energy(model_net, folder: Path, target: str, rule: str, limit: int, data_dir) -> dict:
    """Modelled energy per inference on ``target`` under the cell's exit rule (``neurodeploy report``).

    ``total_cores_J`` charges static power only for the cores the model uses:
    ``dynamic + static_chip · min(1, Σ cores / cores_per_chip)`` (as ``snn_energy(static="cores")``).
    """
    if model_net is None:
        return {"status": NA, "reason": "no NetX export"}
    from neurodeploy import netx
    from neurodeploy.hardware.profiles import load_profile
    from neurodeploy.hardware.resources import layer_resources
    from neurodeploy.report import make_report

    rep = make_report(str(model_net), target, exit_rule=rule, limit=limit, data_dir=data_dir, out=folder)
    scen = rep.no_exit if rule == "off" else rep.early_exit
    profile = load_profile(target)
    cores = sum(r.cores for r in layer_resources(netx.read(model_net), profile))
    chip = profile.limit("cores_per_chip")
    share = min(1.0, cores / chip) if chip else 1.0
    e = scen.energy
    return {"status": "done", "target": rep.target, "exit_rule": scen.rule, "accuracy": scen.accuracy,
            "mean_input_steps": scen.mean_steps, "dynamic_J": e.dynamic_J, "static_chip_J": e.static_J,
            "total_chip_J": e.total_J, "total_cores_J": e.dynamic_J + e.static_J * share, "cores": cores,
            "cores_share": share, "latency_s": e.latency_s, "label": e.label, "report": "energy/report.json"}


def _row(cell, run, model, emu, seed_pgd, suite, energy, eps) -> dict:
    """The cell's entry in ``study.json``: every column of the study table, per ε where it varies."""
    def per_eps(rep, key):
        return {f"{r['eps']:g}": r.get(key) for r in rep.get("results", [])}

    emu_exit = emu.get("exit", {}) if emu.get("status") == "done" else {}
    return {
        "cell": cell["name"] if "name" in cell else cell["row"], "cell_id": cell["cell_id"], "row": cell["row"],
        "group": cell.get("group", ""), "exit": cell["exit"], "run_id": cell["run_id"],
        "kind": model["kind"], "encoding": cell["train"].get("encoding", {}).get("name") if model["kind"] == "snn" else None,
        "train": cell["train"], "epochs": run["epochs"], "eps": eps,
        "clean": suite.get("clean_accuracy"), "clean_trained": model["accuracy"],
        "seed_pgd": per_eps(seed_pgd, "robust_accuracy"),
        "suite": per_eps(suite, "robust_accuracy"),
        "deployed_suite": per_eps(suite, "deployed_robust_accuracy") if suite.get("deployed") else None,
        "clean_deployed": suite.get("clean_deployed_accuracy"),
        "masking_checks_failed": [c["name"] for c in suite.get("checks", []) if c.get("status") == "FAILED"],
        "exit_step_mean": emu_exit.get("exit_step_mean", model["exit_step_mean"]),
        "exit_step_source": "emu" if emu_exit else "trained model",
        "steps": model["steps"],
        "emu_accuracy": emu_exit.get("accuracy"),
        "energy": energy if energy.get("status") == "done" else None,
        "attack_seconds": {"seed_pgd": seed_pgd.get("seconds"), "suite": suite.get("seconds")},
    }


# ---------------------------------------------------------------------------------- dispatch
def run_job(job: dict) -> dict:
    """Entry point of a worker (process pool or Ray task): never raises for a failing cell.

    ``job``: ``{"kind": "run"|"cell", "id", "out", "data_dir", "threads", ...}``. Returns
    ``{"id", "status": "done"|"failed", "error", "seconds"}`` (+ the worker's torch ``threads`` and
    ``pid`` when done); a failure also lands in the job's
    folder as ``error.json`` (removed when the job later succeeds).
    """
    t0 = time.perf_counter()
    if job.get("threads"):
        import torch

        torch.set_num_threads(int(job["threads"]))
    folder = run_dir(job["out"], job["run_id"]) if job["kind"] == "run" else cell_dir(job["out"], job["cell"]["cell_id"])
    err = folder / "error.json"
    try:
        if job["kind"] == "run":
            prepare_run(job["out"], job["run_id"], job["train"], job.get("data_dir"))
        else:
            evaluate_cell(job["out"], job["cell"], job["grid"], job.get("data_dir"))
    except Exception as e:  # noqa: BLE001 - one failing cell must not stop the study
        line = f"{type(e).__name__}: {e}".splitlines()[0][:300]
        write_json(err, {"id": job["id"], "error": line, "traceback": traceback.format_exc()[-4000:]})
        return {"id": job["id"], "status": "failed", "error": line, "seconds": time.perf_counter() - t0}
    if err.exists():
        err.unlink()
    import torch

    return {"id": job["id"], "status": "done", "error": None, "seconds": time.perf_counter() - t0,
            "threads": torch.get_num_threads(), "pid": os.getpid()}
