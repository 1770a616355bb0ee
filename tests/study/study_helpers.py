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


ANN = """
[[rows]]
name = "ANN"
ann = true
"""


def tiny_grid(tmp_path, epochs: int = 1, extra: str = "", name: str = "tiny.toml", ann: bool = False):
    """Write the tiny grid (+ ``extra`` TOML) and return its path. ``ann``: add an ANN row that is
    also the suite's transfer source (3 cells: the SNN row at full T and early exit, the ANN row)."""
    path = tmp_path / name
    text = TINY.replace("{epochs}", str(epochs))
    if ann:
        text = text.replace("checks = false", 'checks = false\ntransfer_from = "ANN"') + ANN
    path.write_text(text + extra)
    return path
