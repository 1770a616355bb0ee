"""neurodeploy: spiking neural networks from training to neuromorphic hardware."""
from neurodeploy import _lava_compat

_lava_compat.install()

__version__ = "0.1.0"


def load(run_dir, device="cpu"):
    """Load a training run as a ``torch.nn.Module`` mapping images in [0,1] (N,C,H,W) to logits."""
    from neurodeploy.training.run import load_run

    return load_run(run_dir, device=device)
