"""Run an exported NetX file on Lava's CPU simulator (``Loihi2SimCfg(select_tag='fixed_pt')``).

The network is built by ``lava.lib.dl.netx.hdf5.Network(net_config=path)`` exactly as exported.
One custom process, :class:`~neurodeploy.runtime.lava_procs.driver.SampleDriver`, holds the
whole input set inside the simulation, feeds one sample after the other, applies the early-exit
rule to the output spikes at every step and, when a sample is done, resets every neuron's
``u``/``v`` and every synapse's one-step buffer through RefPorts in the same Lava step's
management phase. The whole set therefore runs in one blocking ``run`` that the driver ends
with a pause request; the host only watches a progress counter.

Why not NetX's ``reset_interval``: its periodic, staggered resets assume every sample lasts
the same number of steps, which early exit breaks, and with an input layer that has no
neuron (what neurodeploy exports) its phase is one step early for the first layer. The driver
resets all state at once, so each sample starts from the zero state of a fresh network — the
convention :mod:`neurodeploy.runtime.emu` reproduces (step alignment: see there).

Measured on this (shared, 2-core) machine with a 784-64-10 net, T = 16: a host loop that
resets by ``Var.set`` (u, v, buffer of both layers) costs 8.6 ms per sample for the sets alone
(Lava moves arrays one element per message) on top of ~17 ms per ``run(RunSteps(18))``; the
RefPort reset inside the simulation was not measurable against step-time noise (300 samples
with and without it: 6.5-7.4 s either way). Steady state is ~1.2 ms per Lava step, i.e.
~45 samples/s at T = 16 without early exit; startup (imports, compile, process launch)
~0.5-3.5 s per call.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from neurodeploy import netx as netx_format
from neurodeploy.runtime.emu import EmuNet, check_input, compile_model
from neurodeploy.runtime.exit_rules import ExitRule


@dataclass
class SimResult:
    """Per-sample results of a Lava run.

    ``spikes``: output spikes per step, uint8 (N, C, T), zero after the exit step (not simulated).
    ``prediction``/``exit_step``: int64 (N,). ``lava_steps``: Lava time steps run in total.
    With ``record=True``: ``layer_steps`` — per synaptic layer, int64 (N, T) spike totals per
    input step (0 after the exit step); ``layer_neurons`` — per layer, int64 (N, *layer.shape)
    spikes per neuron over the steps used, PyTorch order. Alignment as in ``emu``.
    """

    spikes: torch.Tensor
    prediction: np.ndarray
    exit_step: np.ndarray
    lava_steps: int
    wall_time: float
    layer_steps: list | None = None
    layer_neurons: list | None = None
    info: dict = field(default_factory=dict)


def lava_input_order(net: EmuNet, x: torch.Tensor, port_shape: tuple | None = None) -> np.ndarray:
    """(N, *input_shape, T) -> (N, T, F) int32 in the order of the Lava port fed.

    A 3-d port (a first conv layer, an input neuron of a (C, H, W) input) takes Lava's (W, H, C);
    a flat port (a first dense layer) the C-major flattening of (C, H, W), the same as
    ``torch.flatten`` (what the emulator uses). Bias frames (N, *input_shape) give (N, 1, F).
    """
    if port_shape is None:
        port_shape = (0, 0, 0) if net.layers[0].kind == "conv" else (0,)
    if x.ndim == len(net.input_shape) + 1:                # bias frames: one "step"
        x = x.unsqueeze(-1)
    N, T = x.shape[0], x.shape[-1]
    if len(port_shape) == 3 and x.ndim == 5:
        xt = x.permute(0, 4, 3, 2, 1)                  # (N, T, W, H, C)
    else:
        xt = x.permute(0, x.ndim - 1, *range(1, x.ndim - 1))
    return np.ascontiguousarray(xt.reshape(N, T, -1).numpy().astype(np.int32))


def _lava_shape_to_torch(a: np.ndarray, shape: tuple) -> np.ndarray:
    """(N, prod) in Lava (W, H, C) order -> (N, C, H, W); 1-d shapes unchanged."""
    N = a.shape[0]
    if len(shape) == 3:
        C, H, W = shape
        return a.reshape(N, W, H, C).transpose(0, 3, 2, 1)
    return a.reshape(N, *shape)


def _state_vars(layer) -> list:
    """Every Var of a NetX block that carries state from one step to the next (reset per sample)."""
    out = []
    neuron = layer.neuron
    for name in ("u", "v", "sigma", "act", "residue", "error"):
        if hasattr(neuron, name):
            out.append(getattr(neuron, name))
    for syn_name in ("synapse", "synapse_rec"):
        syn = getattr(layer, syn_name, None)
        if syn is not None:
            out.append(syn.a_buff if hasattr(syn, "a_buff") else syn.a_buf)
    return out


def fixed_pt_run_config():
    """A RunConfig that picks every process's ``fixed_pt`` model directly (sub-process models for
    hierarchical blocks): what lava-dl's own NetX tests do, since ``Loihi2SimCfg`` refuses input blocks."""
    from lava.magma.core.model.sub.model import AbstractSubProcessModel
    from lava.magma.core.run_configs import RunConfig

    class FixedPtCfg(RunConfig):
        def __init__(self):
            super().__init__(custom_sync_domains=None)

        def select(self, proc, proc_models):
            subs = [m for m in proc_models if issubclass(m, AbstractSubProcessModel)]
            if subs:
                return subs[0]
            fixed = [m for m in proc_models if "fixed_pt" in getattr(m, "tags", [])]
            if not fixed:
                raise AssertionError(f"no fixed_pt model for {type(proc).__name__}")
            return fixed[0]

    return FixedPtCfg()


