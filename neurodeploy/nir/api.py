"""File-level NIR commands: ``convert`` (NetX file -> NIR file) and ``import`` (NIR file -> verified NetX file).

Import verifies before it writes: the float reference of the NIR graph and the emulated NetX
artifact run the same input — a data set encoded as ``--encoding`` prescribes, or, without an
encoding, seeded Bernoulli spikes — and the file is refused (exit 1, nothing written) when
their predictions agree on fewer than ``min_agreement`` of the samples.
"""
from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

from neurodeploy import netx
from neurodeploy.errors import CheckFailedError, UsageError
from neurodeploy.nir.convention import Convention
from neurodeploy.nir.from_nir import CARD_KEY, Imported, from_nir
from neurodeploy.nir.graph import NirImportError, read_graph, write_graph
from neurodeploy.nir.to_nir import NirExportError, to_nir
from neurodeploy.nir.verify import Verification, verify

GENERATED_RATE = 0.2          # spike probability of generated verification input


def convert_file(model_path, out_path, source=None) -> Path:
    """NetX file -> NIR file (exact). ``source``: what refusals name (default ``model_path``)."""
    model = netx.read(model_path)
    try:
        graph = to_nir(model)
    except NirExportError as e:   # the layer's line, prefixed with the file it is in
        raise NirExportError(f"{source or model_path}: {e}") from None
    return write_graph(graph, out_path)


@dataclass
class ImportResult:
    path: Path
    imported: Imported
    verification: Verification

    @property
    def model(self) -> netx.NetxModel:
        return self.imported.model


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _nir_version(path: Path) -> str | None:
    import h5py

    with h5py.File(path, "r") as f:
        v = f["version"][()] if "version" in f else None
    return v.decode("utf8", "replace") if isinstance(v, bytes) else (str(v) if v is not None else None)


def verification_input(model: netx.NetxModel, steps: int, encoding, dataset, limit: int, seed: int,
                       data_dir=None) -> tuple:
    """(spikes (N, *input, T) uint8, description): an encoded data set, or seeded Bernoulli spikes."""
    if encoding:
        from neurodeploy.runtime.api import encode_dataset_for_model

        probe = netx.NetxModel(layers=model.layers, card={**model.card, "encoding": encoding, "steps": steps,
                                                          "dataset": dataset, "seed": seed})
        x, _ = encode_dataset_for_model(probe, dataset, "test", limit, data_dir, seed)
        name = encoding.get("name") if isinstance(encoding, dict) else encoding
        return x, f"{dataset} test images, {name}"
    gen = torch.Generator().manual_seed(int(seed))
    x = (torch.rand((int(limit), *model.input_shape, int(steps)), generator=gen) < GENERATED_RATE).to(torch.uint8)
    return x, f"generated Bernoulli({GENERATED_RATE}) spikes, seed {seed}"


def import_file(nir_path, out_path, steps: int | None = None, encoding: str | None = None,
                dataset: str | None = None, limit: int = 200, min_agreement: float = 0.99,
                approximate: bool = False, seed: int = 0, data_dir=None, dt: float | None = None) -> ImportResult:
    """NIR file -> NetX file with a model card, written only if verification passes.

    ``dt``: the time step the graph's time constants assume (default: its metadata, else 1e-4 s).
    """
    from neurodeploy.encoding import make_encoder
    from neurodeploy.versions import versions

    nir_path = Path(nir_path)
    if not 0.0 <= float(min_agreement) <= 1.0:
        raise UsageError(f"--min-agreement must be in [0, 1], got {min_agreement}")
    if int(limit) < 1:
        raise UsageError(f"--limit must be >= 1, got {limit}")
    if dt is not None and not (np.isfinite(dt) and dt > 0):
        raise UsageError(f"--dt must be a positive time step in seconds, got {dt}")
    graph = read_graph(nir_path)
    try:
        imp = from_nir(graph, approximate=approximate, convention=Convention(dt=float(dt)) if dt else None)
    except NirImportError as e:   # the node's line, prefixed with the file it is in
        raise NirImportError(f"{nir_path}: {e}") from None
    src = imp.source_card or {}
    if src:
        from neurodeploy.schemas.model_card import check_card

        check_card(src, f"{nir_path}: metadata '{CARD_KEY}'", num_outputs=int(np.prod(imp.model.output_shape)))
    enc = make_encoder(encoding).config() if encoding else src.get("encoding")
    T = int(steps or src.get("steps") or 8)
    if T < 1:
        raise UsageError(f"--steps must be >= 1, got {T}")
    ds_name = dataset or (src.get("dataset") if enc else None) or ("fashion-mnist" if enc else None)
    # graded input (encoding graded:b): the graph takes the integer payloads, the NetX file says how wide
    bits = make_encoder(enc).message_bits if enc else int(src.get("input_message_bits") or 0)
    imp.model.card = {**imp.model.card, "input_message_bits": bits}
    from neurodeploy import budget

    budget.check(budget.spike_trains(limit, int(np.prod(imp.model.input_shape)), T, 4),
                 f"{nir_path}: verification input ({limit} samples x {tuple(imp.model.input_shape)} x T={T})")
    x, desc = verification_input(imp.model, T, enc, ds_name, limit, seed, data_dir)
    v = verify(graph, imp, x, min_agreement, desc)
    if not v.passed:
        raise CheckFailedError(f"{nir_path}: the quantised NetX model agrees with the NIR reference on "
                               f"{v.prediction_agreement:.1%} of {v.samples} samples, below --min-agreement "
                               f"{min_agreement:.1%}; nothing written")
    card = dict(src)
    card.pop("verified", None)
    card.update({
        "format": "neurodeploy-model-card/1",
        "source": {"format": "NIR", "file": nir_path.name, "sha256": _sha256(nir_path),
                   "nir_version": _nir_version(nir_path),
                   "from_neurodeploy_export": bool(imp.source_card)},
        "imported": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "convention": {**asdict(imp.convention), "threshold": "v > theta (NIR and Lava)"},
        "quantisation": {"weights": "8-bit mantissa: vThMant = floor(254 / max|W/theta|) per layer, "
                                    "w = 2 round(W/theta vThMant/2); Lava's weight exponent per layer below (layers "
                                    "already in NetX values are stored exactly)",
                         "decays": "12-bit (fraction x 4096)", "layers": [l.to_dict() for l in imp.layers]},
        "approximate": bool(approximate), "approximations": list(imp.approximations),
        "steps": T, "input_shape": list(imp.model.input_shape), "input_message_bits": bits,
        "latency_steps": len(imp.model.synaptic_layers), "seed": int(seed),
        "nir_verified": v.to_dict(), "versions": versions(),
    })
    if enc:
        card["encoding"] = enc
        card["dataset"] = ds_name
    imp.model.card = card
    netx.write(imp.model, out_path)
    return ImportResult(path=Path(out_path), imported=imp, verification=v)
