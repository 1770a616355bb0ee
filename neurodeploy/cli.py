"""The ``neurodeploy`` command line: one verb per stage; see CLI.md. Thin: parse, call, print."""
from __future__ import annotations

import functools
import sys

import click

from neurodeploy.errors import NeurodeployError


def friendly_errors(fn):
    """Turn :class:`NeurodeployError` into one line on stderr and its exit code (``--debug``: traceback)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except NeurodeployError as e:
            if click.get_current_context().find_root().params.get("debug"):
                raise
            click.echo(f"error: {e}", err=True)
            sys.exit(e.exit_code)

    return wrapper


@click.group()
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.version_option(package_name="neurodeploy")
def main(debug):
    """neurodeploy: spiking neural networks from training to neuromorphic hardware."""


# Commands are added below, one block per verb. Keep each block thin: the work lives in the package.

DATA_DIR = click.option("--data-dir", type=click.Path(file_okay=False), default=None,
                        help="Data root (overrides NEURODEPLOY_DATA; default: the shipped sample).")


# ------------------------------------------------------------------------------------------ data
@main.group()
def data():
    """Data sets: fetch the official files."""


@data.command("fetch")
@click.argument("name")
@DATA_DIR
@click.option("--mirror", default=None, help="Base URL of a mirror holding the official file names.")
@friendly_errors
def data_fetch(name, data_dir, mirror):
    """Download data set NAME (mnist | fashion-mnist | cifar10) into the data root, checked."""
    import os

    from neurodeploy.data.fetch import fetch
    from neurodeploy.errors import UsageError

    root = data_dir or os.environ.get("NEURODEPLOY_DATA")
    if not root:
        raise UsageError("give --data-dir or set NEURODEPLOY_DATA: where should the files go?")
    folder = fetch(name, root, base_url=mirror)
    click.echo(f"{name}: checked and stored in {folder}")


# ----------------------------------------------------------------------------------------- train
@main.command()
@click.option("--dataset", default="fashion-mnist", show_default=True)
@click.option("--model", default="mlp", show_default=True, help="mlp | conv28 | conv32")
@click.option("--encoding", default="early_burst", show_default=True,
              help="direct | poisson | early_burst | early_burst_floor | late_burst | ttfs | fusion:A+B")
@click.option("--steps", "-T", default=8, show_default=True, type=int, help="Time steps T.")
@click.option("--epochs", default=5, show_default=True, type=int)
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Run folder.")
@click.option("--ann", is_flag=True, help="Train the ANN twin (same topology, ReLU) instead.")
@click.option("--loss", default="temporal", show_default=True, type=click.Choice(["rate", "temporal"]))
@click.option("--noise", default=None, help="gaussian:SIGMA input-noise training.")
@click.option("--adv", default=None, help="fgsm:EPS (random start) | pgd:EPS,K adversarial training.")
@click.option("--adv-weight", default=0.5, show_default=True, type=float,
              help="w of (1-w)·loss(clean) + w·loss(adversarial).")
@click.option("--eps-warmup", default=1.0, show_default=True, type=float,
              help="Epochs over which the training attack's ε rises from 0.")
@click.option("--trades", default=None, type=float, help="TRADES β: loss(clean) + β·KL(clean ‖ adversarial).")
@click.option("--adv-grad", default="random", show_default=True,
              help="Training attack's surrogate gradient: random (per batch, from the suite's family) | ENC[+NEURON[:W]].")
@click.option("--input-quantisation", is_flag=True,
              help="With --ann: feed the ANN the SNN's input, spike count / T of --encoding at --steps.")
@click.option("--mppd", default=None, type=float, help="ρ of the membrane-potential-perturbation penalty.")
@click.option("--batch-size", default=128, show_default=True, type=int)
@click.option("--lr", default=1e-3, show_default=True, type=float)
@click.option("--limit", default=None, type=int, help="Use only the first N training images.")
@click.option("--test-limit", default=None, type=int, help="Use only the first N test images.")
@click.option("--resume", is_flag=True, help="Continue from the run folder's checkpoint.")
@click.option("--init-from", default=None, type=click.Path(file_okay=False),
              help="Start from this run's weights (fine-tuning, e.g. adversarial).")
@DATA_DIR
@friendly_errors
def train(dataset, model, encoding, steps, epochs, seed, out_dir, ann, loss, noise, adv, adv_weight, eps_warmup, trades,
          adv_grad, input_quantisation, mppd, batch_size, lr, limit, test_limit, resume, init_from, data_dir):
    """Train an SNN (or its ANN twin) into run folder OUT."""
    from neurodeploy.encoding import make_encoder
    from neurodeploy.training.config import TrainConfig
    from neurodeploy.training.run import train as train_run

    cfg = TrainConfig(dataset=dataset, model=model, encoding=make_encoder(encoding).config(), steps=steps,
                      epochs=epochs, seed=seed, ann=ann, loss=loss, noise=noise, adv=adv, mppd=mppd, batch_size=batch_size,
                      lr=lr, limit=limit, test_limit=test_limit, init_from=init_from, adv_weight=adv_weight,
                      eps_warmup=eps_warmup, trades=trades, adv_grad=adv_grad, input_quantisation=input_quantisation)
    m = train_run(cfg, out_dir, resume=resume, data_dir=data_dir)
    last = m["epochs"][-1] if m["epochs"] else {}
    acc = last.get("test_accuracy")
    click.echo(f"{out_dir}: {len(m['epochs'])} epochs, test accuracy "
               f"{acc:.4f}" if acc is not None else f"{out_dir}: no epochs run")


# ---------------------------------------------------------------------------------- export, info
@main.command()
@click.argument("run_dir", type=click.Path())
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False), help="MODEL.net to write.")
@click.option("--format", "fmt", default="netx", type=click.Choice(["netx"]), show_default=True)
@click.option("--check-samples", default=16, show_default=True, type=int,
              help="Test images the artifact must reproduce before it is written (0: skip).")
@DATA_DIR
@friendly_errors
def export(run_dir, out_path, fmt, check_samples, data_dir):
    """Export training run RUN_DIR to a NetX HDF5 file with its model card."""
    from neurodeploy.export.exporter import export_run
    from neurodeploy.export.verify import verifier

    model = export_run(run_dir, out_path, verify=verifier(check_samples, data_dir) if check_samples else None)
    card, v = model.card, model.card.get("verified")
    check = (f"verified on {v['samples']} test images: predictions agree {v['prediction_agreement']:.1%}, "
             f"identical spike trains {v['identical_spike_trains']:.1%}") if v else "not verified"
    click.echo(f"{out_path}: {len(model.synaptic_layers)} synaptic layers, {card['encoding']['name']} "
               f"T={card['steps']}; {check}")


@main.command()
@click.argument("model_path", type=click.Path())
@friendly_errors
def info(model_path):
    """Print MODEL.net's model card and layer table."""
    from neurodeploy import netx
    from neurodeploy.export.describe import describe

    click.echo(describe(netx.read(model_path)))