@dataclass
class _Plan:
    """What one simulation needs: the compiled emulator view, sizes and the input as Lava sees it."""

    net_emu: EmuNet
    x: torch.Tensor
    mode: str
    N: int
    T: int
    L: int
    C: int


def _plan(model, spikes, input_mode, steps) -> _Plan:
    net_emu = compile_model(model)
    x, mode, T = check_input(spikes, net_emu, input_mode, steps)
    return _Plan(net_emu, x, mode, int(x.shape[0]), T, len(net_emu.layers), net_emu.num_classes)


def _build_network(path: Path, plan: _Plan):
    """NetX's Network; with an input neuron fed ``spikes``, that neuron is skipped (``skip_layers``)."""
    from lava.lib.dl import netx

    skip = 1 if (plan.net_emu.input_layer is not None and plan.mode == "spikes") else 0
    try:
        with contextlib.redirect_stdout(sys.stderr):   # NetX prints weight-clipping warnings
            net = netx.hdf5.Network(net_config=str(path), skip_layers=skip,
                                    input_message_bits=plan.net_emu.input_bits)
    except Exception as e:  # NetX raises assorted errors on files it cannot build
        raise netx_format.NetxFormatError(f"{path}: Lava NetX cannot build the network ({e})") from None
    has_input = plan.net_emu.input_layer is not None and not skip
    if len(net.layers) != plan.L + int(has_input):
        raise netx_format.NetxFormatError(f"{path}: NetX built {len(net.layers)} layers, expected {plan.L}")
    return net, (net.layers[0] if has_input else None), list(net.layers[int(has_input):])


@dataclass
class _SimFiles:
    """The memory-mapped files the driver process and this one share (see ``lava_procs/driver.py``)."""

    x: np.memmap                          # (N, T, F) int32 input in the order of the Lava port fed
    counts: np.memmap                     # (N, T, C) output spikes (graded values) per step
    result: np.memmap                     # (N, 2) prediction, exit step
    status: np.memmap                     # samples done, Lava steps, resets, start time (ns)
    layer_steps: np.memmap | None = None  # (N, T, L) spikes per layer and step (record)
    layer_neurons: np.memmap | None = None  # (N, sum of layer sizes) spikes per neuron (record)


def _write_inputs(workdir: str, path: Path, plan: _Plan, port_shape: tuple, record: bool) -> _SimFiles:
    """Write the input in the order of the port fed (checked against its size) and create the result files."""
    xl = lava_input_order(plan.net_emu, plan.x, port_shape)
    F = xl.shape[2]
    if int(np.prod(port_shape)) != F:
        raise netx_format.NetxFormatError(f"{path}: NetX input port {port_shape} does not hold {F} values")

    def mm(name, dtype, shape):
        return np.memmap(os.path.join(workdir, name), dtype=dtype, mode="w+", shape=shape)

    N, T, L, C = plan.N, plan.T, plan.L, plan.C
    files = _SimFiles(x=mm("x.i32", np.int32, xl.shape), counts=mm("counts.i32", np.int32, (N, T, C)),
                      result=mm("result.i64", np.int64, (N, 2)), status=mm("status.i64", np.int64, (4,)))
    files.x[:] = xl
    files.x.flush()                       # the driver maps the file in its own process
    if record:
        files.layer_steps = mm("layer_steps.i32", np.int32, (N, T, L))
        files.layer_neurons = mm("layer_neurons.i32", np.int32, (N, int(sum(l.neurons for l in plan.net_emu.layers))))
    return files


