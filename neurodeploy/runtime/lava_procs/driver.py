"""``SampleDriver``: feeds a whole input set into a NetX network inside the Lava simulation,
decides early exit, and resets the network between samples — no host round trip per sample.

Per Lava step (``run_spk``) it sends the current sample's spikes for that step (zeros once the
sample's T steps are all sent), receives the output layer's spikes and, with recording on, every
layer's spikes. Output spikes at the sample's local Lava step ``lam`` belong to input step
``t = lam - L - 1`` (L synaptic layers, one step of latency each; see ``runtime/emu.py``).
When the exit rule passes at step t, or t = T - 1, the sample is finished: its prediction,
exit step (t + 1) and per-step counts are written, and in the following management phase
(``run_post_mgmt``) the driver writes zeros through RefPorts into every neuron's ``u`` and ``v``
and every synapse's one-step buffer, then starts the next sample on the next step. Steps the
sample would still have needed are never simulated. After the last sample it requests a pause
(``self._req_pause``), which returns control to the host's blocking ``run``.

Data go in and out through memory-mapped files in a work folder (Lava's ``Var.get``/``set``
move arrays one element per message, far too slow for result tables):

* ``x.i32``       int32 (N, T, F): input per step (spikes, graded values or a_in), F in the order
                  of the port it feeds; input mode ``bias``: (N, 1, F), the frame written into the
                  input neuron's ``bias_mant`` (RefPort ``bias_ref``) before each sample
* ``counts.i32``  int32 (N, T, C): output spikes or graded values per step (0 beyond the exit step)
* ``result.i64``  int64 (N, 2):    prediction, exit step
* ``status.i64``  int64 (4,):      samples finished, Lava steps run, resets done, reserved
* with recording, ``layer_steps.i32`` int32 (N, T, nL): spikes per layer and input step and
  ``layer_neurons.i32`` int32 (N, sum of layer sizes): spikes per neuron over the steps used,
  in each layer's Lava (W, H, C) order, layers concatenated.

This file must stay free of side effects at import time (Lava imports it while compiling).
"""
import os
import time

import numpy as np

from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort, PyOutPort, PyRefPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.process.ports.ports import InPort, OutPort, RefPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

MAX_REFS = 96     # RefPorts for state resets: u, v per layer and the synapse buffer
MAX_LAYERS = 32   # recording inputs, one per synaptic layer


class SampleDriver(AbstractProcess):
    """Source + early-exit controller + state resetter for one run over N samples.

    Parameters (all keyword): ``in_shape`` (the network's input port shape), ``num_classes``,
    ``num_samples``, ``num_steps`` (T), ``latency`` (L), ``rule`` (``ExitRule.to_dict()``),
    ``workdir`` (folder of the memory maps), ``ref_shapes`` (shape of every Var to reset, in
    the order they are connected to ``ref_0..``), ``rec_shapes`` (shape of every recorded
    layer, connected to ``rec_0..``; empty: no recording).
    """

    def __init__(self, *, in_shape, num_classes, num_samples, num_steps, latency, rule,
                 workdir, ref_shapes=(), rec_shapes=(), bias_ref=-1, **kwargs):
        ref_shapes = [tuple(int(x) for x in s) for s in ref_shapes]
        rec_shapes = [tuple(int(x) for x in s) for s in rec_shapes]
        if len(ref_shapes) > MAX_REFS or len(rec_shapes) > MAX_LAYERS:
            raise ValueError(f"at most {MAX_REFS // 3} synaptic layers are supported")
        super().__init__(in_shape=tuple(in_shape), num_classes=int(num_classes),
                         num_samples=int(num_samples), num_steps=int(num_steps),
                         latency=int(latency), rule=dict(rule), workdir=str(workdir),
                         ref_shapes=ref_shapes, rec_shapes=rec_shapes, bias_ref=int(bias_ref), **kwargs)
        self.s_out = OutPort(shape=tuple(in_shape))
        self.a_in = InPort(shape=(int(num_classes),))
        for i in range(MAX_REFS):
            setattr(self, f"ref_{i}", RefPort(shape=ref_shapes[i] if i < len(ref_shapes) else (1,)))
        for i in range(MAX_LAYERS):
            setattr(self, f"rec_{i}", InPort(shape=rec_shapes[i] if i < len(rec_shapes) else (1,)))
        self.finished = Var(shape=(1,), init=0)


