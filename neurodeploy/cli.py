"""The ``neurodeploy`` command line: one verb per stage; see docs/cli.md. Thin: parse, call, print."""
from __future__ import annotations

import functools
import sys

import click

from neurodeploy import cli_types as ct
from neurodeploy.errors import NeurodeployError


def friendly_errors(fn):
    """One line on stderr and an exit code for every error a user can cause (``--debug``: traceback).

    :class:`NeurodeployError`: its exit code; Ctrl-C: ``interrupted``, 130; a file system error
    (permission denied, disk full): 2; running out of memory anyway: 2.
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (NeurodeployError, KeyboardInterrupt, OSError, MemoryError) as e:
            if click.get_current_context().find_root().params.get("debug"):
                raise
            if isinstance(e, KeyboardInterrupt):
                from neurodeploy.atomic import remove_own_temporaries

                remove_own_temporaries()
                click.echo("interrupted", err=True)
                sys.exit(130)
            if isinstance(e, NeurodeployError):
                click.echo(f"error: {e}", err=True)
                sys.exit(e.exit_code)
            if isinstance(e, MemoryError):
                click.echo("error: out of memory (lower --limit, or see --memory-limit)", err=True)
                sys.exit(2)
            where = f"{e.filename}: " if getattr(e, "filename", None) else ""
            click.echo(f"error: {where}{e.strerror or type(e).__name__}", err=True)
            sys.exit(2)

    return wrapper


class OneLineGroup(click.Group):
    """Usage errors as one line (``error: Invalid value for '--eps': ...``), exit 2; Ctrl-C: 130."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as e:
            e.show()
            sys.exit(e.exit_code)
        except click.ClickException as e:
            click.echo(f"error: {' '.join(e.format_message().split())}", err=True)
            sys.exit(e.exit_code)
        except (click.Abort, KeyboardInterrupt):
            click.echo("interrupted", err=True)
            sys.exit(130)
        sys.exit(rv if isinstance(rv, int) else 0)


def _memory_limit(ctx, param, value):
    from neurodeploy import budget

    try:
        budget.set_limit(value)
    except ValueError as e:
        raise click.BadParameter(str(e), ctx, param) from None
    return value


@click.group(cls=OneLineGroup)
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.option("--threads", default=None, metavar="N|auto", type=ct.THREADS,
              help="torch threads (default: NEURODEPLOY_THREADS, else auto = usable cores not busy elsewhere).")
@click.option("--memory-limit", default=None, callback=_memory_limit, expose_value=False, is_eager=True,
              help="Refuse work whose arrays would need more: 4G, 512M, 50% (default: NEURODEPLOY_MEMORY_LIMIT, "
                   "else 50% of available memory).")
@click.version_option(package_name="neurodeploy", prog_name="neurodeploy")
@friendly_errors
def main(debug, threads):
    """neurodeploy: spiking neural networks from training to neuromorphic hardware."""
    from neurodeploy.threads import configure_threads

    configure_threads(threads)


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
              help="direct | graded[:BITS] | poisson | early_burst | early_burst_floor | late_burst | ttfs | fusion:A+B")
@click.option("--steps", "-T", default=8, show_default=True, type=ct.STEPS, help="Time steps T.")
@click.option("--epochs", default=5, show_default=True, type=ct.EPOCHS)
@click.option("--seed", default=0, show_default=True, type=ct.SEED)
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Run folder.")
@click.option("--ann", is_flag=True, help="Train the ANN twin (same topology, ReLU) instead.")
@click.option("--loss", default="temporal", show_default=True, type=click.Choice(["rate", "temporal"]))
@click.option("--noise", default=None, help="gaussian:SIGMA input-noise training.")
@click.option("--adv", default=None, help="fgsm:EPS (random start) | pgd:EPS,K adversarial training.")
@click.option("--adv-weight", default=0.5, show_default=True, type=ct.FiniteFloat(0.0, 1.0),
              help="w of (1-w)·loss(clean) + w·loss(adversarial).")
