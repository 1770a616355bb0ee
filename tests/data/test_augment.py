"""Seeded training augmentation: crop with padding and horizontal flip."""
from __future__ import annotations

import pytest
import torch

from neurodeploy.data.augment import Augment, augment
from neurodeploy.errors import UsageError


def _images(n=16):
    return torch.rand(n, 3, 32, 32, generator=torch.Generator().manual_seed(5))


def test_same_seed_same_batch_other_seed_other_batch():
    x, spec = _images(), Augment.parse("crop4+flip")
    a = augment(x, spec, torch.Generator().manual_seed(1))
    b = augment(x, spec, torch.Generator().manual_seed(1))
    c = augment(x, spec, torch.Generator().manual_seed(2))
    assert a.shape == x.shape and torch.equal(a, b)
    assert not torch.equal(a, c) and not torch.equal(a, x)


def test_crop_is_a_shifted_window_of_the_zero_padded_image():
    x = _images(64)
    out = augment(x, Augment(pad=4), torch.Generator().manual_seed(3))
    padded = torch.nn.functional.pad(x, (4, 4, 4, 4))
    shifts = set()
    for n in range(len(x)):
        hits = [(dy, dx) for dy in range(9) for dx in range(9)
                if torch.equal(out[n], padded[n, :, dy:dy + 32, dx:dx + 32])]
        assert len(hits) == 1
        shifts.add(hits[0])
    assert len(shifts) > 20  # offsets vary over {0..8}^2


def test_flip_mirrors_about_half_the_images():
    x = _images(200)
    out = augment(x, Augment(flip=True), torch.Generator().manual_seed(4))
    flipped = [torch.equal(o, i.flip(-1)) for o, i in zip(out, x)]
    kept = [torch.equal(o, i) for o, i in zip(out, x)]
    assert all(f != k for f, k in zip(flipped, kept))
    assert 70 < sum(flipped) < 130


def test_spec_parsing():
    assert str(Augment.parse("crop4+flip")) == "crop4+flip" and Augment.parse("none") == Augment()
    assert Augment.parse("flip+crop2") == Augment(2, True) and not Augment.parse("none").active
    x = _images(2)
    assert augment(x, Augment(), torch.Generator()) is x
    for bad in ("crop", "crop0", "rotate", "flip+flip", "crop4+crop2"):
        with pytest.raises(UsageError, match="bad augmentation"):
            Augment.parse(bad)


def test_dataset_default_recorded_in_config():
    from neurodeploy.training.config import TrainConfig

    assert TrainConfig(dataset="cifar10", model="conv32").validate().augment == "crop4+flip"
    assert TrainConfig(dataset="fashion-mnist").validate().augment == "none"
    assert TrainConfig(dataset="cifar10", augment="none").validate().augment == "none"
    with pytest.raises(UsageError):
        TrainConfig(augment="zoom").validate()