@implements(proc=SampleDriver, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PySampleDriverModel(PyLoihiProcessModel):
    """Python model of :class:`SampleDriver` (see the module docstring)."""

    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=1)
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    for _i in range(MAX_REFS):
        locals()[f"ref_{_i}"] = LavaPyType(PyRefPort.VEC_DENSE, np.int32)
    for _i in range(MAX_LAYERS):
        locals()[f"rec_{_i}"] = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    del _i
    finished: np.ndarray = LavaPyType(np.ndarray, np.int64)

    def __init__(self, proc_params):
        super().__init__(proc_params)
        from neurodeploy.runtime.exit_rules import ExitRule  # numpy-only use inside Lava

        p = proc_params
        self.in_shape = tuple(p["in_shape"])
        self.C = p["num_classes"]
        self.N = p["num_samples"]
        self.T = p["num_steps"]
        self.L = p["latency"]
        self.rule = ExitRule(kind=p["rule"]["kind"], margin=p["rule"]["margin"],
                             confidence=p["rule"]["confidence"], min_steps=p["rule"]["min_steps"])
        self.rule_off = self.rule.is_off
        wd = p["workdir"]
        F = int(np.prod(self.in_shape))
        self.bias_ref = int(p["bias_ref"])
        self.x = np.memmap(os.path.join(wd, "x.i32"), dtype=np.int32, mode="r",
                           shape=(self.N, 1 if self.bias_ref >= 0 else self.T, F))
        self.counts = np.memmap(os.path.join(wd, "counts.i32"), dtype=np.int32, mode="r+",
                                shape=(self.N, self.T, self.C))
        self.result = np.memmap(os.path.join(wd, "result.i64"), dtype=np.int64, mode="r+",
                                shape=(self.N, 2))
        self.status = np.memmap(os.path.join(wd, "status.i64"), dtype=np.int64, mode="r+",
                                shape=(4,))
        self.ref_shapes = [tuple(s) for s in p["ref_shapes"]]
        self.zeros = [np.zeros(s, dtype=np.int32) for s in self.ref_shapes]
        self.rec_shapes = [tuple(s) for s in p["rec_shapes"]]
        self.refs, self.recs = None, None    # ports are attached after __init__
        self.record = bool(self.rec_shapes)
        if self.record:
            sizes = [int(np.prod(s)) for s in self.rec_shapes]
            self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
            total = int(self.offsets[-1])
            self.layer_steps = np.memmap(os.path.join(wd, "layer_steps.i32"), dtype=np.int32,
                                         mode="r+", shape=(self.N, self.T, len(sizes)))
            self.layer_neurons = np.memmap(os.path.join(wd, "layer_neurons.i32"), dtype=np.int32,
                                           mode="r+", shape=(self.N, total))
            self.neuron_buf = np.zeros((self.T, total), dtype=np.int32)
        self.zero_in = np.zeros(self.in_shape, dtype=np.int32)
        self.j = 0                     # current sample
        self.lam = 0                   # Lava steps since the sample started
        self.cum = np.zeros(self.C, dtype=np.int64)
        self.reset_pending = False
        self.all_done = self.N == 0
        self.steps_run = 0

    def run_spk(self):
        if self.refs is None:
            self.refs = [getattr(self, f"ref_{i}") for i in range(len(self.ref_shapes))]
            self.recs = [getattr(self, f"rec_{i}") for i in range(len(self.rec_shapes))]
        self.steps_run += 1
        if self.steps_run == 1:
            self.status[3] = time.time_ns()   # first simulated step: startup is over
        if self.all_done:
            self.s_out.send(self.zero_in)
            self.a_in.recv()
            for r in self.recs:
                r.recv()
            return
        self.lam += 1
        lam, j = self.lam, self.j
        if lam <= self.T and self.bias_ref < 0:
            self.s_out.send(self.x[j, lam - 1].reshape(self.in_shape))
        else:
            self.s_out.send(self.zero_in)
        o = self.a_in.recv()
        if self.record:
            for k, r in enumerate(self.recs, start=1):
                s = r.recv()
                tk = lam - k - 1
                if 0 <= tk < self.T:
                    flat = s.reshape(-1)
                    self.neuron_buf[tk, self.offsets[k - 1]:self.offsets[k]] = flat
                    self.layer_steps[j, tk, k - 1] = int(flat.sum())
        t = lam - self.L - 1
        if t < 0:
            return
        if o.any():
            self.counts[j, t] = o
            self.cum += o.astype(np.int64)
        if t == self.T - 1 or (not self.rule_off and bool(self.rule.passes(self.cum, t + 1)[0])):
            self._finish(j, t + 1)

    def _finish(self, j, exit_step):
        self.result[j, 0] = int(np.argmax(self.cum))   # first maximum: lowest class on ties
        self.result[j, 1] = exit_step
        if self.record:
            self.layer_neurons[j] = self.neuron_buf[:exit_step].sum(axis=0)
            self.layer_steps[j, exit_step:] = 0     # in-flight steps past the exit do not count
            self.neuron_buf[:] = 0
        self.j += 1
        self.lam = 0
        self.cum[:] = 0
        self.reset_pending = True
        self.status[0] = self.j
        self.status[1] = self.steps_run
        if self.j >= self.N:
            self.all_done = True

    def post_guard(self):
        return self.reset_pending

    def run_post_mgmt(self):
        for i, (ref, z) in enumerate(zip(self.refs, self.zeros)):
            if i == self.bias_ref and not self.all_done:
                z = self.x[self.j, 0].reshape(z.shape)    # the next sample's frame as bias_mant
            ref.write(z)
        for ref in self.refs:
            ref.wait()                 # a read: the writes above have landed
        self.reset_pending = False
        self.status[2] += 1
        if self.all_done:
            self.finished = np.array([self.N], dtype=np.int64)
            self._req_pause = True
