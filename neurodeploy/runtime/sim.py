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
from neurodeploy.runtime.emu import EmuNet, check_spikes, compile_model
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


def lava_input_order(net: EmuNet, x: torch.Tensor) -> np.ndarray:
    """(N, *input_shape, T) uint8 -> (N, T, F) in the order of NetX's input port.

    A first conv layer takes Lava's (W, H, C); a first dense layer takes the C-major flattening
    of (C, H, W), the same as ``torch.flatten`` (what the emulator uses).
    """
    N, T = x.shape[0], x.shape[-1]
    if net.layers[0].kind == "conv":
        xt = x.permute(0, 4, 3, 2, 1)                  # (N, T, W, H, C)
    else:
        xt = x.permute(0, x.ndim - 1, *range(1, x.ndim - 1))
    return np.ascontiguousarray(xt.reshape(N, T, -1).numpy())


def _lava_shape_to_torch(a: np.ndarray, shape: tuple) -> np.ndarray:
    """(N, prod) in Lava (W, H, C) order -> (N, C, H, W); 1-d shapes unchanged."""
    N = a.shape[0]
    if len(shape) == 3:
        C, H, W = shape
        return a.reshape(N, W, H, C).transpose(0, 3, 2, 1)
    return a.reshape(N, *shape)


@dataclass
class _SimFiles:
    """The memory-mapped files the driver process and this one share (see ``lava_procs/driver.py``)."""

    counts: np.memmap                     # (N, T, C) output spikes per step
    result: np.memmap                     # (N, 2) prediction, exit step
    status: np.memmap                     # samples done, Lava steps, resets, start time (ns)
    layer_steps: np.memmap | None = None  # (N, T, L) spikes per layer and step (record)
    layer_neurons: np.memmap | None = None  # (N, sum of layer sizes) spikes per neuron (record)


def _write_inputs(workdir: str, net_emu: EmuNet, x: torch.Tensor, record: bool) -> tuple:
    """Write the inputs in Lava's order and create the result files; returns ``(files, F)``."""
    N, T = int(x.shape[0]), int(x.shape[-1])
    L, C = len(net_emu.layers), net_emu.num_classes
    xl = lava_input_order(net_emu, x)
    F = xl.shape[2]
    np.memmap(os.path.join(workdir, "x.u8"), dtype=np.uint8, mode="w+", shape=(N, T, F))[:] = xl
    del xl

    def mm(name, dtype, shape):
        return np.memmap(os.path.join(workdir, name), dtype=dtype, mode="w+", shape=shape)

    files = _SimFiles(counts=mm("counts.u8", np.uint8, (N, T, C)), result=mm("result.i64", np.int64, (N, 2)),
                      status=mm("status.i64", np.int64, (4,)))
    if record:
        files.layer_steps = mm("layer_steps.i32", np.int32, (N, T, L))
        files.layer_neurons = mm("layer_neurons.i32", np.int32, (N, int(sum(l.neurons for l in net_emu.layers))))
    return files, F


def _build_network(path: Path, L: int, F: int):
    """NetX's network for ``path``, checked; returns ``(net, state refs, output ports per layer)``."""
    from lava.lib.dl import netx

    try:
        with contextlib.redirect_stdout(sys.stderr):   # NetX prints weight-clipping warnings
            net = netx.hdf5.Network(net_config=str(path))
    except Exception as e:  # NetX raises assorted errors on files it cannot build
        raise netx_format.NetxFormatError(f"{path}: Lava NetX cannot build the network ({e})") from None
    if len(net.layers) != L:
        raise netx_format.NetxFormatError(f"{path}: NetX built {len(net.layers)} layers, expected {L}")
    refs, rec_ports = [], []
    for layer in net.layers:
        syn = layer.synapse
        buf = syn.a_buff if hasattr(syn, "a_buff") else syn.a_buf
        refs += [layer.neuron.u, layer.neuron.v, buf]
        rec_ports.append(layer.out)
    if int(np.prod(tuple(net.inp.shape))) != F:
        raise netx_format.NetxFormatError(f"{path}: NetX input port {tuple(net.inp.shape)} does not hold {F} values")
    return net, refs, rec_ports


