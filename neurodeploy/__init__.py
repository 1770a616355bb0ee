"""neurodeploy: spiking neural networks from training to neuromorphic hardware."""
import os as _os

# OpenMP threads that spin while they wait make torch 10-100x slower beside a busy process (see
# neurodeploy.threads); libgomp reads this once, when torch loads, so it is set before any import.
if "OMP_WAIT_POLICY" not in _os.environ and "GOMP_SPINCOUNT" not in _os.environ:
    _os.environ["OMP_WAIT_POLICY"] = "PASSIVE"

# freed tensors stay in glibc's heap for the next step: no page fault per 4 KiB (neurodeploy.allocator)
from neurodeploy import allocator as _allocator  # noqa: E402

_allocator.keep_freed_memory()

from neurodeploy import _lava_compat  # noqa: E402

_lava_compat.install()

__version__ = "0.1.0"


def load(path, device="cpu", gradient: str = "ste"):
    """A ``torch.nn.Module`` mapping images in [0,1] (N,C,H,W) to logits, from a training run folder
    or an exported ``MODEL.net`` (its differentiable float twin: predictions equal the emulator's).

    Input gradients flow through the encoder's straight-through surrogate (``gradient="ste"``,
    which does not mask); ``gradient="spike"`` gives the seed code's spike-only gradient.
    """
    from neurodeploy.runfolder import load_model

    return load_model(path, device=device, gradient=gradient)


def export_run(run_dir, out_path, check_samples: int = 16, data_dir=None):
    """Export a run to a NetX file (as ``neurodeploy export``); returns the written ``NetxModel``.

    (Not ``neurodeploy.export``: that name is the export subpackage.)
    """
    from neurodeploy.export.exporter import export_run as _export
    from neurodeploy.export.verify import verifier

    return _export(run_dir, out_path, verify=verifier(check_samples, data_dir) if check_samples else None)


def run(model_path, backend: str = "emu", exit_rule: str = "off", dataset=None, limit=None,
        data_dir=None, seed=None, progress: bool = False):
    """Run a NetX file on its model card's test set (as ``neurodeploy run``); returns a ``RunResult``."""
    from neurodeploy import netx
    from neurodeploy.runtime.api import encode_dataset_for_model, run_model

    model = netx.read(model_path)
    spikes, labels = encode_dataset_for_model(model, dataset, "test", limit, data_dir, seed)
    return run_model(model, spikes, labels, backend, exit_rule, progress=progress, path=model_path)


def make_report(model_path, target, **kwargs):
    """Energy/latency report (as ``neurodeploy report``); see :func:`neurodeploy.report.make_report`."""
    from neurodeploy.report import make_report as _make_report

    return _make_report(model_path, target, **kwargs)
