"""``neurodeploy attack`` as a function: load a run (and its export, and a transfer source),
attack it, return an :class:`~neurodeploy.attacks.report.AttackReport`.

:func:`evaluate` does the work on any :class:`~neurodeploy.attacks.target.Target` and image
tensor (tests use it with hand-made models); :func:`attack` adds loading and files.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import time
from dataclasses import asdict
from pathlib import Path

import torch

from neurodeploy.atomic import write_json
from neurodeploy.attacks.checks import CHECK_NAMES, SKIPPED, Check
from neurodeploy.attacks.report import AttackReport, write_report
from neurodeploy.attacks.suite import (AttackConfig, EpsResult, plan, primary, large_eps_value, masking_checks,
                                       run_eps, run_member, MemberResult)
from neurodeploy.attacks.target import Target
from neurodeploy.errors import BadInputError, UsageError
from neurodeploy.files import read_json


def _model_info(target: Target, cfg: AttackConfig) -> dict:
    clf = target.clf
    conf = getattr(clf, "config", None)
    info = {"kind": "snn" if target.is_snn else "ann", "model": getattr(conf, "model", None),
            "dataset": getattr(conf, "dataset", None), "exit_rule": str(target.rule_in_force),
            "stochastic": target.stochastic}
    if target.is_snn:
        info.update(encoding=clf.encoder.name, encoder=clf.encoder.config(), steps=clf.steps,
                    eot=(cfg.eot if cfg.eot is not None else 10) if target.stochastic else 1,
                    surrogate_trained={"tau_grad": conf.neuron.get("tau_grad"), "scale_grad": conf.neuron.get("scale_grad")}
                    if conf is not None else None)
    return info


def _partial_key(cfg: AttackConfig, run: str, y: torch.Tensor, eps: float) -> str:
    """What one ε's result depends on: the settings, the attacked model's path, the labels, ε."""
    blob = json.dumps({"config": _config_dict(cfg), "run": run, "labels": y.tolist(), "eps": eps}, sort_keys=True,
                      default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def _read_partial(path: Path, key: str) -> EpsResult | None:
    """One finished ε of an interrupted run (written by :func:`_write_partial`), if it is this run's."""
    if not path.exists():
        return None
    try:
        d = read_json(path)
        if d.get("key") != key:
            return None
        r = dict(d["result"])
        r["members"] = [MemberResult(**m) for m in r["members"]]
        return EpsResult(**r)
    except (BadInputError, KeyError, TypeError, ValueError):
        return None  # unreadable or from another version: that ε runs again


def _write_partial(path: Path, key: str, r: EpsResult) -> None:
    write_json(path, {"format": "neurodeploy-attack-eps/1", "key": key, "result": asdict(r)})


def evaluate(target: Target, x: torch.Tensor, y: torch.Tensor, cfg: AttackConfig, deployed=None,
             transfer: Target | None = None, progress=None, run: str = "(model)", partial_dir=None) -> AttackReport:
    """Attack images ``x`` (N, C, H, W) in [0, 1] with labels ``y`` as ``cfg`` says.

    ``partial_dir``: each finished ε is kept there (JSON) and reused by a rerun with the same
    settings, model and labels, so an interrupted run loses at most the ε in progress (each ε's
    attacks draw their randomness from ``cfg.seed`` and the member, not from earlier ε)."""
    cfg.validate()
    t0 = time.perf_counter()
    idx = torch.arange(x.shape[0])
    clean_ok = target.correct(x, y, idx)
    dep_clean = deployed.correct(x, y, idx) if deployed is not None else None
    members = plan(cfg, target, transfer)
    notes = []
    if not target.is_snn and not target.rule.is_off:
        notes.append(f"exit rule {target.rule} ignored: the ANN decides in one step")
    if target.stochastic:
        notes.append(f"stochastic encoder: gradients averaged over {_model_info(target, cfg)['eot']} seeded draws (EOT); "
                     "decisions use one fixed evaluation draw per sample")
    if transfer is not None:
        notes.append("transfer: PGD on the source model's exact gradient (its final output), judged on this model")
    results = []
    for eps in cfg.eps:
        path = Path(partial_dir) / f"eps-{eps!r}.json" if partial_dir is not None else None
        key = _partial_key(cfg, run, y, eps) if path is not None else ""
        r = _read_partial(path, key) if path is not None else None
        if r is None:
            r = run_eps(members, target, x, y, idx, clean_ok, eps, cfg, deployed, dep_clean, transfer, progress)
            if deployed is not None and cfg.sim_samples > 0:
                r.sim = _sim_check(deployed, members, r, target, x, y, idx, eps, cfg, transfer)
            if path is not None:
                _write_partial(path, key, r)
        results.append(r)
    clean_acc = float(clean_ok.double().mean())
    large, main = None, primary(members)
    if cfg.checks:
        large = _large_eps(main, target, x, y, idx, clean_ok, cfg, transfer)
        checks = masking_checks(results, clean_acc, x.shape[0], large, main.name)
    else:
        checks = [Check(name, SKIPPED, "checks turned off for this run") for name in CHECK_NAMES]
    return AttackReport(run=run, model=_model_info(target, cfg), config=_config_dict(cfg), n=int(x.shape[0]),
                        clean_accuracy=clean_acc, results=results, checks=checks, large_eps=large,
                        clean_deployed_accuracy=float(dep_clean.double().mean()) if dep_clean is not None else None,
                        deployed=str(deployed.path) if deployed is not None else None, labels=y.tolist(),
                        seconds=time.perf_counter() - t0, notes=notes)


