"""Fast CUBA neuron dynamics for training, numerically identical to lava-dl 0.6's SLAYER CUBA neuron.

lava-dl computes both leaky integrators of a CUBA neuron with a Python loop over time on
time-last tensors (each step: a strided slice, ~10 small tensor operations, twice), forward and
backward, then its spike function with ~8 more passes over the voltage. :class:`FastCubaNeuron`
computes the same thing in fused C++ loops (:mod:`neurodeploy.models.cuba_ext`, built at first
use); with θ the threshold, ε = 0.01/s, s = 4096 and rstz the right shift rounding toward zero::

    U[t] = rstz(U[t-1] (4096 - d_u)) + ⌊s z[t]⌋₀ ,  u[t] = U[t]/s
    V[t] = rstz(V'[t-1] (4096 - d_v)) + ⌊s u[t]⌋₀ ,  v[t] = V[t]/s ,  V'[t] = V[t] (1 - [V[t] ≥ (θ+ε)s])
    s[t] = [v[t] ≥ θ + ε] ,  ∂s/∂v = scale/(2τ) exp(-|v - θ - ε|/τ)    (SLAYER's surrogate)

Forward states and spikes, and the gradients w.r.t. inputs, weights and (when they learn) decays
are bit for bit lava-dl's: the same float32 operations in the same order, integer arithmetic as
integers, and torch's own ``exp`` on a tensor of the same size (or, where torch's exp is one
function of the value, that function inside the kernel: :func:`exp_fused`). The synapse (lava-dl's
conv3d) is untouched, so its weight gradients are lava-dl's by construction; its weight pre-hook
(``quantize_8bit``) is fused into one pass each way, with the same values and gradient.

``NEURODEPLOY_DYNAMICS=stock|fast`` (default ``fast``), read at every forward pass, selects the
path; ``stock`` is lava-dl's own code. Anything the fast path does not cover (persistent state,
per-channel decays, normalisation, graded spikes, a non-CPU device, float64) and a failed build
(one warning line) run the stock path. Attack-time gradient patches
(:mod:`neurodeploy.attacks.gradients`) are honoured: a patched ``tau_rho`` is read at every
call, a patched ``spike`` (or dropout) is applied to the fast voltage, a patched ``forward``
replaces this one (and its stock call of ``type(neuron).forward`` is the fast path again).
"""
from __future__ import annotations

import math
import os

import torch

from neurodeploy.errors import UsageError

MODES = ("fast", "stock")


def dynamics_mode() -> str:
    """``NEURODEPLOY_DYNAMICS`` (``fast`` unless set)."""
    mode = os.environ.get("NEURODEPLOY_DYNAMICS", "fast").strip().lower() or "fast"
    if mode not in MODES:
        raise UsageError(f"NEURODEPLOY_DYNAMICS='{mode}' is not one of {', '.join(MODES)}")
    return mode


def _ext():
    from neurodeploy.models.cuba_ext import extension

    return extension()


_EXP_FUSED: list = []


def exp_fused() -> bool:
    """Whether the spike backward computes the surrogate's exp inside its kernel instead of calling torch.exp.

    torch.exp on float32 CPU tensors runs MKL VML's ``vmsExp`` (high accuracy, denormals kept) over
    the tensor's memory; the kernel calls that same exported routine, in the same mode, on each tile
    of arguments. It gives torch.exp's bits for every float32 a ≤ 0 (the surrogate's arguments are
    -|v - θ|/τ ≤ 0): all 2,139,095,041 of them were checked for tiles of 96, 256 and 512 values
    against torch.exp on long tensors (torch 2.14.1, this AVX-512 machine); the test suite repeats
    a sample. Without MKL (or a kernel built without it), torch.exp as before."""
    if not _EXP_FUSED:
        ext = _ext()
        _EXP_FUSED.append(bool(ext is not None and ext.fused_exp_built() and torch.backends.mkl.is_available()))
    return _EXP_FUSED[0]


def _decay_grad(grad_input, output):
    """lava-dl's decay gradient, the same torch expression on the same time-last shape."""
    g = grad_input[..., 1:] * output[..., :-1]
    return torch.sum(g.flatten(), dim=0, keepdim=True)


def _lambdas(current_decay, voltage_decay):
    """λ = 1 - d/4096 exactly as lava-dl's backward computes it (float32 tensor arithmetic)."""
    return ((1 - current_decay.detach() / (1 << 12)).item(), (1 - voltage_decay.detach() / (1 << 12)).item())


def _int_decay(decay) -> int:
    return int(decay.detach().to(torch.int64).item())


