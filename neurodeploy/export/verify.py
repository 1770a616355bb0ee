"""Export's last check: the written artifact must reproduce the trained model.

The trained SLAYER network and the emulated NetX file (``runtime.emu``, integer-exact to Lava)
are both run on the first ``n`` test images of the model card's data set, encoded identically.
Predictions must agree on every sample, else export refuses the file. The fraction of samples
whose output spike trains are bit-identical is recorded in the model card.
"""
from __future__ import annotations

import torch

from neurodeploy.errors import BadInputError, CheckFailedError


def compare(model, clf, images_u8, seed: int = 0) -> dict:
    """Run both sides on uint8 images (test samples 0..n-1, each its own seeded encoder draw,
    :func:`neurodeploy.encoding.encode_samples`); returns agreement figures."""
    from neurodeploy.encoding import encode_samples
    from neurodeploy.runtime.emu import emulate

    x = torch.from_numpy(images_u8).float() / 255
    with torch.no_grad():
        spikes = encode_samples(clf.encoder, x, clf.steps, seed, range(len(x)), "test")
        ref = clf.net(spikes)
    out = emulate(model, clf.encoder.to_deployed(spikes)).spikes.to(ref.dtype)
    same_pred = (ref.sum(-1).argmax(1) == out.sum(-1).argmax(1))
    same_train = (ref == out).flatten(1).all(1)
    return {"samples": len(x), "prediction_agreement": same_pred.float().mean().item(),
            "identical_spike_trains": same_train.float().mean().item()}


def verifier(n: int, data_dir=None):
    """A ``verify(model, path, clf)`` for :func:`export_run` using ``n`` test images."""

    def verify(model, path, clf):
        from neurodeploy.data import load_dataset
        from neurodeploy.runfolder import check_budget

        check_budget(clf.config, n, f"checking the export on {n} test images")
        ds = load_dataset(model.card["dataset"], "test", data_dir, limit=n)
        if len(ds) == 0:
            raise BadInputError(f"data set '{model.card['dataset']}' has no test images to check the export on")
        r = compare(model, clf, ds.images, clf.seed)
        if r["prediction_agreement"] < 1.0:
            raise CheckFailedError(f"{path}: the exported artifact disagrees with the trained model on "
                                   f"{1 - r['prediction_agreement']:.1%} of {r['samples']} test images; refusing it")
        model.card["verified"] = {**r, "data": ds.source}

    return verify
