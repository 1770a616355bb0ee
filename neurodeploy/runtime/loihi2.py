"""Run an exported NetX file on a Loihi 2 chip (needs Intel's lava-loihi extension).

``available()`` tells whether this machine can; :func:`run_loihi2` raises
:class:`~neurodeploy.errors.UnavailableError` (exit code 2) with one line saying what is missing
when it cannot. ``--backend sim`` runs the same network on Lava's CPU simulator.

On the chip the graph is the one ``sim`` builds, except that samples are streamed back to back
with NetX's own periodic reset (custom Python processes cannot reset neurocore state): every
sample occupies R Lava steps, R the smallest power of two >= T (the hardware's reset interval
must be a power of two); ``reset_offset=1`` makes layer k reset exactly at the step where the
sample's first input step reaches it, which gives the step alignment of ``emu``/``sim``
(output step t of sample j at Lava step ``j R + t + L + 1``). The exit rule is then applied to
the recorded output spikes, so exit steps and predictions are those of an early-exit run, but
the chip still runs all R steps per sample. Biased networks differ from ``sim`` in the first L
steps (no pre-roll). This path has not been run on hardware by neurodeploy's authors.
"""
from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import numpy as np
import torch

from neurodeploy.errors import UnavailableError, UsageError

_NC_COMPILER = "lava.magma.compiler.subcompilers.nc.ncproc_compiler"
_HINT = "`--backend sim` runs the same model on Lava's CPU simulator"


def missing() -> str | None:
    """None when Loihi 2 can be used here, else a short reason."""
    try:
        if importlib.util.find_spec("lava.magma.core.run_configs") is None:
            return "Lava (lava-nc) is not installed"
    except (ImportError, ValueError):
        return "Lava (lava-nc) is not installed"
    try:
        from lava.magma.core.run_configs import Loihi2HwCfg  # noqa: F401
    except Exception as e:  # noqa: BLE001
        return f"Lava's Loihi2HwCfg cannot be imported ({type(e).__name__})"
    try:
        found = importlib.util.find_spec(_NC_COMPILER) is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        return "the Loihi 2 runtime (Intel's lava-loihi extension, for research partners) is not installed"
    try:
        from lava.utils.system import Loihi2
        if not Loihi2.is_loihi2_available:
            return "lava.utils.system.Loihi2 reports no Loihi 2 system"
    except Exception as e:  # noqa: BLE001
        return f"Loihi 2 availability check failed ({type(e).__name__}: {e})"
    return None


def reset_interval(steps: int) -> int:
    """R: the Lava steps one sample of T steps occupies on the chip (a power of two >= T)."""
    r = 1
    while r < int(steps):
        r *= 2
    return r


def available() -> bool:
    return missing() is None


def require() -> None:
    """Raise UnavailableError (one line) if Loihi 2 cannot be used here."""
    why = missing()
    if why:
        raise UnavailableError(f"backend 'loihi2' is unavailable: {why}; {_HINT}")


def run_loihi2(path, spikes, exit_rule="off", progress=None, model=None):
    """Run ``spikes`` (N, *input_shape, T) through ``path`` on Loihi 2; returns a ``SimResult``."""
    from neurodeploy import netx as netx_format

    model = model or netx_format.read(path)
    if model.input_message_bits:  # the chip's input adapter for graded payloads is untried without hardware
        raise UsageError(f"{path}: {model.input_message_bits}-bit graded input is not wired to the Loihi 2 "
                         "input adapter here; run it with --backend emu or sim")
    require()
    from neurodeploy.runtime.emu import check_spikes, compile_model
    from neurodeploy.runtime.exit_rules import apply_exit_rule
    from neurodeploy.runtime.sim import SimResult, lava_input_order

    from lava.lib.dl import netx
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2HwCfg
    from lava.proc import embedded_io as eio
    from lava.proc.io.sink import RingBuffer as Sink
    from lava.proc.io.source import RingBuffer as Source

    path = Path(path)
    emu_net = compile_model(model)
    x = check_spikes(spikes, emu_net.input_shape)
    N, T = int(x.shape[0]), int(x.shape[-1])
    L, C = len(emu_net.layers), emu_net.num_classes
    R = reset_interval(T)
    t0 = time.perf_counter()
    xl = lava_input_order(emu_net, x)                            # (N, T, F)
    stream = np.zeros((N * R + L + 1, xl.shape[2]), dtype=np.int32)
    for j in range(N):
        stream[j * R:j * R + T] = xl[j]
    net = netx.hdf5.Network(net_config=str(path), reset_interval=R, reset_offset=1)
    src = Source(data=stream.T.reshape(*net.inp.shape, -1))     # rows of xl are in port order
    sink = Sink(shape=net.out.shape, buffer=stream.shape[0])
    inp_adapter = eio.spike.PyToNxAdapter(shape=net.inp.shape)
    out_adapter = eio.spike.NxToPyAdapter(shape=net.out.shape)
    src.s_out.connect(inp_adapter.inp)
    inp_adapter.out.connect(net.inp)
    net.out.connect(out_adapter.inp)
    out_adapter.out.connect(sink.a_in)
    try:
        src.run(condition=RunSteps(num_steps=stream.shape[0]), run_cfg=Loihi2HwCfg())
        out = np.asarray(sink.data.get()).reshape(C, -1)          # (C, steps)
    finally:
        src.stop()
    counts = np.zeros((N, C, T), dtype=np.uint8)
    for j in range(N):
        lo = j * R + L                                           # Lava step j R + L + 1, 0-based
        counts[j] = out[:, lo:lo + T] != 0
    counts_t = torch.from_numpy(counts)
    exit_step, pred = apply_exit_rule(counts_t, exit_rule)
    mask = torch.arange(T)[None, None, :] < exit_step[:, None, None]
    if progress is not None:
        progress(N)
    return SimResult(spikes=(counts_t * mask).to(torch.uint8), prediction=pred.numpy(),
                     exit_step=exit_step.numpy(), lava_steps=int(stream.shape[0]),
                     wall_time=time.perf_counter() - t0, info={"reset_interval": R, "latency": L})