class _CubaSpike(torch.autograd.Function):
    """z (rows, T) -> spikes (rows, T): integrators, reset and spike; backward through SLAYER's surrogate."""

    @staticmethod
    def forward(ctx, z, current_decay, voltage_decay, u0, v0, scale, shape, threshold, theta, tau, c):
        learn = ctx.needs_input_grad[1] or ctx.needs_input_grad[2]
        # without learnt decays only the surrogate's exp argument -|v - θ|/τ is needed: saved instead of v
        current, saved, spikes = _ext().cuba_forward(z, u0, v0, _int_decay(current_decay), _int_decay(voltage_decay),
                                                     threshold * scale, threshold, scale, learn, True,
                                                     not learn and threshold * scale > 0, theta, tau)
        ctx.lam, ctx.shape, ctx.learn, ctx.surrogate = _lambdas(current_decay, voltage_decay), shape, learn, (theta, tau, c)
        ctx.argument_saved = not learn and threshold * scale > 0
        ctx.save_for_backward(saved, current if learn else None)
        return spikes

    @staticmethod
    def backward(ctx, grad_spikes):
        saved, current = ctx.saved_tensors
        theta, tau, c = ctx.surrogate
        ext = _ext()
        argument = saved if ctx.argument_saved else ext.surrogate_argument(saved, theta, tau)
        if tau > 0 and exp_fused():  # arguments -|v - θ|/τ ≤ 0: torch.exp's bits computed in the kernel
            grad_z, grad_v = ext.cuba_backward(grad_spikes.contiguous(), argument, c, *ctx.lam, ctx.learn, True)
        else:
            e = torch.exp(argument)  # torch's exp on a tensor of lava-dl's size: its bits (grad_z is written over e)
            grad_z, grad_v = ext.cuba_backward(grad_spikes.contiguous(), e, c, *ctx.lam, ctx.learn, False)
        g_du, g_dv = _decay_grads(ctx, grad_z, grad_v, current, None if ctx.argument_saved else saved)
        return grad_z, g_du, g_dv, None, None, None, None, None, None, None, None


class _CubaVoltage(torch.autograd.Function):
    """z (rows, T) -> voltage (rows, T), both integrators fused; backward as lava-dl's ``_LIDynamics``."""

    @staticmethod
    def forward(ctx, z, current_decay, voltage_decay, u0, v0, scale, shape, threshold):
        learn = ctx.needs_input_grad[1] or ctx.needs_input_grad[2]
        current, voltage, _ = _ext().cuba_forward(z, u0, v0, _int_decay(current_decay), _int_decay(voltage_decay),
                                                  threshold * scale, threshold, scale, learn, False, False, 0.0, 1.0)
        ctx.lam, ctx.shape, ctx.learn = _lambdas(current_decay, voltage_decay), shape, learn
        if learn:
            ctx.save_for_backward(current, voltage)
        return voltage

    @staticmethod
    def backward(ctx, grad_voltage):
        grad_z, grad_v = _ext().cuba_backward(grad_voltage.contiguous(), torch.empty(0), 1.0, *ctx.lam, ctx.learn, False)
        g_du = g_dv = None
        if ctx.learn:
            current, voltage = ctx.saved_tensors
            g_du, g_dv = _decay_grads(ctx, grad_z, grad_v, current, voltage)
        return grad_z, g_du, g_dv, None, None, None, None, None


class _Quantize8bit(torch.autograd.Function):
    """w -> clamp(round(w/step) step, lo, hi) (lava-dl's ``quantize_8bit``), one pass each way."""

    @staticmethod
    def forward(ctx, weight, step, lo, hi):
        ctx.save_for_backward(weight)
        ctx.args = (step, lo, hi)
        return _ext().quantize_forward(weight, step, lo, hi)

    @staticmethod
    def backward(ctx, grad):
        (weight,) = ctx.saved_tensors
        return _ext().quantize_backward(grad.contiguous(), weight, *ctx.args), None, None, None


def _decay_grads(ctx, grad_z, grad_v, current, voltage):
    if not ctx.learn:
        return None, None
    shape = ctx.shape
    return _decay_grad(grad_z.view(shape), current.view(shape)), _decay_grad(grad_v.view(shape), voltage.view(shape))