@click.option("--eps-warmup", default=1.0, show_default=True, type=ct.NONNEGATIVE,
              help="Epochs over which the training attack's ε rises from 0.")
@click.option("--trades", default=None, type=ct.NONNEGATIVE, help="TRADES β: loss(clean) + β·KL(clean ‖ adversarial).")
@click.option("--adv-grad", default="random", show_default=True,
              help="Training attack's surrogate gradient: random (per batch, from the suite's family) | ENC[+NEURON[:W]].")
@click.option("--input-quantisation", is_flag=True,
              help="With --ann: feed the ANN the SNN's input, spike count / T of --encoding at --steps.")
@click.option("--mppd", default=None, type=ct.NONNEGATIVE, help="ρ of the membrane-potential-perturbation penalty.")
@click.option("--batch-size", default=128, show_default=True, type=ct.BATCH)
@click.option("--lr", default=1e-3, show_default=True, type=ct.RATE)
@click.option("--limit", default=None, type=ct.COUNT, help="Use only the first N training images.")
@click.option("--test-limit", default=None, type=ct.COUNT, help="Use only the first N test images.")
@click.option("--resume", is_flag=True, help="Continue from the run folder's checkpoint.")
@click.option("--init-from", default=None, type=click.Path(file_okay=False),
              help="Start from this run's weights (fine-tuning, e.g. adversarial).")
@click.option("--augment", default=None, type=ct.AUGMENT, help="none | cropP | flip | cropP+flip (default: the data set's; cifar10 crop4+flip).")
@click.option("--neuron", "neuron_opts", default=None, metavar="KEY=V,...",
              help="CUBA neuron settings (threshold, current_decay, voltage_decay, tau_grad, scale_grad).")
@click.option("--weight-scale", default=None, type=ct.RATE, help="Initial weight scale of every layer (default 2).")
@click.option("--rate-reg", default=0.0, type=ct.NONNEGATIVE, show_default=True,
              help="λ of the output spike-rate penalty (targets 0.5 label / 0.05 others).")
@click.option("--hidden-reg", default=0.0, type=ct.NONNEGATIVE, show_default=True,
              help="λ of the hidden-layer activity floor (mean rate >= 0.1 per layer).")
@DATA_DIR
@friendly_errors
def train(dataset, model, encoding, steps, epochs, seed, out_dir, ann, loss, noise, adv, adv_weight, eps_warmup, trades,
          adv_grad, input_quantisation, mppd, batch_size, lr, limit, test_limit, resume, init_from, augment, neuron_opts,
          weight_scale, rate_reg, hidden_reg, data_dir):
    """Train an SNN (or its ANN twin) into run folder OUT."""
    from neurodeploy.encoding import make_encoder
    from neurodeploy.training.config import TrainConfig
    from neurodeploy.training.run import train as train_run

    cfg = TrainConfig(dataset=dataset, model=model, encoding=make_encoder(encoding).config(), steps=steps,
                      epochs=epochs, seed=seed, ann=ann, loss=loss, noise=noise, adv=adv, mppd=mppd, batch_size=batch_size,
                      lr=lr, limit=limit, test_limit=test_limit, init_from=init_from, augment=augment,
                      adv_weight=adv_weight, eps_warmup=eps_warmup, trades=trades, adv_grad=adv_grad,
                      input_quantisation=input_quantisation)
    cfg.rate_reg, cfg.hidden_reg = rate_reg, hidden_reg  # the CIFAR-10 recipe's options (README)
    cfg.neuron.update(ct.parse_key_values(neuron_opts, "--neuron"))
    if weight_scale is not None:
        cfg.weight_scale = weight_scale
    m = train_run(cfg, out_dir, resume=resume, data_dir=data_dir)
    last = m["epochs"][-1] if m["epochs"] else {}
    acc = last.get("test_accuracy")
    click.echo(f"{out_dir}: {len(m['epochs'])} epochs, test accuracy "
               f"{acc:.4f}" if acc is not None else f"{out_dir}: no epochs run")


