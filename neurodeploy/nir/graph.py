"""Reading, writing and walking NIR graphs: files in and out, and the chain of nodes from Input to Output.

neurodeploy runs feed-forward chains (Input -> op -> ... -> Output, every node with one
predecessor and one successor). A recurrent layer is, in NIR, a subgraph with a cycle
(snnTorch's RLeaky/RSynaptic: ``input -> lif -> w_rec -> lif -> output``); it is detected and
named here so that the importer can refuse it with one line until NetX's ``dense_rec`` lands.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from neurodeploy.atomic import atomic_path
from neurodeploy.errors import BadInputError


class NirImportError(BadInputError):
    """A NIR graph (or one node of it) that cannot become a NetX model; the message names the node."""


def read_graph(path):
    """``nir.read`` with every failure turned into one line naming the file (reading executes nothing)."""
    import h5py
    import nir

    path = Path(path)
    if not path.is_file():
        raise BadInputError(f"{path}: no such file")
    try:
        with h5py.File(path, "r") as f:
            if "node" not in f:
                raise BadInputError(f"{path}: not a NIR file (no '/node' group)")
    except OSError as e:
        raise BadInputError(f"{path}: not a readable HDF5 file ({str(e).split('(')[0].strip()})") from None
    try:
        graph = nir.read(path, type_check=False)   # exporters disagree on types; the importer checks shapes itself
    except BadInputError:
        raise
    except Exception as e:  # nir raises ValueError/KeyError/TypeError/AssertionError on malformed graphs
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise BadInputError(f"{path}: not a valid NIR graph ({msg})") from None
    if not isinstance(graph, nir.NIRGraph):
        raise BadInputError(f"{path}: holds a single {type(graph).__name__} node, not a NIR graph")
    return graph


def write_graph(graph, path) -> Path:
    """``nir.write`` atomically (no partial file on failure)."""
    import nir

    with atomic_path(path) as tmp:
        nir.write(tmp, graph)
    return Path(path)


def find_cycle(nodes, edges) -> list | None:
    """A list of node names forming a directed cycle, or None."""
    succ: dict = {n: [] for n in nodes}
    for a, b in edges:
        succ.setdefault(a, []).append(b)
    state: dict = {}
    stack: list = []

    def visit(n):
        state[n] = 1
        stack.append(n)
        for m in succ.get(n, []):
            if state.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if state.get(m) is None:
                found = visit(m)
                if found:
                    return found
        stack.pop()
        state[n] = 2
        return None

    for n in nodes:
        if state.get(n) is None:
            found = visit(n)
            if found:
                return found
    return None


def refuse_recurrence(graph) -> None:
    """Refuse recurrent subgraphs and cycles with one line naming the node.

    TODO(dense_rec): once ``neurodeploy.netx`` has a ``dense_rec`` layer, a subgraph
    ``input -> (CubaLIF|LIF) -> (Linear|Affine) w_rec -> same neuron -> output`` becomes one
    dense_rec layer (feed-forward weight from the node before the subgraph, recurrent weight
    ``w_rec`` folded with the same per-neuron gain and threshold scale as the input weight).
    """
    import nir

    for name, node in graph.nodes.items():
        if isinstance(node, nir.NIRGraph):
            cyc = find_cycle(list(node.nodes), node.edges)
            what = f"cycle {' -> '.join(cyc)}" if cyc else "a nested subgraph"
            raise NirImportError(f"node '{name}': recurrent subgraph ({what}) needs NetX's dense_rec layer, "
                                 f"which this version of neurodeploy.netx does not have yet")
    cyc = find_cycle(list(graph.nodes), graph.edges)
    if cyc:
        raise NirImportError(f"node '{cyc[0]}': recurrent connection (cycle {' -> '.join(cyc)}) needs NetX's "
                             f"dense_rec layer, which this version of neurodeploy.netx does not have yet")


def chain(graph) -> list:
    """The graph's nodes in order from its Input to its Output as ``[(name, node), ...]``.

    Refuses (naming the node) anything but one unbranched path that visits every node.
    """
    import nir

    refuse_recurrence(graph)
    nodes, edges = graph.nodes, list(graph.edges)
    for a, b in edges:
        for n in (a, b):
            if n not in nodes:
                raise NirImportError(f"edge ({a}, {b}) names node '{n}', which the graph does not have")
    inputs = [n for n, v in nodes.items() if isinstance(v, nir.Input)]
    outputs = [n for n, v in nodes.items() if isinstance(v, nir.Output)]
    if len(inputs) != 1 or len(outputs) != 1:
        raise NirImportError(f"the graph needs exactly one Input and one Output node, has {len(inputs)} and "
                             f"{len(outputs)}")
    succ: dict = {}
    pred: dict = {}
    for a, b in edges:
        succ.setdefault(a, []).append(b)
        pred.setdefault(b, []).append(a)
    for n in nodes:
        if len(succ.get(n, [])) > 1:
            raise NirImportError(f"node '{n}': branches to {', '.join(succ[n])} (only unbranched chains become "
                                 f"NetX models)")
        if len(pred.get(n, [])) > 1:
            raise NirImportError(f"node '{n}': merges inputs from {', '.join(pred[n])} (only unbranched chains "
                                 f"become NetX models)")
    order = [inputs[0]]
    while order[-1] != outputs[0]:
        nxt = succ.get(order[-1], [])
        if not nxt:
            raise NirImportError(f"node '{order[-1]}': has no successor; the chain never reaches Output "
                                 f"'{outputs[0]}'")
        order.append(nxt[0])
    left = [n for n in nodes if n not in order]
    if left:
        raise NirImportError(f"node '{left[0]}': not on the path from Input to Output")
    return [(n, nodes[n]) for n in order]


def shape_of(value, where: str) -> tuple:
    """A NIR type entry (array of ints) as a tuple; refuses undefined or non-integer shapes."""
    if value is None:
        raise NirImportError(f"{where}: shape is not defined in the graph")
    a = np.asarray(value).reshape(-1)
    if a.size == 0 or not np.all(np.isfinite(a.astype(np.float64))) or np.any(a < 1) \
            or not np.all(a.astype(np.float64) == np.round(a.astype(np.float64))):
        raise NirImportError(f"{where}: shape {a.tolist()} is not a list of positive integers")
    return tuple(int(x) for x in a)


def input_shape(name: str, node) -> tuple:
    """The shape an Input node feeds, without a batch dimension.

    NIR types exclude the batch; some exporters (Norse 1.1 with nirtorch 2) record a leading batch of
    1, as in (1, C, H, W) or (1, F): that leading 1 is dropped.
    """
    shape = shape_of(node.input_type.get("input") if isinstance(node.input_type, dict) else None, f"node '{name}'")
    if len(shape) in (2, 4) and shape[0] == 1:
        shape = shape[1:]
    return shape