def _reset_refs(in_block, blocks: list, mode: str, first_frame: np.ndarray) -> tuple:
    """``(state Vars the driver resets per sample, index of the input neuron's bias_mant or -1)``.

    In ``bias`` mode the driver also writes each sample's frame into the input neuron's ``bias_mant``
    (the first sample's is its initial value)."""
    refs = [var for layer in blocks for var in _state_vars(layer)]
    bias_ref = -1
    if in_block is not None:
        refs += _state_vars(in_block)
        if mode == "bias":
            bias_ref = len(refs)
            refs.append(in_block.neuron.bias_mant)
            in_block.neuron.bias_mant.init = first_frame.reshape(in_block.neuron.bias_mant.shape)
    return refs, bias_ref


def _attach_driver(net, port, refs: list, bias_ref: int, rec_ports: list, rule: ExitRule, plan: _Plan,
                   workdir: str, record: bool):
    """The :class:`SampleDriver` feeding ``port``, reading the output, resetting ``refs`` and recording."""
    from neurodeploy.runtime.lava_procs.driver import SampleDriver

    driver = SampleDriver(in_shape=tuple(port.shape), num_classes=plan.C, num_samples=plan.N, num_steps=plan.T,
                          latency=plan.L, rule=rule.to_dict(), workdir=workdir,
                          ref_shapes=[r.shape for r in refs],
                          rec_shapes=[p.shape for p in rec_ports] if record else [], bias_ref=bias_ref)
    driver.s_out.connect(port)
    out = net.out if len(net.out.shape) == 1 else net.out.flatten()
    out.connect(driver.a_in)
    for i, var in enumerate(refs):
        getattr(driver, f"ref_{i}").connect_var(var)
    if record:
        for k, p in enumerate(rec_ports):
            p.connect(getattr(driver, f"rec_{k}"))
    return driver


def _watch_progress(status: np.memmap, progress, stop: threading.Event) -> threading.Thread:
    """A daemon thread calling ``progress(samples done)`` whenever the count changes."""
    def watch():
        last = -1
        while not stop.wait(0.2):
            done = int(status[0])
            if done != last:
                progress(done)
                last = done
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    return watcher


def _run_all_samples(driver, status: np.memmap, plan: _Plan, input_block: bool) -> None:
    """Run until the driver reports every sample done (a budget of N (T + L) + 2 steps per round);
    a network with an input block needs the run config that picks ``fixed_pt`` models directly."""
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg

    cfg = fixed_pt_run_config() if input_block else Loihi2SimCfg(select_tag="fixed_pt")
    budget = plan.N * (plan.T + plan.L) + 2
    rounds = 0
    while int(status[0]) < plan.N:
        _run(driver, RunSteps(num_steps=budget), cfg)
        rounds += 1
        if rounds > 3:
            raise RuntimeError("Lava simulation did not finish all samples")


def _collect(files: _SimFiles, plan: _Plan, wall: float, record: bool, out_dtype) -> SimResult:
    """The :class:`SimResult` from the shared files."""
    status, L = files.status, plan.L
    started = int(status[3]) / 1e9
    steady = max(0.0, time.time() - started) if started > 0 else None
    out_counts = torch.from_numpy(np.array(files.counts)).permute(0, 2, 1).contiguous().to(out_dtype)
    res = np.array(files.result)
    sim = SimResult(spikes=out_counts, prediction=res[:, 0].copy(), exit_step=res[:, 1].copy(),
                    lava_steps=int(status[1]), wall_time=wall,
                    info={"resets": int(status[2]), "latency": L,
                          "startup_s": (wall - steady) if steady is not None else None,
                          "simulate_s": steady})
    if record:
        sizes = [l.neurons for l in plan.net_emu.layers]
        ls = np.array(files.layer_steps).astype(np.int64)
        ln = np.array(files.layer_neurons).astype(np.int64)
        offs = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
        sim.layer_steps = [ls[:, :, k] for k in range(L)]
        sim.layer_neurons = [_lava_shape_to_torch(ln[:, offs[k]:offs[k + 1]], plan.net_emu.layers[k].out_shape)
                             for k in range(L)]
    return sim


