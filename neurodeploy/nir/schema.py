"""The NIR file schema, checked on the HDF5 file before ``nir.read`` loads any array.

A NIR file is ``/node`` = a graph: ``type`` ("NIRGraph"), ``nodes/<name>/`` (one group per node,
each with a string ``type`` and its fields as datasets; a nested graph has the same layout),
``edges`` (E, 2) strings, ``metadata/`` (strings or numbers). Checked here, per node and field:

* every node has a string ``type`` that nir knows, and Linear/Affine/Conv weights have the rank
  nir's constructors assume; a graph's ``nodes`` is a group, ``edges`` is (E, 2) strings;
* a field is a number array (bool, int, float) or text; anything else (compound, complex,
  references, opaque bytes) is refused;
* float fields are finite (no NaN, no ±inf: every time constant, gain and weight enters the
  quantisation arithmetic);
* the declared sizes, summed over all fields, fit the memory budget (:mod:`neurodeploy.budget`)
  before a byte is read: a field may declare 100,000 x 100,000 floats and store none.

Each failure is one line, ``FILE: node 'NAME': 'FIELD' PROBLEM`` (via :func:`schemas.checks.fail`).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from neurodeploy import budget
from neurodeploy.errors import BadInputError
from neurodeploy.schemas import checks as c

MAX_DEPTH = 16          # nested subgraphs (nirtorch nests one level per module)
MAX_NODES = 100_000
RANKS = {"Linear": {"weight": 2}, "Affine": {"weight": 2, "bias": 1}, "Conv1d": {"weight": 3},
         "Conv2d": {"weight": 4}}   # the array ranks nir's constructors assume (they fail on others)


def _node_types() -> set:
    """The node type names this nir version can build (the subclasses of ``nir.NIRNode``)."""
    import nir

    found, todo = set(), [nir.NIRNode]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub.__name__ not in found:
                found.add(sub.__name__)
                todo.append(sub)
    return found


def _is_text(ds) -> bool:
    return ds.dtype.kind in ("S", "U") or (ds.dtype.kind == "O" and ds.dtype.metadata is not None
                                            and ds.dtype.metadata.get("vlen") in (str, bytes))


def _declared_bytes(group) -> int:
    import h5py

    total = 0

    def add(_, obj):
        nonlocal total
        if isinstance(obj, h5py.Dataset):
            total += int(np.prod(obj.shape or (1,), dtype=np.float64)) * max(obj.dtype.itemsize, 1)
    group.visititems(add)
    return total


def _check_field(ds, where: str, field: str) -> None:
    if _is_text(ds):
        if ds.size > 1_000_000:
            raise c.fail(where, field, f"is text of {ds.size} entries (at most 1000000)")
        return
    if ds.dtype.kind not in ("b", "i", "u", "f"):
        raise c.fail(where, field, f"must be numbers or text, is HDF5 type {ds.dtype}")
    if ds.dtype.kind == "f":
        a = ds[()]
        if not np.all(np.isfinite(a)):
            raise c.fail(where, field, "holds NaN or inf")


def _check_graph(g, source: str, prefix: str, depth: int, known: set | None = None) -> None:
    import h5py

    known = known if known is not None else _node_types()

    if depth > MAX_DEPTH:
        raise BadInputError(f"{source}: node '{prefix}': subgraphs nested deeper than {MAX_DEPTH}")
    where = f"{source}: node '{prefix}'" if prefix else f"{source}: graph"
    nodes = g.get("nodes")
    if not isinstance(nodes, h5py.Group):
        raise c.fail(where, "nodes", "is missing or not a group")
    if len(nodes) > MAX_NODES:
        raise c.fail(where, "nodes", f"has {len(nodes)} nodes (at most {MAX_NODES})")
    edges = g.get("edges")
    if not isinstance(edges, h5py.Dataset):
        raise c.fail(where, "edges", "is missing or not a dataset")
    if edges.size and (not _is_text(edges) or edges.ndim != 2 or edges.shape[1] != 2):
        raise c.fail(where, "edges", f"must be (E, 2) node names, is {edges.shape} {edges.dtype}")
    for name, node in nodes.items():
        full = f"{prefix}.{name}" if prefix else name
        here = f"{source}: node '{full}'"
        if not isinstance(node, h5py.Group):
            raise BadInputError(f"{here}: is not a group of fields")
        t = node.get("type")
        if not isinstance(t, h5py.Dataset) or not _is_text(t) or t.shape != ():
            raise c.fail(here, "type", "is missing or not a string")
        kind = t[()]
        kind = kind.decode("utf8", "replace") if isinstance(kind, bytes) else str(kind)
        if kind == "NIRGraph":
            _check_graph(node, source, full, depth + 1, known)
            continue
        if kind not in known:
            raise c.fail(here, "type", f"= '{kind:.40}' is not a NIR node type (known: {', '.join(sorted(known))})")
        for field, rank in RANKS.get(kind, {}).items():
            ds = node.get(field)
            if isinstance(ds, h5py.Dataset) and ds.ndim != rank:
                raise c.fail(here, field, f"of {kind} must have {rank} dimensions, has shape {ds.shape}")
        for field, ds in node.items():
            if isinstance(ds, h5py.Group):   # dict-valued fields (a Linear's type maps): check their leaves
                for sub, leaf in ds.items():
                    if not isinstance(leaf, h5py.Dataset):
                        raise c.fail(here, f"{field}.{sub}", "is nested too deeply")
                    _check_field(leaf, here, f"{field}.{sub}")
            else:
                _check_field(ds, here, field)


def check_file(path) -> None:
    """Refuse (one line naming the file, node and field) a NIR file that ``nir.read`` must not load."""
    import h5py

    source = str(path)
    with h5py.File(Path(path), "r") as f:
        root = f.get("node")
        if not isinstance(root, h5py.Group):
            raise BadInputError(f"{source}: not a NIR file (no '/node' group)")
        biggest = max(((ds.name, int(np.prod(ds.shape or (1,), dtype=np.float64)) * ds.dtype.itemsize, ds.shape)
                       for ds in _datasets(root)), key=lambda x: x[1], default=None)
        total = _declared_bytes(root)
        if biggest is not None:
            budget.check(total, f"{source}: the graph's arrays (largest {biggest[0]} {tuple(biggest[2])})")
        _check_graph(root, source, "", 0)


def _datasets(group):
    import h5py

    out = []
    group.visititems(lambda _, o: out.append(o) if isinstance(o, h5py.Dataset) else None)
    return out