class FastCubaNeuron:
    """Mixin placed before lava-dl's CUBA ``Neuron`` class (see :func:`make_fast`); same parameters,
    buffers and state-dict keys, only ``forward`` differs."""

    def forward(self, input):
        if not self._fast_applies(input):
            return super().forward(input)
        if "spike" in self.__dict__ or self.drop is not None:  # a patched surrogate, or dropout
            return self.spike(self._fast(input, spikes=False))
        return self._fast(input, spikes=True)

    def quantize_8bit(self, weight, descale=False):
        """lava-dl's weight pre-hook; its training form (``descale=False``) fused on the fast path.
        (The synapse must hold this bound method: :func:`make_fast` ``(neuron, synapse)`` sets it.)"""
        step = 2 / self.w_scale
        if (descale or dynamics_mode() != "fast" or weight.device.type != "cpu" or weight.dtype != torch.float32
                or not weight.is_contiguous() or math.frexp(step)[0] != 0.5 or _ext() is None):
            return super().quantize_8bit(weight, descale=descale)
        return _Quantize8bit.apply(weight, step, -256 / self.w_scale, 254 / self.w_scale)

    def _fast_applies(self, input) -> bool:
        if dynamics_mode() != "fast":
            return False
        if (self.shape is None or self.persistent_state or not self.shared_param or self.norm is not None
                or self.graded_spike or self.debug or input.device.type != "cpu"
                or input.dtype != torch.float32 or self.current_decay.numel() != 1):
            return False
        return _ext() is not None

    def _fast(self, input, spikes: bool):
        from lava.lib.dl.slayer.neuron.cuba import SCALE_RHO_MULT, TAU_RHO_MULT
        from lava.lib.dl.slayer.utils import quantize

        if input.shape[1:-1] != self.shape:
            raise AssertionError(f"Input tensor shape ({input.shape}) does not match with Neuron shape ({self.shape}).")
        n = input.shape[0]
        # the state buffers as lava-dl keeps them: batch-shaped zeros (never persistent here)
        if self.current_state.shape[0] != n or self.current_state.shape[1:] != self.shape:
            self.current_state = torch.zeros(input.shape[:-1], dtype=self.current_state.dtype, device=input.device)
            self.voltage_state = torch.zeros(input.shape[:-1], dtype=self.voltage_state.dtype, device=input.device)
        if self.requires_grad is True:
            self.clamp()
        rows, steps = n * int(self.num_neurons), input.shape[-1]
        args = (input.contiguous().view(rows, steps), quantize(self.current_decay), quantize(self.voltage_decay),
                self.current_state.contiguous().view(-1).float(), self.voltage_state.contiguous().view(-1).float(),
                self.s_scale, tuple(input.shape), self.threshold + self.threshold_eps)
        if not spikes:
            return _CubaVoltage.apply(*args).view(input.shape)
        # lava-dl's Spike keeps θ, τ and scale as float32 tensors: the same values, the same float32 c
        theta = torch.tensor(self.threshold + self.threshold_eps, dtype=torch.float32)
        tau = torch.tensor(self.tau_rho * TAU_RHO_MULT, dtype=torch.float32)
        c = (torch.tensor(self.scale_rho * SCALE_RHO_MULT, dtype=torch.float32) / 2 / tau).item()
        return _CubaSpike.apply(*args, theta.item(), tau.item(), c).view(input.shape)


_FAST_CLASSES: dict = {}


def __getattr__(name):  # pickle finds lava-dl CUBA's fast class by name: neurodeploy.models.cuba_fast.FastNeuron
    if name == "FastNeuron":
        from neurodeploy._lava_compat import import_slayer

        return _fast_class(import_slayer().neuron.cuba.Neuron)
    raise AttributeError(name)


def _fast_class(cls):
    fast = _FAST_CLASSES.get(cls)
    if fast is None:
        fast = type(f"Fast{cls.__name__}", (FastCubaNeuron, cls), {"__module__": __name__})
        _FAST_CLASSES[cls] = fast
    return fast


def make_fast(neuron, synapse=None):
    """Give a lava-dl CUBA neuron the fast ``forward`` (in place; returns it). Its class becomes a
    subclass of its own, so isinstance checks, parameters, buffers and pickling are unchanged.
    A ``synapse`` whose weight pre-hook is this neuron's ``quantize_8bit`` gets the fast class's."""
    cls = type(neuron)
    if not issubclass(cls, FastCubaNeuron):
        neuron.__class__ = _fast_class(cls)
    hook = getattr(synapse, "pre_hook_fx", None)
    if hook is not None and getattr(hook, "__self__", None) is neuron and getattr(hook, "__name__", "") == "quantize_8bit":
        synapse.pre_hook_fx = neuron.quantize_8bit  # bound when the block was built: the base class's method
    return neuron
