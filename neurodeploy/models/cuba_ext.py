"""The compiled part of the fast CUBA path: one fused C++ loop over time, built at first use.

Kernels over a (rows, T) view of SLAYER's time-last tensors (rows = batch x neurons; each row's
T values are contiguous; rows are processed in tiles of 32 so independent rows overlap):

* ``cuba_forward`` — both leaky integrators of lava-dl 0.6's ``_li_dynamics_fwd`` with the same
  integer arithmetic, and the spike, for s = s_scale (4096), decays d as integers ``D = 4096 - d``::

      U[t]  = rstz(U[t-1] D_u) + int64(float32(s) z[t])       (int64 truncates toward zero)
      u[t]  = float32(U[t]) / s                               (rstz: >> 12 rounding toward zero)
      V[t]  = rstz(V'[t-1] D_v) + int64(float32(s) u[t])
      v[t]  = float32(V[t]) / s ,  spike[t] = v[t] ≥ float32(θ + ε)
      V'[t] = 0 if float32(V[t]) ≥ float32((θ + ε) s) else V[t]   (torch compares in float32)

* ``surrogate_argument`` — ``-|v - θ|/τ`` of lava-dl's spike backward (its ``exp`` is left to
  torch: SIMD and scalar ``exp`` may differ in the last bit, torch's on the same-sized tensor is
  lava-dl's);
* ``cuba_backward`` — ``∂L/∂v = (c e) ∂L/∂s`` (c = scale/(2τ), e the exp) and both integrators'
  backward (``_li_dynamics_bwd``), fused, float32, each product and sum rounded separately (built
  with ``-ffp-contract=off``: no FMA). Given the exp's argument instead of e (``exp_argument``),
  it computes e per tile with the routine torch.exp itself runs (MKL VML ``vmsExp``, same mode;
  why that gives torch's bits: ``cuba_fast.exp_fused``)::

      g_v[t] = λ_v g_v[t+1] + ∂L/∂v[t] ;  g_u[t] = λ_u g_u[t+1] + g_v[t] ;  λ = float32(1 - d/4096)

* ``quantize_forward`` / ``quantize_backward`` — lava-dl's ``quantize_8bit`` weight pre-hook
  ``clamp(round(w/step) step, lo, hi)`` in one pass each way (torch: 4 passes forward, 4 back);
  its gradient passes where lo < round(w/step) step < hi (torch's clamp: none at the bounds).
"""
from __future__ import annotations

from pathlib import Path

from neurodeploy.cext import build_dir, compiled

