"""Rebuild neurodeploy/data/sample/ from a full Fashion-MNIST copy: python scripts/make_sample.py DATA_ROOT."""
import sys
from pathlib import Path

import numpy as np

from neurodeploy.data import load_dataset
from neurodeploy.data.idx import write_idx

out = Path(__file__).resolve().parents[1] / "neurodeploy" / "data" / "sample"
for split, n, prefix in [("train", 2000, "train"), ("test", 1000, "t10k")]:
    ds = load_dataset("fashion-mnist", split, sys.argv[1], limit=n)
    write_idx(ds.images[:, 0], out / f"{prefix}-images-idx3-ubyte.gz")
    write_idx(ds.labels.astype(np.uint8), out / f"{prefix}-labels-idx1-ubyte.gz")