def simulate(path, spikes, exit_rule="off", record: bool = False, progress=None,
             model: netx_format.NetxModel | None = None, input_mode: str | None = None,
             steps: int | None = None) -> SimResult:
    """Run ``spikes`` (N, *input_shape, T) through the NetX file ``path`` on Lava.

    ``input_mode``/``steps``: as in :func:`neurodeploy.runtime.emu.check_input` (default: spikes,
    or ``a_in`` for a file whose first layer has its own neuron). ``exit_rule``: an
    :class:`ExitRule` or its text. ``progress``: optional callable receiving the number of finished
    samples (called from a watcher thread). Always stops the runtime.
    """
    path = Path(path)
    model = model or netx_format.read(path)
    rule = ExitRule.parse(exit_rule)
    plan = _plan(model, spikes, input_mode, steps)
    out_dtype = torch.int64 if plan.net_emu.graded_output else torch.uint8
    t0 = time.perf_counter()
    if plan.N == 0:
        return SimResult(torch.zeros((0, plan.C, plan.T), dtype=out_dtype), np.zeros(0, np.int64),
                         np.zeros(0, np.int64), 0, 0.0, [] if record else None, [] if record else None)

    from neurodeploy._lava_compat import import_slayer

    import_slayer()                       # quietly: it prints a notice on stdout
    workdir = tempfile.mkdtemp(prefix="neurodeploy-sim-")
    net = driver = watcher = None
    stop_watch = threading.Event()
    try:
        net, in_block, blocks = _build_network(path, plan)
        port = in_block.neuron.a_in if in_block is not None else net.inp
        files = _write_inputs(workdir, path, plan, tuple(port.shape), record)
        refs, bias_ref = _reset_refs(in_block, blocks, plan.mode, np.array(files.x[0, 0]))
        driver = _attach_driver(net, port, refs, bias_ref, [layer.out for layer in blocks], rule, plan, workdir,
                                record)
        if progress is not None:
            watcher = _watch_progress(files.status, progress, stop_watch)
        _run_all_samples(driver, files.status, plan, in_block is not None)
        wall = time.perf_counter() - t0
        stop_watch.set()
        if progress is not None:
            progress(int(files.status[0]))
        return _collect(files, plan, wall, record, out_dtype)
    finally:
        stop_watch.set()
        if watcher is not None:
            watcher.join(timeout=2)
        if net is not None:
            _stop(driver if driver is not None else net)
        shutil.rmtree(workdir, ignore_errors=True)


def _stop(proc) -> None:
    """Stop the runtime of ``proc`` (the process ``run`` was called on holds it)."""
    rt = getattr(proc, "runtime", None)
    if rt is None:
        return
    try:
        proc.stop()
    except Exception:  # a runtime that failed to start has nothing left to stop
        pass


def _run(proc, condition, cfg) -> None:
    """``proc.run`` with the model processes' exceptions in the message (Lava only logs them)."""
    try:
        proc.run(condition=condition, run_cfg=cfg)
    except RuntimeError as e:
        details = []
        rt = getattr(proc, "runtime", None)
        infra = getattr(rt, "_messaging_infrastructure", None)
        for actor in getattr(infra, "actors", []) or []:
            try:
                exc = actor.exception
            except Exception:
                exc = None
            if exc:
                tb = str(exc[1]).strip().splitlines()
                details.append(tb[-1] if tb else str(exc[0]))
        raise RuntimeError(f"Lava simulation failed: {'; '.join(details) or e}") from e


def ensure_netx_buildable(path) -> None:
    """Raise NetxFormatError if Lava NetX cannot build ``path`` (no simulation)."""
    from neurodeploy._lava_compat import import_slayer

    import_slayer()
    from lava.lib.dl import netx
    try:
        with contextlib.redirect_stdout(sys.stderr):
            netx.hdf5.Network(net_config=str(path))
    except Exception as e:
        raise netx_format.NetxFormatError(f"{path}: Lava NetX cannot build the network ({e})") from None