def _large_eps(main, target, x, y, idx, clean_ok, cfg, transfer) -> MemberResult:
    """The large-ε check: re-run the main white-box attack on every clean-correct sample of the check sub-sample."""
    from neurodeploy.attacks.suite import check_mask

    big = large_eps_value(cfg, x[0].numel())
    check = check_mask(cfg, x.shape[0])
    sel = (clean_ok & check).nonzero().squeeze(1)
    t0 = time.perf_counter()
    broken = ~clean_ok.clone()
    calls = 0
    if sel.numel():
        res = run_member(main, target, x[sel], y[sel], idx[sel], big, cfg, transfer, None)
        broken[sel] = res.broken
        calls = res.calls
    return MemberResult(name=main.name, method=main.method, gradient=str(main.spec) if main.spec else None,
                        at=main.at, steps=main.steps, restarts=main.restarts, role="check", standalone=True,
                        eps=big, attacked=int(sel.numel()), broke=int(broken[sel].sum()), new=0,
                        robust_accuracy=float(1 - broken[check].float().mean()), deployed_robust_accuracy=None,
                        seconds=time.perf_counter() - t0, calls=calls, accuracy_on=int(check.sum()))


def _config_dict(cfg: AttackConfig) -> dict:
    d = asdict(cfg)
    d["eps"] = list(cfg.eps)
    d["steps"] = cfg.k
    return d


def _sim_check(deployed, members, r, target, x, y, idx, eps, cfg, transfer) -> dict:
    """Lava ``sim`` on the first few images of the main attack (nice-to-have; errors are reported, not raised)."""
    k = min(cfg.sim_samples, x.shape[0])
    try:
        main = primary(members)
        res = run_member(main, target, x[:k], y[:k], idx[:k], eps, cfg, transfer, None)
        return deployed.simulate_sample(res.x_adv, idx[:k])
    except Exception as e:  # Lava missing or broken: the rest of the report stands
        return {"samples": k, "error": f"{type(e).__name__}: {e}"[:200]}


def attack(run_dir, cfg: AttackConfig, out_dir=None, progress=None) -> AttackReport:
    """Attack training run ``run_dir`` (CLI ``neurodeploy attack``); writes files when ``out_dir``.

    ``run_dir`` may also be an exported ``MODEL.net``: the attack is then white-box on the
    deployed artifact — gradients from its float twin (``neurodeploy.load(MODEL.net)``), every
    decision (which sample is broken, the accuracies) taken by the integer-exact emulator.
    """
    from neurodeploy.attacks.deployed import load_deployed
    from neurodeploy.data import load_dataset
    from neurodeploy.runfolder import load_model, load_run
    from neurodeploy.versions import versions

    from neurodeploy.attacks.report import FILES
    from neurodeploy.outputs import check_output
    from neurodeploy.runfolder import check_budget
    from neurodeploy.runtime.exit_rules import ExitRule

    cfg.validate()
    check_output(out_dir, "--out", inputs=[run_dir, cfg.deployed, cfg.transfer_from], folder=True, own_files=set(FILES))
    clf = load_model(run_dir)
    if getattr(clf, "steps", None):
        ExitRule.parse(cfg.exit).check_steps(clf.steps)
    check_budget(clf.config, cfg.limit or 10_000, f"{run_dir}: attacking {cfg.limit or 'all'} test images")
    # the clean decision draws a stochastic encoder with the run's seed (the draw of train's metrics,
    # run and report); cfg.seed drives the attacks' own randomness
    eval_seed = int(getattr(clf, "seed", 0))
    target = Target(clf, cfg.exit, eval_seed)
    artifact = Path(run_dir).is_file()
    if artifact:
        target.judge = load_deployed(run_dir, target, target.rule, eval_seed)
    transfer = None
    if cfg.transfer_from:
        src = load_run(cfg.transfer_from)
        if src.config.dataset != clf.config.dataset:
            raise UsageError(f"{cfg.transfer_from}: trained on {src.config.dataset}, the attacked run on "
                             f"{clf.config.dataset}")
        transfer = Target(src, "off", int(getattr(src, "seed", 0)))
    deployed = load_deployed(cfg.deployed, target, target.rule, eval_seed) if cfg.deployed else None
    ds = load_dataset(clf.config.dataset, "test", cfg.data_dir, cfg.limit)
    if len(ds) == 0:
        raise BadInputError(f"data set '{clf.config.dataset}' has no test images to attack")
    x = torch.from_numpy(ds.images).float().div_(255.0)
    y = torch.from_numpy(ds.labels).to(torch.int64)
    partial = partial_folder(out_dir) if out_dir is not None else None
    rep = evaluate(target, x, y, cfg, deployed, transfer, progress, run=str(run_dir), partial_dir=partial)
    rep.versions = versions()
    rep.notes.append(f"data: {ds.source} (first {len(ds)} test images)")
    if artifact:
        rep.notes.append(f"{run_dir}: white-box through its float twin; every decision judged on the emulator (emu)")
    if out_dir is not None:
        write_report(rep, Path(out_dir))
        shutil.rmtree(partial, ignore_errors=True)
    return rep


def partial_folder(out_dir) -> Path:
    """``OUT.partial`` beside ``--out OUT``: finished ε of a run still going (or interrupted)."""
    out = Path(out_dir)
    return out.with_name(out.name + ".partial")