@main.command("profiles")
@friendly_errors
def profiles_cmd():
    """List hardware profiles: built-in hw_profiles/ plus folders in $NEURODEPLOY_PROFILES."""
    from neurodeploy.hardware.profiles import format_profiles, list_profiles

    click.echo(format_profiles(list_profiles()))


@main.command("fit")
@click.argument("model_path", type=click.Path())
@click.option("--target", required=True, help="Profile name (see `neurodeploy profiles`) or a .toml path.")
@friendly_errors
def fit_cmd(model_path, target):
    """Check MODEL.net against a target's limits; exit 1 listing every violation if it does not fit."""
    from neurodeploy.errors import CheckFailedError
    from neurodeploy import netx
    from neurodeploy.hardware.fit import fit as fit_model
    from neurodeploy.hardware.profiles import load_profile

    profile = load_profile(target)
    report = fit_model(netx.read(model_path), profile, model_path=model_path)
    click.echo(report.format_table())
    if not report.fits():
        n = len(report.violations)
        raise CheckFailedError(f"{model_path}: does not fit {profile.name} "
                               f"({n} violation{'s' if n != 1 else ''}, listed above)")


# ---------------------------------------------------------------------------------------- attack
@main.command("attack")
@click.argument("run_dir", type=click.Path())  # a run folder, or MODEL.net (float twin, judged on emu)
@click.option("--attack", "method", default="suite", show_default=True,
              type=click.Choice(["fgsm", "pgd", "apgd-ce", "apgd-dlr", "square", "suite"]))
@click.option("--eps", required=True, help="Budget(s) ε in pixel units, comma separated: 0.05,0.1 or 8/255.")
@click.option("--steps", type=int, default=None,
              help="Iterations per restart (default: fgsm 1, pgd 20, apgd 100, suite 50; square: --queries).")
@click.option("--restarts", type=int, default=1, show_default=True, help="Random restarts.")
@click.option("--eot", type=int, default=None, help="EOT draws per gradient for stochastic encoders (default 10).")
@click.option("--norm", type=click.Choice(["linf", "l2"]), default="linf", show_default=True)
@click.option("--limit", type=int, default=1000, show_default=True, help="Attack the first N test images.")
@click.option("--exit", "exit_rule", default="off", show_default=True,
              help="The model's early-exit rule: margin:M[,min=S] | confidence:P[,min=S] | off.")
@click.option("--deployed", type=click.Path(dir_okay=False), default=None,
              help="MODEL.net exported from RUN_DIR: also judge the adversarial images on it (emulator).")
@click.option("--transfer-from", type=click.Path(file_okay=False), default=None,
              help="Run folder of a source model (e.g. the ANN twin) for a transfer attack.")
@click.option("--grad", default="ste", show_default=True,
              help="SNN attack gradient ENC[+NEURON[:WIDTH]]: ENC ste|spike, NEURON slayer|rect|triangle|sigmoid|bptr.")
@click.option("--loss-at", "at", type=click.Choice(["exit", "prefix", "final"]), default="exit", show_default=True,
              help="Output the loss reads: the exit step, the sum over all prefixes, or step T.")