def _attach_driver(net, refs: list, rec_ports: list, rule: ExitRule, N: int, T: int, L: int, C: int,
                   workdir: str, record: bool):
    """The :class:`SampleDriver` feeding ``net``, reading its output, resetting ``refs`` and recording."""
    from neurodeploy.runtime.lava_procs.driver import SampleDriver

    driver = SampleDriver(in_shape=tuple(net.inp.shape), num_classes=C, num_samples=N, num_steps=T,
                          latency=L, rule=rule.to_dict(), workdir=workdir,
                          ref_shapes=[r.shape for r in refs],
                          rec_shapes=[p.shape for p in rec_ports] if record else [])
    driver.s_out.connect(net.inp)
    out = net.out if len(net.out.shape) == 1 else net.out.flatten()
    out.connect(driver.a_in)
    for i, var in enumerate(refs):
        getattr(driver, f"ref_{i}").connect_var(var)
    if record:
        for k, port in enumerate(rec_ports):
            port.connect(getattr(driver, f"rec_{k}"))
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


def _run_all_samples(driver, status: np.memmap, N: int, T: int, L: int) -> None:
    """Run until the driver reports every sample done (a budget of N (T + L) + 2 steps per round)."""
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg

    cfg = Loihi2SimCfg(select_tag="fixed_pt")
    budget = N * (T + L) + 2
    rounds = 0
    while int(status[0]) < N:
        _run(driver, RunSteps(num_steps=budget), cfg)
        rounds += 1
        if rounds > 3:
            raise RuntimeError("Lava simulation did not finish all samples")


def _collect(files: _SimFiles, net_emu: EmuNet, wall: float, record: bool) -> SimResult:
    """The :class:`SimResult` from the shared files."""
    status, L = files.status, len(net_emu.layers)
    started = int(status[3]) / 1e9
    steady = max(0.0, time.time() - started) if started > 0 else None
    out_counts = torch.from_numpy(np.array(files.counts)).permute(0, 2, 1).contiguous()
    res = np.array(files.result)
    sim = SimResult(spikes=out_counts, prediction=res[:, 0].copy(), exit_step=res[:, 1].copy(),
                    lava_steps=int(status[1]), wall_time=wall,
                    info={"resets": int(status[2]), "latency": L,
                          "startup_s": (wall - steady) if steady is not None else None,
                          "simulate_s": steady})
    if record:
        sizes = [l.neurons for l in net_emu.layers]
        ls = np.array(files.layer_steps).astype(np.int64)
        ln = np.array(files.layer_neurons).astype(np.int64)
        offs = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
        sim.layer_steps = [ls[:, :, k] for k in range(L)]
        sim.layer_neurons = [_lava_shape_to_torch(ln[:, offs[k]:offs[k + 1]], net_emu.layers[k].out_shape)
                             for k in range(L)]
    return sim


def simulate(path, spikes, exit_rule="off", record: bool = False, progress=None,
             model: netx_format.NetxModel | None = None) -> SimResult:
    """Run ``spikes`` (N, *input_shape, T) of 0/1 through the NetX file ``path`` on Lava.

    ``exit_rule``: an :class:`ExitRule` or its text. ``progress``: optional callable receiving
    the number of finished samples (called from a watcher thread). Always stops the runtime.
    """
    path = Path(path)
    model = model or netx_format.read(path)
    net_emu = compile_model(model)
    rule = ExitRule.parse(exit_rule)
    x = check_spikes(spikes, net_emu.input_shape)
    N, T = int(x.shape[0]), int(x.shape[-1])
    L, C = len(net_emu.layers), net_emu.num_classes
    t0 = time.perf_counter()
    if N == 0:
        return SimResult(torch.zeros((0, C, T), dtype=torch.uint8), np.zeros(0, np.int64),
                         np.zeros(0, np.int64), 0, 0.0, [] if record else None, [] if record else None)

    from neurodeploy._lava_compat import import_slayer

    import_slayer()                       # quietly: it prints a notice on stdout
    workdir = tempfile.mkdtemp(prefix="neurodeploy-sim-")
    net = driver = watcher = None
    stop_watch = threading.Event()
    try:
        files, F = _write_inputs(workdir, net_emu, x, record)
        net, refs, rec_ports = _build_network(path, L, F)
        driver = _attach_driver(net, refs, rec_ports, rule, N, T, L, C, workdir, record)
        if progress is not None:
            watcher = _watch_progress(files.status, progress, stop_watch)
        _run_all_samples(driver, files.status, N, T, L)
        wall = time.perf_counter() - t0
        stop_watch.set()
        if progress is not None:
            progress(int(files.status[0]))
        return _collect(files, net_emu, wall, record)
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
