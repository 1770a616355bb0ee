"""Data: loaders for MNIST, Fashion-MNIST and CIFAR-10 as uint8 arrays; knows nothing of models."""
from neurodeploy.data.datasets import SPECS, Dataset, data_root, load_dataset, spec

__all__ = ["SPECS", "Dataset", "data_root", "load_dataset", "spec"]
