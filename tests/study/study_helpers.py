"""The tiny study grid the study tests run (shipped Fashion-MNIST sample; seconds per cell)."""
from __future__ import annotations

TINY = """
[study]
name = "tiny"
dataset = "fashion-mnist"
model = "mlp"
steps = 4
seed = 0
eps = [0.1]
limit = 16
target = "loihi2"
exits = ["off", "margin:2"]
seed_pgd_steps = 2

[train]
epochs = {epochs}
limit = 256
test_limit = 64
batch_size = 32

[attack]
steps = 2
queries = 2
eot = 2
checks = false

[[rows]]
name = "SNN early_burst"
encoding = "early_burst"
"""


def tiny_grid(tmp_path, epochs: int = 1, extra: str = "", name: str = "tiny.toml"):
    """Write the tiny grid (+ ``extra`` TOML) and return its path."""
    path = tmp_path / name
    path.write_text(TINY.replace("{epochs}", str(epochs)) + extra)
    return path
