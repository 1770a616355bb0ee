"""The emulator's compiled CUBA loop: a layer's neuron steps over a chunk in one C++ call.

:func:`neurodeploy.runtime.cuba_fixed.cuba_step` costs ~10 int64 tensor passes per step and
layer; on a small MLP that is most of ``emu``'s time. :func:`cuba_layer_steps` runs the same
arithmetic (Lava fixed point, the no-int32-wrap case) for every sample, step and neuron in one
loop, reading the synapse result straight from the matmul/conv output (exact integers as float32
or int32) and applying the layer's integer scale and weight exponent on the fly::

    a   = (raw * scale) << exp   (or >> -exp: floor)      # the synapse result, one step late
    x   = trunc(u * u_factor / 4096) + a * 64
    u   = x - 2**24 if x > 2**23 else x + 2**24 if x <= -2**23 else x
    v   = clip(trunc(v * v_factor / 4096) + u + bias, -(2**23 - 1), 2**23 - 1)
    s   = v > vth ;  v = 0 where s

Equal to the torch path element for element (tests/runtime/test_emu_kernel.py); a machine
without a compiler runs the torch path after one warning line.
"""
from __future__ import annotations

import torch

from neurodeploy.cext import compiled

_SOURCE = r"""
#include <torch/extension.h>
#include <ATen/Parallel.h>
#include <cstdint>

constexpr int64_t U_MAX = int64_t(1) << 23;

static inline int64_t decay(int64_t x, int64_t factor) {
    return (x * factor) / 4096;                      // C++ division truncates toward zero (Lava)
}

// Neuron steps n0..n1-1 of samples b0..b1-1. The input of step j is the synapse result of step
// j-1: row (j-1-r0) of A when r0 <= j-1 < r1; zero when j-1 >= j0 (a step of this chunk with no
// synapse result); else the carry of the previous chunk.
template <typename A_T>
static void steps(const A_T* A, int64_t scale, int64_t shift, int64_t* U, int64_t* V, const int64_t* carry,
                  const int64_t* bias, int64_t uf, int64_t vf, int64_t vth, int64_t j0, int64_t n0, int64_t n1,
                  int64_t r0, int64_t r1, int64_t B, int64_t N, uint8_t* out, int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
        int64_t* u = U + b * N;
        int64_t* v = V + b * N;
        for (int64_t j = n0; j < n1; ++j) {
            const int64_t r = j - 1;
            uint8_t* o = out + ((j - j0) * B + b) * N;
            const int kind = (r0 <= r && r < r1) ? 0 : (r >= j0 ? 1 : 2);
            const A_T* a = kind == 0 ? A + ((r - r0) * B + b) * N : nullptr;
            const int64_t* c = carry + b * N;
            for (int64_t n = 0; n < N; ++n) {
                int64_t in;
                if (kind == 0) {
                    const int64_t raw = (int64_t)a[n] * scale;
                    in = shift >= 0 ? raw * (int64_t(1) << shift) : raw >> (-shift);
                } else {
                    in = kind == 1 ? 0 : c[n];
                }
                const int64_t x = decay(u[n], uf) + in * 64;
                const int64_t un = x > U_MAX ? x - 2 * U_MAX : (x <= -U_MAX ? x + 2 * U_MAX : x);
                u[n] = un;
                int64_t vn = decay(v[n], vf) + un + (bias ? bias[n] : 0);
                vn = vn < -U_MAX + 1 ? -U_MAX + 1 : (vn > U_MAX - 1 ? U_MAX - 1 : vn);
                const bool s = vn > vth;
                o[n] = s ? 1 : 0;
                v[n] = s ? 0 : vn;
            }
        }
    }
}

void cuba_layer_steps(torch::Tensor A, int64_t scale, int64_t shift, torch::Tensor u, torch::Tensor v,
                      torch::Tensor carry, torch::Tensor bias, int64_t uf, int64_t vf, int64_t vth,
                      int64_t j0, int64_t n0, int64_t n1, int64_t r0, int64_t r1, torch::Tensor out) {
    TORCH_CHECK(u.scalar_type() == torch::kInt64 && v.scalar_type() == torch::kInt64 && carry.scalar_type() == torch::kInt64, "state: int64");
    TORCH_CHECK(u.is_contiguous() && v.is_contiguous() && carry.is_contiguous() && out.is_contiguous() && A.is_contiguous(), "contiguous tensors");
    TORCH_CHECK(out.scalar_type() == torch::kUInt8, "out: uint8");
    const int64_t B = u.size(0), N = u.numel() / std::max<int64_t>(B, 1);
    TORCH_CHECK(v.numel() == B * N && carry.numel() == B * N, "state shapes");
    TORCH_CHECK(A.numel() == std::max<int64_t>(r1 - r0, 0) * B * N, "synapse rows");
    TORCH_CHECK(bias.numel() == 0 || (bias.numel() == N && bias.scalar_type() == torch::kInt64 && bias.is_contiguous()), "bias: (N,) int64");
    TORCH_CHECK(out.numel() >= (n1 - j0) * B * N, "out too small");
    if (B == 0 || N == 0 || n1 <= n0) return;
    const int64_t* bp = bias.numel() ? bias.data_ptr<int64_t>() : nullptr;
    int64_t* up = u.data_ptr<int64_t>();
    int64_t* vp = v.data_ptr<int64_t>();
    const int64_t* cp = carry.data_ptr<int64_t>();
    uint8_t* op = out.data_ptr<uint8_t>();
    const int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(N * (n1 - n0), 1));
    at::parallel_for(0, B, grain, [&](int64_t b0, int64_t b1) {
        if (A.scalar_type() == torch::kFloat32)
            steps<float>(A.numel() ? A.data_ptr<float>() : nullptr, scale, shift, up, vp, cp, bp, uf, vf, vth, j0, n0, n1, r0, r1, B, N, op, b0, b1);
        else if (A.scalar_type() == torch::kInt32)
            steps<int32_t>(A.numel() ? A.data_ptr<int32_t>() : nullptr, scale, shift, up, vp, cp, bp, uf, vf, vth, j0, n0, n1, r0, r1, B, N, op, b0, b1);
        else
            steps<int64_t>(A.numel() ? A.data_ptr<int64_t>() : nullptr, scale, shift, up, vp, cp, bp, uf, vf, vth, j0, n0, n1, r0, r1, B, N, op, b0, b1);
    });
}
"""

