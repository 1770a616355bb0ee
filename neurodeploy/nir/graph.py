"""Reading, writing and walking NIR graphs: files in and out, and the chain of nodes from Input to Output.

neurodeploy runs feed-forward chains (Input -> op -> ... -> Output, every node with one
predecessor and one successor). A recurrent layer is, in NIR, a subgraph with a cycle
(snnTorch's RLeaky/RSynaptic: ``input -> lif -> w_rec -> lif -> output``, which nirtorch may inline
as ``1.lif``, ``1.w_rec``); subgraphs are inlined here and each neuron's own recurrent weight is set
aside (:class:`Chain`): the reference simulates it and the importer makes the layer a NetX ``dense_rec``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
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
    from neurodeploy.nir.schema import check_file

    check_file(path)   # types, finiteness and the memory budget before nir.read loads any array
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


NEURON_TYPES = ("CubaLIF", "LIF", "IF")


def inline_subgraphs(graph) -> tuple:
    """``(nodes, edges)`` with every nested ``NIRGraph`` node inlined as ``sub.node`` (its own Input and
    Output dropped, the outer edges joined to what they fed and what fed them)."""
    import nir

    nodes: dict = {}
    edges: list = []
    entry: dict = {}
    exit_: dict = {}
    for name, node in graph.nodes.items():
        if not isinstance(node, nir.NIRGraph):
            nodes[name] = node
            continue
        inner_nodes, inner_edges = inline_subgraphs(node)
        ins = [n for n, v in inner_nodes.items() if isinstance(v, nir.Input)]
        outs = [n for n, v in inner_nodes.items() if isinstance(v, nir.Output)]
        if len(ins) != 1 or len(outs) != 1:
            raise NirImportError(f"node '{name}': a subgraph needs one Input and one Output node")
        io = (ins[0], outs[0])
        nodes.update({f"{name}.{n}": v for n, v in inner_nodes.items() if n not in io})
        entry[name] = [f"{name}.{b}" for a, b in inner_edges if a == ins[0] and b != outs[0]]
        exit_[name] = [f"{name}.{a}" for a, b in inner_edges if b == outs[0] and a != ins[0]]
        edges += [(f"{name}.{a}", f"{name}.{b}") for a, b in inner_edges if a not in io and b not in io]
    for a, b in graph.edges:
        edges += [(x, y) for x in exit_.get(a, [a]) for y in entry.get(b, [b])]
    return nodes, edges


def split_recurrence(nodes: dict, edges: list) -> tuple:
    """Take out each neuron's own recurrent weight (a 2-cycle ``neuron -> Linear|Affine -> same neuron``,
    snnTorch's RLeaky/RSynaptic); returns ``(edges without them, {neuron: (weight name, weight node)})``.
    Any other cycle is refused with one line naming a node of it."""
    succ: dict = {}
    pred: dict = {}
    for a, b in edges:
        succ.setdefault(a, []).append(b)
        pred.setdefault(b, []).append(a)
    rec: dict = {}
    for w, node in nodes.items():
        if type(node).__name__ in ("Linear", "Affine") and len(pred.get(w, [])) == 1 and succ.get(w) == pred[w] \
                and type(nodes.get(pred[w][0])).__name__ in NEURON_TYPES:
            if pred[w][0] in rec:
                raise NirImportError(f"node '{pred[w][0]}': two recurrent weights ({rec[pred[w][0]][0]}, {w})")
            rec[pred[w][0]] = (w, node)
    weights = {w for w, _ in rec.values()}
    edges = [(a, b) for a, b in edges if a not in weights and b not in weights]
    cyc = find_cycle(list(nodes), edges)
    if cyc:
        raise NirImportError(f"node '{cyc[0]}': recurrent connection (cycle {' -> '.join(cyc)}) other than a "
                             f"neuron's own weight; NetX cannot express it")
    return edges, rec


@dataclass
class Chain:
    """A graph as neurodeploy runs it: ``nodes`` [(name, node)] from Input to Output, and each neuron's
    own recurrent weight, ``recurrent`` {neuron name: (weight name, weight node)}: its spikes of step
    t − 1 feed its input at step t."""

    nodes: list
    recurrent: dict = field(default_factory=dict)


def walk(graph) -> Chain:
    """The graph's unbranched chain from its Input to its Output (subgraphs inlined, recurrent weights
    set aside); refuses anything else with one line naming the node."""
    import nir

    nodes, edges = inline_subgraphs(graph)
    for a, b in edges:
        for n in (a, b):
            if n not in nodes:
                raise NirImportError(f"edge ({a}, {b}) names node '{n}', which the graph does not have")
    edges, rec = split_recurrence(nodes, edges)
    weights = {w for w, _ in rec.values()}
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
    left = [n for n in nodes if n not in order and n not in weights]
    if left:
        raise NirImportError(f"node '{left[0]}': not on the path from Input to Output")
    return Chain(nodes=[(n, nodes[n]) for n in order], recurrent=rec)


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
