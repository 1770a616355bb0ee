"""NIR in and out: NetX <-> NIR graphs, a float reference simulation of NIR, and import verification.

``to_nir(model)`` (NetX -> NIR, exact), ``from_nir(graph)`` (NIR -> NetX with quantisation),
``simulate(graph, spikes)`` (float forward Euler in the documented convention) and
``verify(...)`` (reference vs the emulated NetX artifact). The dt convention and the
fixed <-> float mapping are in :mod:`neurodeploy.nir.convention`.
"""
from neurodeploy.nir.convention import Convention
from neurodeploy.nir.from_nir import Imported, ImportedLayer, from_nir
from neurodeploy.nir.graph import NirImportError, read_graph, write_graph
from neurodeploy.nir.to_nir import NirExportError, to_nir

__all__ = ["Convention", "Imported", "ImportedLayer", "from_nir", "NirImportError", "read_graph", "write_graph",
           "NirExportError", "to_nir"]