# ---------------------------------------------------------------------------------- export, info
@main.command()
@click.argument("run_dir", type=click.Path())
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False), help="MODEL.net to write.")
@click.option("--format", "fmt", default="netx", type=click.Choice(["netx", "nir"]), show_default=True)
@click.option("--check-samples", default=16, show_default=True, type=ct.Count(1, zero_means="skip"),
              help="Test images the artifact must reproduce before it is written (0: skip).")
@DATA_DIR
@friendly_errors
def export(run_dir, out_path, fmt, check_samples, data_dir):
    """Export training run RUN_DIR to a NetX HDF5 file with its model card."""
    from neurodeploy.export.exporter import export_run
    from neurodeploy.export.verify import verifier
    from neurodeploy.outputs import check_output

    check_output(out_path, "--out", inputs=[run_dir])
    if fmt == "nir":  # the verified NetX artifact, then its exact NIR form
        import tempfile
        from pathlib import Path

        from neurodeploy.nir.api import convert_file

        with tempfile.TemporaryDirectory(prefix="neurodeploy-nir-") as tmp:
            model = export_run(run_dir, Path(tmp) / "model.net",
                               verify=verifier(check_samples, data_dir) if check_samples else None)
            convert_file(Path(tmp) / "model.net", out_path, source=run_dir)
    else:
        model = export_run(run_dir, out_path, verify=verifier(check_samples, data_dir) if check_samples else None)
    card, v = model.card, model.card.get("verified")
    check = (f"verified on {v['samples']} test images: predictions agree {v['prediction_agreement']:.1%}, "
             f"identical spike trains {v['identical_spike_trains']:.1%}") if v else "not verified"
    click.echo(f"{out_path}: {len(model.synaptic_layers)} synaptic layers, {card['encoding']['name']} "
               f"T={card['steps']}; {check}")


# ---------------------------------------------------------------------------- NIR: convert, import
@main.command("convert")
@click.argument("model_path", type=click.Path())
@click.option("--to", "to_format", required=True, type=click.Choice(["nir"]), help="Target format.")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False), help="MODEL.nir to write.")
@friendly_errors
def convert_cmd(model_path, to_format, out_path):
    """Convert NetX file MODEL_PATH to NIR (exact; the dt convention and model card in its metadata)."""
    from neurodeploy.nir.api import convert_file
    from neurodeploy.outputs import check_output

    check_output(out_path, "--out", inputs=[model_path])
    convert_file(model_path, out_path)
    click.echo(f"{out_path}: NIR graph of {model_path}")


@main.command("import")
@click.argument("nir_path", type=click.Path())
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False), help="MODEL.net to write.")
@click.option("--steps", "-T", default=None, type=ct.STEPS, help="Verification steps (default: the graph's card, else 8).")
@click.option("--encoding", default=None, help="Verify on --dataset encoded so (and record it); default: generated spikes.")
@click.option("--dataset", default=None, help="Data set for --encoding (default: the graph's card, else fashion-mnist).")
@click.option("--limit", default=200, show_default=True, type=ct.COUNT, help="Verification samples.")
@click.option("--min-agreement", default=0.99, show_default=True, type=ct.FRACTION,
              help="Refuse the import below this prediction agreement with the NIR reference.")
@click.option("--approximate", is_flag=True, help="Approximate what Lava cannot state exactly (recorded in the card).")
@click.option("--dt", default=None, type=ct.RATE, help="Seconds per step the graph assumes (default: its metadata, else 1e-4).")
@click.option("--seed", default=0, show_default=True, type=ct.SEED)
@DATA_DIR
@friendly_errors
def import_cmd(nir_path, out_path, steps, encoding, dataset, limit, min_agreement, approximate, dt, seed, data_dir):
    """Import NIR graph NIR_PATH as a NetX file, verified against a float reference simulation."""
    from neurodeploy.nir.api import import_file
    from neurodeploy.outputs import check_output

    check_output(out_path, "--out", inputs=[nir_path])
    r = import_file(nir_path, out_path, steps=steps, encoding=encoding, dataset=dataset, limit=limit,
                    min_agreement=min_agreement, approximate=approximate, seed=seed, data_dir=data_dir, dt=dt)
    exact = sum(l.lossless for l in r.imported.layers)
    click.echo(f"{out_path}: {len(r.imported.layers)} synaptic layers ({exact} stored exactly) from {nir_path}; "
               f"{r.verification.summary()}")


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
    """List hardware profiles: built-in (neurodeploy/hardware/builtin_profiles/) plus folders in $NEURODEPLOY_PROFILES."""
    from neurodeploy.hardware.profiles import format_profiles, list_profiles

    click.echo(format_profiles(list_profiles()))