@click.option("--queries", type=int, default=1000, show_default=True, help="Square attack queries.")
@click.option("--full", is_flag=True, help="Suite: run every attack on every sample (slower; each row its own accuracy).")
@click.option("--check-samples", type=int, default=200, show_default=True,
              help="Suite: the first N images where standalone accuracies and masking checks are measured.")
@click.option("--sim-samples", type=int, default=0, show_default=True,
              help="With --deployed: also run this many adversarial images on Lava sim.")
@click.option("--seed", type=int, default=0, show_default=True)
@DATA_DIR
@click.option("--out", "out_dir", default=None, type=click.Path(file_okay=False),
              help="Folder for attack.json, attack.md and attack.png.")
@friendly_errors
def attack_cmd(run_dir, method, eps, steps, restarts, eot, norm, limit, exit_rule, deployed, transfer_from, grad,
               at, queries, full, check_samples, sim_samples, seed, data_dir, out_dir):
    """Attack training run RUN_DIR (SNN or ANN twin) or an exported MODEL.net; masking checks are flagged, not fatal."""
    from neurodeploy.attacks import AttackConfig, attack, parse_eps

    cfg = AttackConfig(attack=method, eps=parse_eps(eps), steps=steps, restarts=restarts, eot=eot, norm=norm,
                       limit=limit, exit=exit_rule, deployed=deployed, transfer_from=transfer_from, seed=seed,
                       grad=grad, at=at, queries=queries, full=full, sim_samples=sim_samples, data_dir=data_dir,
                       check_samples=check_samples)
    rep = attack(run_dir, cfg, out_dir=out_dir)
    click.echo(rep.summary() + (f" -> {rep.files['md']}" if rep.files else ""))
    for c in rep.failed_checks:
        click.echo(f"warning: masking check FAILED: {c.name}: {c.detail}", err=True)


# ---------------------------------------------------------------------------------------- report
@main.command("report")
@click.argument("model_path", type=click.Path())
@click.option("--target", required=True, help="Profile name (see `neurodeploy profiles`) or a .toml path.")
@click.option("--backend", default="emu", show_default=True, type=click.Choice(["emu", "sim"]),
              help="emu: integer-exact emulator; sim: Lava CPU simulator (slow; small --limit).")
@click.option("--dataset", default=None, help="Data set to run (default: the model card's).")
@click.option("--limit", type=int, default=1000, show_default=True, help="Use the first N test images.")
@click.option("--exit", "exit_rule", default="margin:2,min=2", show_default=True,
              help="Early-exit rule compared with running all T steps: margin:M[,min=S] | confidence:P[,min=S] | off.")
@click.option("--seed", type=int, default=None, help="Encoder seed (default: the model card's).")
@DATA_DIR
@click.option("--out", "out_dir", default=None, type=click.Path(),
              help="Folder for report.json, report.md and the PNG plots (written atomically).")
@friendly_errors
def report_cmd(model_path, target, backend, dataset, limit, exit_rule, seed, data_dir, out_dir):
    """Modelled energy and latency of MODEL.net on a target, with and without early exit."""
    from neurodeploy.report import make_report

    rep = make_report(model_path, target, backend=backend, dataset=dataset, limit=limit, exit_rule=exit_rule,
                      data_dir=data_dir, seed=seed, out=out_dir)
    click.echo(rep.summary())


# ------------------------------------------------------------------------------------------- run
@main.command("run")
@click.argument("model_path", type=click.Path())
@click.option("--backend", default="emu", show_default=True, type=click.Choice(["emu", "sim", "loihi2"]),
              help="emu: integer-exact emulator; sim: Lava CPU simulator; loihi2: Loihi 2 chip.")
@click.option("--dataset", default=None, help="Data set to run (default: the model card's).")
@click.option("--limit", type=int, default=None, help="Use the first N test images (default: all).")
@click.option("--exit", "exit_rule", default="off", show_default=True,
              help="Early-exit rule: margin:M[,min=S] | confidence:P[,min=S] | off.")
@click.option("--out", "out_path", default=None, type=click.Path(dir_okay=False),
              help="Write per-sample results and the summary as JSON (atomically).")
@click.option("--seed", type=int, default=None, help="Encoder seed (default: the model card's).")
@DATA_DIR
@friendly_errors
def run_cmd(model_path, backend, dataset, limit, exit_rule, out_path, seed, data_dir):
    """Run MODEL.net on test images: accuracy, exit steps and throughput."""
    from neurodeploy import netx
    from neurodeploy.runtime.api import encode_dataset_for_model, run_model
    from neurodeploy.runtime.exit_rules import ExitRule

    rule = ExitRule.parse(exit_rule)
    model = netx.read(model_path)
    if backend == "loihi2":
        from neurodeploy.runtime.loihi2 import require

        require()
    spikes, labels = encode_dataset_for_model(model, dataset, "test", limit, data_dir, seed)
    result = run_model(model, spikes, labels, backend=backend, exit_rule=rule, path=model_path)
    result.meta.update({"dataset": dataset or model.card.get("dataset"), "limit": limit,
                        "seed": seed if seed is not None else model.card.get("seed")})
    click.echo(result.summary_line())
    if out_path:
        result.write_json(out_path)


if __name__ == "__main__":
    main()