_SOURCE = r"""
#include <torch/extension.h>
#include <ATen/Parallel.h>
#include <ATen/Config.h>
#if AT_MKL_ENABLED() && !defined(__APPLE__)
// torch.exp on float32 CPU tensors is MKL VML's vmsExp (ATen/cpu/vml.h: VML_HA | VML_FTZDAZ_OFF |
// VML_ERRMODE_IGNORE), which libtorch_cpu exports; MKL_INT is 32-bit (LP64)
extern "C" void vmsExp(const int n, const float* a, float* r, const long long mode);
// MKL would otherwise open its own thread team for every tile (torch.set_num_threads sets MKL's too)
extern "C" int MKL_Set_Num_Threads_Local(int nt);  // the C entry (the lower-case names are Fortran)
constexpr long long ND_VML_MODE = 0x00000002LL | 0x00140000LL | 0x00000100LL;
#define ND_FUSED_EXP 1
#else
#define ND_FUSED_EXP 0
#endif
#include <algorithm>
#include <cmath>
#include <type_traits>
#include <cstdint>
#include <vector>

// Rows are processed in tiles of TILE: a tile's T x TILE values are transposed into a local
// buffer so the inner loop runs over TILE independent rows (SIMD lanes); the time recursion
// runs in the outer loop.
constexpr int64_t TILE = 32;  // 4 int64 vectors per state: enough independent chains to hide latency

static inline int64_t rstz12(int64_t x) {
    // lava-dl right_shift_to_zero(x, 12) = sign * ((sign * x) >> 12): C++ division truncates toward zero
    return x / 4096;
}

static inline int64_t wrap_mul(int64_t a, int64_t b) {
    // torch's int64 multiply wraps on overflow; signed overflow is undefined in C++
    return (int64_t)((uint64_t)a * (uint64_t)b);
}

static int64_t grain(int64_t T) { return std::max<int64_t>(TILE, 32768 / std::max<int64_t>(T, 1)); }

// A full tile with T known at compile time: the compiler turns the transpose into vector shuffles.
template <int64_t TT>
static inline void load_full_tile(const float* src, float* tile, int64_t r0) {
    const float* b = src + r0 * TT;
    for (int64_t j = 0; j < TILE; ++j)
        for (int64_t t = 0; t < TT; ++t)
            tile[t * TILE + j] = b[j * TT + t];
}

template <int64_t TT>
static inline void store_full_tile(float* dst, const float* tile, int64_t r0) {
    float* b = dst + r0 * TT;
    for (int64_t j = 0; j < TILE; ++j)
        for (int64_t t = 0; t < TT; ++t)
            b[j * TT + t] = tile[t * TILE + j];
}

static inline void load_tile(const float* src, float* tile, int64_t r0, int64_t n, int64_t T) {
    if (n == TILE && T == 8) return load_full_tile<8>(src, tile, r0);
    if (n == TILE && T == 16) return load_full_tile<16>(src, tile, r0);
    for (int64_t j = 0; j < TILE; ++j)
        for (int64_t t = 0; t < T; ++t)
            tile[t * TILE + j] = j < n ? src[(r0 + j) * T + t] : 0.0f;
}

static inline void store_tile(float* dst, const float* tile, int64_t r0, int64_t n, int64_t T) {
    if (n == TILE && T == 8) return store_full_tile<8>(dst, tile, r0);
    if (n == TILE && T == 16) return store_full_tile<16>(dst, tile, r0);
    for (int64_t j = 0; j < n; ++j)
        for (int64_t t = 0; t < T; ++t)
            dst[(r0 + j) * T + t] = tile[t * TILE + j];
}

// SURROGATE: the second output holds -|v - theta| / tau (the surrogate's exp argument) instead of v
template <bool KEEP_CURRENT, bool SPIKES, bool RESET, bool SURROGATE>
static void forward_rows(const float* zp, const float* u0p, const float* v0p, float* cp, float* vp, float* sp,
                         int64_t begin, int64_t end, int64_t T, float s, float inv_s, float th, float sth,
                         int64_t Du, int64_t Dv, float theta, float tau) {
    std::vector<float> zt(T * TILE), ct(KEEP_CURRENT ? T * TILE : 0), vt(T * TILE), st(SPIKES ? T * TILE : 0);
    int64_t U[TILE], V[TILE];
    for (int64_t r0 = begin; r0 < end; r0 += TILE) {
        const int64_t n = std::min<int64_t>(TILE, end - r0);
        load_tile(zp, zt.data(), r0, n, T);
        for (int64_t j = 0; j < TILE; ++j) {
            U[j] = j < n ? (int64_t)(u0p[r0 + j] * s) : 0;
            V[j] = j < n ? (int64_t)(v0p[r0 + j] * s) : 0;
        }
        for (int64_t t = 0; t < T; ++t) {
            const float* z = zt.data() + t * TILE;
            float* vo = vt.data() + t * TILE;
            for (int64_t j = 0; j < TILE; ++j) {
                const int64_t u = rstz12(wrap_mul(U[j], Du)) + (int64_t)(s * z[j]);
                U[j] = u;
                const float uf = (float)u * inv_s;
                if constexpr (KEEP_CURRENT) ct[t * TILE + j] = uf;
                const int64_t v = rstz12(wrap_mul(V[j], Dv)) + (int64_t)(s * uf);
                const float vf = (float)v * inv_s;
                if constexpr (SURROGATE) { const float d = vf - theta; vo[j] = (-std::fabs(d)) / tau; }
                else vo[j] = vf;
                if constexpr (SPIKES) st[t * TILE + j] = vf >= sth ? 1.0f : 0.0f;
                if constexpr (RESET) V[j] = (float)v >= th ? 0 : v;
                else V[j] = v;
            }
        }
        store_tile(vp, vt.data(), r0, n, T);
        if constexpr (KEEP_CURRENT) store_tile(cp, ct.data(), r0, n, T);
        if constexpr (SPIKES) store_tile(sp, st.data(), r0, n, T);
    }
}

// z, u0, v0 -> (current or empty, voltage, spikes or empty)
std::vector<torch::Tensor> cuba_forward(torch::Tensor z, torch::Tensor u0, torch::Tensor v0,
                                        int64_t du, int64_t dv, double reset_threshold, double spike_threshold,
                                        int64_t scale, bool keep_current, bool make_spikes,
                                        bool surrogate_out, double theta, double tau) {
    TORCH_CHECK(z.dim() == 2 && z.scalar_type() == torch::kFloat32 && z.is_contiguous(), "z: contiguous float32 (rows, T)");
    TORCH_CHECK(u0.numel() == z.size(0) && v0.numel() == z.size(0) && u0.is_contiguous() && v0.is_contiguous(), "state: one value per row");
    TORCH_CHECK(scale > 0 && (scale & (scale - 1)) == 0, "scale must be a power of two");
    const int64_t R = z.size(0), T = z.size(1);
    auto voltage = torch::empty_like(z);
    auto current = keep_current ? torch::empty_like(z) : torch::empty({0}, z.options());
    auto spikes = make_spikes ? torch::empty_like(z) : torch::empty({0}, z.options());
    const float* zp = z.data_ptr<float>();
    const float* u0p = u0.data_ptr<float>();
    const float* v0p = v0.data_ptr<float>();
    float* vp = voltage.data_ptr<float>();
    float* cp = keep_current ? current.data_ptr<float>() : nullptr;
    float* sp = make_spikes ? spikes.data_ptr<float>() : nullptr;
    const float s = (float)scale, inv_s = 1.0f / (float)scale;  // exact: a power of two
    const float th = (float)reset_threshold;   // torch compares int64 with a Python float in float32
    const float sth = (float)spike_threshold;  // and float32 with a Python float in float32
    const int64_t Du = 4096 - du, Dv = 4096 - dv;
    const bool reset = reset_threshold > 0;
    const float thf = (float)theta, taf = (float)tau;
    TORCH_CHECK(!surrogate_out || (make_spikes && !keep_current && reset), "surrogate output: spikes only");
    if (R == 0 || T == 0) return {current, voltage, spikes};
    at::parallel_for(0, R, grain(T), [&](int64_t begin, int64_t end) {
#define ND_FWD(KC, SP, RS, SU) forward_rows<KC, SP, RS, SU>(zp, u0p, v0p, cp, vp, sp, begin, end, T, s, inv_s, th, sth, Du, Dv, thf, taf)
        if (surrogate_out) ND_FWD(false, true, true, true);
        else if (keep_current) {
            if (make_spikes) { if (reset) ND_FWD(true, true, true, false); else ND_FWD(true, true, false, false); }
            else { if (reset) ND_FWD(true, false, true, false); else ND_FWD(true, false, false, false); }
        } else {
            if (make_spikes) { if (reset) ND_FWD(false, true, true, false); else ND_FWD(false, true, false, false); }
            else { if (reset) ND_FWD(false, false, true, false); else ND_FWD(false, false, false, false); }
        }
#undef ND_FWD
    });
    return {current, voltage, spikes};
}

// lava-dl Spike backward's exp argument: -|v - theta| / tau (float32, exactly torch's operations)
torch::Tensor surrogate_argument(torch::Tensor v, double theta, double tau) {
    TORCH_CHECK(v.scalar_type() == torch::kFloat32 && v.is_contiguous(), "voltage: contiguous float32");
    auto out = torch::empty_like(v);
    const float* vp = v.data_ptr<float>();
    float* op = out.data_ptr<float>();
    const float th = (float)theta, ta = (float)tau;
    at::parallel_for(0, v.numel(), 32768, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) {
            const float d = vp[i] - th;
            op[i] = (-std::fabs(d)) / ta;
        }
    });
    return out;
}

// torch.exp's own routine on a tile (see exp_fused in the Python module for why the bits are torch's)
static inline void exp_in_place(float* x, int64_t n) {
#if ND_FUSED_EXP
    vmsExp((int)n, x, x, ND_VML_MODE);
#else
    TORCH_CHECK(false, "fused exp: not built (no MKL)");
#endif
}

// MKL single-threaded on this thread while alive (each tile is far too small to share)
struct SequentialMkl {
#if ND_FUSED_EXP
    int previous;
    SequentialMkl() : previous(MKL_Set_Num_Threads_Local(1)) {}
    ~SequentialMkl() { MKL_Set_Num_Threads_Local(previous); }
#endif
};

bool fused_exp_built() { return ND_FUSED_EXP == 1; }

// exp of every value as the fused backward computes it, in pieces of `tile` values in a local
// buffer as the kernel does (a test compares it with torch.exp)
torch::Tensor fused_exp(torch::Tensor x, int64_t tile) {
    TORCH_CHECK(x.scalar_type() == torch::kFloat32 && x.is_contiguous() && tile > 0, "x: contiguous float32");
    auto out = torch::empty_like(x);
    const float* xp = x.data_ptr<float>();
    float* op = out.data_ptr<float>();
    std::vector<float> buf(tile);
    SequentialMkl sequential;
    for (int64_t k = 0; k < x.numel(); k += tile) {
        const int64_t n = std::min<int64_t>(tile, x.numel() - k);
        std::copy(xp + k, xp + k + n, buf.data());
        exp_in_place(buf.data(), n);
        std::copy(buf.data(), buf.data() + n, op + k);
    }
    return out;
}

// EXP: ep holds the surrogate's exp argument, exponentiated here per tile
template <bool SURROGATE, bool KEEP_GV, bool EXP = false>
static void backward_rows(const float* gp, const float* ep, float* zp, float* vp, int64_t begin, int64_t end,
                          int64_t T, float cf, float lu, float lv) {
    std::vector<float> gt(T * TILE), et(SURROGATE ? T * TILE : 0), zt(T * TILE), vt(KEEP_GV ? T * TILE : 0);
    float GV[TILE], GU[TILE];
    std::conditional_t<EXP, SequentialMkl, int> sequential{};
    (void)sequential;
    for (int64_t r0 = begin; r0 < end; r0 += TILE) {
        const int64_t n = std::min<int64_t>(TILE, end - r0);
        load_tile(gp, gt.data(), r0, n, T);
        if constexpr (SURROGATE) load_tile(ep, et.data(), r0, n, T);
        if constexpr (EXP) exp_in_place(et.data(), T * TILE);
        for (int64_t t = T - 1; t >= 0; --t) {
            for (int64_t j = 0; j < TILE; ++j) {
                float g = gt[t * TILE + j];
                if constexpr (SURROGATE) { const float d = cf * et[t * TILE + j]; g = d * g; }
                if (t == T - 1) {
                    GV[j] = g;
                    GU[j] = g;
                } else {
                    const float pv = lv * GV[j];
                    GV[j] = pv + g;
                    const float pu = lu * GU[j];
                    GU[j] = pu + GV[j];
                }
                zt[t * TILE + j] = GU[j];
                if constexpr (KEEP_GV) vt[t * TILE + j] = GV[j];
            }
        }
        store_tile(zp, zt.data(), r0, n, T);
        if constexpr (KEEP_GV) store_tile(vp, vt.data(), r0, n, T);
    }
}

// grad wrt z of both integrators; grad_v = (c * e) * grad_spikes when e (the surrogate's exp) is
// given, else grad_v = grad (a voltage gradient). Returns (grad_z, g_v or empty); grad_z is
// written over e (a tile is read before it is written), which the caller must not need again.
// exp_argument: e holds the exp's argument instead (left intact), exponentiated here.
std::vector<torch::Tensor> cuba_backward(torch::Tensor grad, torch::Tensor e, double c,
                                         double lam_u, double lam_v, bool keep_gv, bool exp_argument) {
    TORCH_CHECK(grad.dim() == 2 && grad.scalar_type() == torch::kFloat32 && grad.is_contiguous(), "grad: contiguous float32 (rows, T)");
    const bool surrogate = e.numel() > 0;
    TORCH_CHECK(!surrogate || (e.numel() == grad.numel() && e.is_contiguous()), "exp term: like grad");
    const int64_t R = grad.size(0), T = grad.size(1);
    TORCH_CHECK(!exp_argument || (surrogate && fused_exp_built()), "exp argument: fused exp needs MKL and e");
    auto grad_z = surrogate && !exp_argument ? e : torch::empty_like(grad);
    auto gv_out = keep_gv ? torch::empty_like(grad) : torch::empty({0}, grad.options());
    const float* gp = grad.data_ptr<float>();
    const float* ep = surrogate ? e.data_ptr<float>() : nullptr;
    float* zp = grad_z.data_ptr<float>();
    float* vp = keep_gv ? gv_out.data_ptr<float>() : nullptr;
    const float cf = (float)c, lu = (float)lam_u, lv = (float)lam_v;
    if (R == 0 || T == 0) return {grad_z, gv_out};
    at::parallel_for(0, R, grain(T), [&](int64_t begin, int64_t end) {
        if (exp_argument) { if (keep_gv) backward_rows<true, true, true>(gp, ep, zp, vp, begin, end, T, cf, lu, lv);
                            else backward_rows<true, false, true>(gp, ep, zp, vp, begin, end, T, cf, lu, lv); }
        else if (surrogate) { if (keep_gv) backward_rows<true, true>(gp, ep, zp, vp, begin, end, T, cf, lu, lv);
                         else backward_rows<true, false>(gp, ep, zp, vp, begin, end, T, cf, lu, lv); }
        else { if (keep_gv) backward_rows<false, true>(gp, ep, zp, vp, begin, end, T, cf, lu, lv);
               else backward_rows<false, false>(gp, ep, zp, vp, begin, end, T, cf, lu, lv); }
    });
    return {grad_z, gv_out};
}

// lava-dl's quantize_8bit: clamp(round(w / step) * step, lo, hi) (torch.round: half to even, and
// clamp keeps NaN), one pass; step a power of two, so w / step = w * (1 / step) exactly.
// Backward of that composition (torch 2.14's clamp): the gradient where lo < round(w / step) * step < hi, else +0.
// One pass over the weights: q = round(w / step) * step; forward writes clamp(q, lo, hi) (NaN
// kept), backward passes grad[i] where lo < q < hi (torch's clamp: no gradient at the bounds).
template <bool BACKWARD>
static torch::Tensor quantize_pass(torch::Tensor w, const float* gp, double step, double lo, double hi) {
    auto out = torch::empty_like(w);
    const float* wp = w.data_ptr<float>();
    float* op = out.data_ptr<float>();
    const float st = (float)step, inv = 1.0f / st, l = (float)lo, h = (float)hi;
    at::parallel_for(0, w.numel(), 65536, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) {
            const float q = std::nearbyint(wp[i] * inv) * st;
            if constexpr (BACKWARD) op[i] = (q > l && q < h) ? gp[i] : 0.0f;
            else op[i] = std::isnan(q) ? q : std::min(std::max(q, l), h);
        }
    });
    return out;
}

torch::Tensor quantize_forward(torch::Tensor w, double step, double lo, double hi) {
    TORCH_CHECK(w.scalar_type() == torch::kFloat32 && w.is_contiguous(), "weight: contiguous float32");
    return quantize_pass<false>(w, nullptr, step, lo, hi);
}

torch::Tensor quantize_backward(torch::Tensor grad, torch::Tensor w, double step, double lo, double hi) {
    TORCH_CHECK(grad.scalar_type() == torch::kFloat32 && grad.is_contiguous() && w.is_contiguous()
                && w.scalar_type() == torch::kFloat32 && grad.numel() == w.numel(),
                "grad: contiguous float32 like the weight");
    return quantize_pass<true>(w, grad.data_ptr<float>(), step, lo, hi);
}
"""

_FUNCTIONS = ["cuba_forward", "surrogate_argument", "cuba_backward", "quantize_forward", "quantize_backward",
              "fused_exp_built", "fused_exp"]


def cache_dir() -> Path:
    """Where the extension is built (:func:`neurodeploy.cext.build_dir`)."""
    return build_dir("cuba_fast", _SOURCE)


def extension():
    """The compiled module, or None (after ONE warning line on stderr) when it cannot be built."""
    return compiled("neurodeploy_cuba_fast", "cuba_fast", _SOURCE, _FUNCTIONS, "fast CUBA dynamics",
                    "lava-dl's stock dynamics")