@main.command("fit")
@click.argument("model_path", type=click.Path())
@click.option("--target", required=True, help="Profile name (see `neurodeploy profiles`) or a .toml path.")
@click.option("--steps", "-T", type=ct.STEPS, default=None, help="Time steps T of a card-less file (checks reset_interval).")
@friendly_errors
def fit_cmd(model_path, target, steps):
    """Check MODEL.net against a target's limits; exit 1 listing every violation if it does not fit."""
    from neurodeploy.errors import CheckFailedError
    from neurodeploy import netx
    from neurodeploy.hardware.fit import fit as fit_model
    from neurodeploy.hardware.profiles import load_profile

    profile = load_profile(target)
    model = netx.read(model_path)
    if steps is not None:
        model.card = {**(model.card or {}), "steps": int(steps)}
    report = fit_model(model, profile, model_path=model_path)
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
@click.option("--eps", required=True, type=ct.EPS_LIST,
              help="Budget(s) ε in pixel units, comma separated: 0.05,0.1 or 8/255.")
@click.option("--steps", type=ct.COUNT, default=None,
              help="Iterations per restart (default: fgsm 1, pgd 20, apgd 100, suite 50; square: --queries).")
@click.option("--restarts", type=ct.COUNT, default=1, show_default=True, help="Random restarts.")
@click.option("--eot", type=ct.COUNT, default=None, help="EOT draws per gradient for stochastic encoders (default 10).")
@click.option("--norm", type=click.Choice(["linf", "l2"]), default="linf", show_default=True)
@click.option("--limit", type=ct.COUNT, default=1000, show_default=True, help="Attack the first N test images.")
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
@click.option("--queries", type=ct.COUNT, default=1000, show_default=True, help="Square attack queries.")
@click.option("--full", is_flag=True, help="Suite: run every attack on every sample (slower; each row its own accuracy).")
@click.option("--check-samples", type=ct.COUNT, default=200, show_default=True,
              help="Suite: the first N images where standalone accuracies and masking checks are measured.")
@click.option("--sim-samples", type=ct.Count(1, zero_means="none"), default=0, show_default=True,
              help="With --deployed: also run this many adversarial images on Lava sim.")
@click.option("--seed", type=ct.SEED, default=0, show_default=True)
@DATA_DIR
@click.option("--out", "out_dir", default=None, type=click.Path(file_okay=False),
              help="Folder for attack.json, attack.md and attack.png.")