RAW_DTYPES = (torch.float32, torch.int32, torch.int64)


def extension():
    """The compiled module, or None (one warning line) when it cannot be built."""
    return compiled("neurodeploy_emu_cuba", "emu_cuba", _SOURCE, ["cuba_layer_steps"],
                    "the emulator's compiled CUBA loop", "its torch path")


def cuba_layer_steps(ext, raw: torch.Tensor, scale: int, shift: int, u: torch.Tensor, v: torch.Tensor,
                     carry: torch.Tensor, bias: torch.Tensor | None, u_factor: int, v_factor: int, vth: int,
                     j0: int, n0: int, n1: int, r0: int, r1: int, out: torch.Tensor) -> None:
    """Run neuron steps n0..n1-1 in place on ``u``, ``v`` (B, ...) int64, writing 0/1 into
    ``out`` (K, B, ...) uint8 at index j - j0. ``raw`` ((r1 - r0) * B, ...) holds the synapse
    results of input steps r0..r1-1 before scale and exponent; ``carry`` the previous chunk's."""
    empty = torch.empty(0, dtype=torch.int64)
    ext.cuba_layer_steps(raw.contiguous() if raw is not None else empty, int(scale), int(shift), u, v, carry,
                         empty if bias is None else bias, int(u_factor), int(v_factor), int(vth),
                         int(j0), int(n0), int(n1), int(r0), int(r1), out)