@friendly_errors
def attack_cmd(run_dir, method, eps, steps, restarts, eot, norm, limit, exit_rule, deployed, transfer_from, grad,
               at, queries, full, check_samples, sim_samples, seed, data_dir, out_dir):
    """Attack training run RUN_DIR (SNN or ANN twin) or an exported MODEL.net; masking checks are flagged, not fatal."""
    from neurodeploy.attacks import AttackConfig, attack

    cfg = AttackConfig(attack=method, eps=eps, steps=steps, restarts=restarts, eot=eot, norm=norm,
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
@click.option("--limit", type=ct.COUNT, default=1000, show_default=True, help="Use the first N test images.")
@click.option("--exit", "exit_rule", default="margin:2,min=2", show_default=True,
              help="Early-exit rule compared with running all T steps: margin:M[,min=S] | confidence:P[,min=S] | off.")
@click.option("--seed", type=ct.SEED, default=None, help="Encoder seed (default: the model card's).")
@DATA_DIR
@click.option("--out", "out_dir", default=None, type=click.Path(),
              help="Folder for report.json, report.md and the PNG plots (written atomically).")
# card-less NetX files: the activity source is --input (or --encoding + --dataset), T is --steps
@click.option("--input", "input_path", default=None, type=click.Path(dir_okay=False),
              help="Input array .npy/.npz/.h5 (as for `run`) as the activity source.")
@click.option("--steps", "-T", type=ct.STEPS, default=None, help="Time steps T (card-less files).")
@click.option("--labels", "labels_path", default=None, type=click.Path(dir_okay=False),
              help="Integer labels for --input (without: accuracy = agreement with the full-T prediction).")
@click.option("--input-mode", type=click.Choice(["spikes", "a_in", "bias"]), default=None,
              help="How --input enters the network (see `run`).")
@click.option("--encoding", default=None, help="Encoder for --dataset when the model card names none.")
@friendly_errors
def report_cmd(model_path, target, backend, dataset, limit, exit_rule, seed, data_dir, out_dir, input_path, steps,
               labels_path, input_mode, encoding):
    """Modelled energy and latency of MODEL.net on a target, with and without early exit."""
    from neurodeploy.report import make_report

    rep = make_report(model_path, target, backend=backend, dataset=dataset, limit=limit, exit_rule=exit_rule,
                      data_dir=data_dir, seed=seed, out=out_dir, input_path=input_path, steps=steps,
                      labels_path=labels_path, input_mode=input_mode, encoding=encoding)
    click.echo(rep.summary())


# ------------------------------------------------------------------------------------------- run
@main.command("run")
@click.argument("model_path", type=click.Path())
@click.option("--backend", default="emu", show_default=True, type=click.Choice(["emu", "sim", "loihi2"]),
              help="emu: integer-exact emulator; sim: Lava CPU simulator; loihi2: Loihi 2 chip.")
@click.option("--dataset", default=None, help="Data set to run (default: the model card's).")
@click.option("--limit", type=ct.COUNT, default=None, help="Use the first N test images (default: all).")
@click.option("--exit", "exit_rule", default="off", show_default=True,
              help="Early-exit rule: margin:M[,min=S] | confidence:P[,min=S] | off.")
@click.option("--out", "out_path", default=None, type=click.Path(dir_okay=False),
              help="Write per-sample results and the summary as JSON (atomically).")
@click.option("--seed", type=ct.SEED, default=None, help="Encoder seed (default: the model card's).")
@DATA_DIR
# card-less NetX files (e.g. written by lava-dl's export_hdf5): the input comes from a file
@click.option("--input", "input_path", default=None, type=click.Path(dir_okay=False),
              help="Input array .npy/.npz/.h5: (N, *input_shape, T) per step, or (N, *input_shape) frames "
                   "with --input-mode bias. input_shape as `info` prints it.")
@click.option("--steps", "-T", type=ct.STEPS, default=None, help="Time steps T (card-less files; bias mode).")
@click.option("--labels", "labels_path", default=None, type=click.Path(dir_okay=False),
              help="Integer labels (N,) for --input: prints accuracy.")
@click.option("--input-mode", type=click.Choice(["spikes", "a_in", "bias"]), default=None,
              help="spikes: into the first synapse; a_in: values per step into the input neuron; bias: one "
                   "frame per sample as the input neuron's bias_mant (default: a_in with an input neuron).")
@click.option("--encoding", default=None, help="Encoder for --dataset when the model card names none.")
@click.option("--save-output", "save_path", default=None, type=click.Path(dir_okay=False),
              help="Write the output layer's spikes or graded values (N, *output_shape, T) as .npy.")
@friendly_errors
def run_cmd(model_path, backend, dataset, limit, exit_rule, out_path, seed, data_dir, input_path, steps,
            labels_path, input_mode, encoding, save_path):
    """Run MODEL.net on test images (or on --input): accuracy or output values, exit steps, throughput."""
    from neurodeploy import netx
    from neurodeploy.outputs import check_output
    from neurodeploy.runtime.api import encode_dataset_for_model, inputs_from_file, run_model, save_output
    from neurodeploy.runtime.exit_rules import ExitRule

    rule = ExitRule.parse(exit_rule)
    check_output(out_path, "--out", inputs=[model_path])
    check_output(save_path, "--save-output", inputs=[model_path, input_path, labels_path])
    model = netx.read(model_path)
    if model.card.get("steps") is not None:
        rule.check_steps(model.card["steps"])
    if backend == "loihi2":
        from neurodeploy.runtime.loihi2 import require

        require()
    if input_path is not None:
        spikes, labels, mode, T = inputs_from_file(model, input_path, steps, labels_path, input_mode, limit)
        meta = {"input": str(input_path), "labels": labels_path, "limit": limit}
    else:
        enc = None
        if encoding is not None:
            from neurodeploy.encoding import make_encoder

            enc = make_encoder(encoding).config()
        spikes, labels = encode_dataset_for_model(model, dataset, "test", limit, data_dir, seed, encoding=enc,
                                                  steps=steps, source=model_path)
        mode, T = input_mode, None
        meta = {"dataset": dataset or model.card.get("dataset"), "limit": limit,
                "seed": seed if seed is not None else model.card.get("seed")}
    result = run_model(model, spikes, labels, backend=backend, exit_rule=rule, path=model_path,
                       input_mode=mode, steps=T)
    result.meta.update(meta)
    click.echo(result.summary_line())
    if out_path:
        result.write_json(out_path)
    if save_path:
        save_output(result, save_path)


# ---------------------------------------------------------------------------------------- doctor
@main.command("doctor")
@friendly_errors
def doctor_cmd():
    """What is installed and working (Lava, the 3.11 fix, lava-dl, torchattacks, Loihi 2, ray)."""
    from neurodeploy.doctor import checks, core_works, format_checks
    from neurodeploy.errors import CheckFailedError

    results = checks()
    click.echo(format_checks(results))
    if not core_works(results):
        raise CheckFailedError("neurodeploy's core does not work here (see above)")


# ----------------------------------------------------------------------------------------- study
@main.command("study")
@click.argument("source", type=click.Path())
@click.option("--out", "out_dir", default=None, type=click.Path(file_okay=False),
              help="Study folder (runs, cells, results); running again resumes it.")
@click.option("--summarize", is_flag=True, help="SOURCE is a study folder: write DIR/summary/ (study.md, study.json, plots), swapped in whole.")
@click.option("--workers", type=ct.WORKERS, default=1, show_default=True, help="Local worker processes.")
@click.option("--ray", "ray_address", default=None, help="Run cells as Ray tasks: 'local' or a cluster ADDRESS.")
@click.option("--limit", type=ct.COUNT, default=None, help="Test images per cell (overrides the grid's study.limit).")
@DATA_DIR
@friendly_errors
def study_cmd(source, out_dir, summarize, workers, ray_address, limit, data_dir):
    """Run the grid GRID.toml into --out DIR (resumable), or summarize study folder DIR."""
    from neurodeploy.errors import UsageError
    from neurodeploy.study.summary import summarize as write_summary

    if summarize:
        if out_dir or ray_address or limit is not None:
            raise UsageError("--summarize takes only the study folder: neurodeploy study DIR --summarize")
        click.echo(write_summary(source).line())
        return
    if not out_dir:
        raise UsageError("give --out DIR (the study folder), or use DIR --summarize")
    if ray_address and workers != 1:
        raise UsageError("--workers is for the local pool; with --ray the cluster's CPUs decide")
    from neurodeploy.outputs import check_output, same_place

    if same_place(out_dir, source):
        raise UsageError(f"--out {out_dir}: is the grid file itself; choose a study folder")
    check_output(out_dir, "--out", folder=True)
    from neurodeploy.study.runner import run_study

    res = run_study(source, out_dir, workers=workers, ray=ray_address, limit=limit, data_dir=data_dir)
    click.echo(res.summary())
    click.echo(write_summary(out_dir).line())


if __name__ == "__main__":
    main()
