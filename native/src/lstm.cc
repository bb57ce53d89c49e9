// The whole-layer LSTM kernels (lstm.h): per step one gemm with W_hh packed once, then the gates,
// cell and output (or the backward step's element-wise work) row by row over the pool.
#include "lstm.h"

#include "gemm.h"
#include "simd-math.h"

namespace ulmfit {

#if ULMFIT_X64

/**
 * Rows [r0, r1) of one LSTM step's cell and output from its gate activations s ([rows, 4H]: i, f,
 * sigma(2 z_g), o) and 2c_{t-1}: 2c_t = f.2c_{t-1} + i.(4 sigma(2 z_g) - 2), tanh(c_t) = 2 sigma(2c_t) - 1,
 * h_t = o.tanh(c_t) (src/model/lstm.ts cellStep).
 */
__attribute__((target("avx2,fma"))) void lstmCellRows(const float* s, const float* c2Prev, float* c2, float* tanhC, float* h, int r0, int r1,
                                                      int hidden) {
  const __m256 one = _mm256_set1_ps(1.0f), two = _mm256_set1_ps(2.0f), four = _mm256_set1_ps(4.0f);
  for (int r = r0; r < r1; ++r) {
    const float* gates = s + static_cast<size_t>(r) * 4 * hidden;
    const size_t row = static_cast<size_t>(r) * hidden;
    int j = 0;
    for (; j + 8 <= hidden; j += 8) {
      const __m256 si = _mm256_loadu_ps(gates + j), sf = _mm256_loadu_ps(gates + hidden + j);
      const __m256 sg = _mm256_loadu_ps(gates + 2 * hidden + j), so = _mm256_loadu_ps(gates + 3 * hidden + j);
      const __m256 cell = _mm256_add_ps(_mm256_mul_ps(sf, _mm256_loadu_ps(c2Prev + row + j)), _mm256_mul_ps(si, _mm256_sub_ps(_mm256_mul_ps(sg, four), two)));
      const __m256 sigma = _mm256_div_ps(one, _mm256_add_ps(one, exp8(_mm256_sub_ps(_mm256_setzero_ps(), cell))));
      const __m256 t = _mm256_sub_ps(_mm256_mul_ps(sigma, two), one);
      _mm256_storeu_ps(c2 + row + j, cell);
      _mm256_storeu_ps(tanhC + row + j, t);
      _mm256_storeu_ps(h + row + j, _mm256_mul_ps(so, t));
    }
    for (; j < hidden; ++j) {
      const float cell = gates[hidden + j] * c2Prev[row + j] + gates[j] * (gates[2 * hidden + j] * 4.0f - 2.0f);
      const float t = 2.0f / (1.0f + std::exp(-cell)) - 1.0f;
      c2[row + j] = cell;
      tanhC[row + j] = t;
      h[row + j] = gates[3 * hidden + j] * t;
    }
  }
}

/**
 * Rows [r0, r1) of one step's gates from the recurrent product in s ([rows, 4H]) and the input
 * projection: s = σ(g (s + projected)) with g = 2 on the third (cell input) block of H columns and
 * 1 elsewhere, so the g block gives σ(2 z_g) (tanh z_g = 2σ(2 z_g) − 1). Doubling is exact: the
 * same bits as doubling those columns of the weights and biases first.
 */
__attribute__((target("avx2,fma"))) void gateRows(float* s, const float* projected, int r0, int r1, int hidden) {
  const __m256 one = _mm256_set1_ps(1.0f);
  for (int r = r0; r < r1; ++r) {
    for (int gate = 0; gate < 4; ++gate) {
      const size_t at = (static_cast<size_t>(r) * 4 + gate) * hidden;
      float* row = s + at;
      const float* add = projected + at;
      const float scale = gate == 2 ? 2.0f : 1.0f;
      const __m256 vscale = _mm256_set1_ps(scale);
      int j = 0;
      for (; j + 8 <= hidden; j += 8) {
        const __m256 v = _mm256_mul_ps(_mm256_add_ps(_mm256_loadu_ps(row + j), _mm256_loadu_ps(add + j)), vscale);
        _mm256_storeu_ps(row + j, _mm256_div_ps(one, _mm256_add_ps(one, exp8(_mm256_sub_ps(_mm256_setzero_ps(), v)))));
      }
      for (; j < hidden; ++j) row[j] = 1.0f / (1.0f + std::exp(-((row[j] + add[j]) * scale)));
    }
  }
}

/**
 * A whole LSTM layer's forward pass over T steps in one call: per step the product
 * h_{t-1} . W_hh^T (W_hh packed once for all steps, transposed while packing), then per row the
 * gates (gateRows) and the cell and output (lstmCellRows).
 */
void lstmForward(Instance& inst, const LstmForwardArgs& f) {
  const int rows = f.rows, hidden = f.hidden, gates = 4 * hidden;
  const size_t narrow = static_cast<size_t>(rows) * hidden, wide = narrow * 4;
  // Fewer rows than a strip (generation: one) read W_hh in place, as gemm does for them.
  float* panels = nullptr;
  if (rows >= MR) {
    panels = inst.sequencePanels.reserve(static_cast<size_t>((gates + NR - 1) / NR) * hidden * NR);
    packAll(inst.pool, f.weightHh, true, hidden, gates, panels);
  }
  // Steps whose intermediates the caller does not keep go to scratch: s, tanh c, and 2c alternating.
  float* scratch = inst.stepScratch.reserve(wide + 3 * narrow);
  float* scratchS = scratch;
  float* scratchT = scratch + wide;
  float* scratchC[2] = {scratch + wide + narrow, scratch + wide + 2 * narrow};
  if (f.cells != nullptr) std::memcpy(f.cells, f.c2First, narrow * sizeof(float));
  const double rowWork = static_cast<double>(rows) * gates * 12;
  for (int t = 0; t < f.seqLen; ++t) {
    const float* hIn = t == 0 ? f.h0 : f.output + (t - 1) * narrow;
    float* s = f.sigmoids != nullptr ? f.sigmoids + t * wide : scratchS;
    gemm(inst, hIn, false, f.weightHh, true, s, rows, hidden, gates, panels, nullptr);
    const float* projected = f.projected + t * wide;
    const float* c2Prev = f.cells != nullptr ? f.cells + t * narrow : t == 0 ? f.c2First : scratchC[(t - 1) & 1];
    float* c2 = f.cells != nullptr ? f.cells + (t + 1) * narrow : scratchC[t & 1];
    float* tanhC = f.tanhC != nullptr ? f.tanhC + t * narrow : scratchT;
    float* h = f.output + t * narrow;
    runRows(inst.pool, rows, rowWork, [&](int r0, int r1) {
      gateRows(s, projected, r0, r1, hidden);
      lstmCellRows(s, c2Prev, c2, tanhC, h, r0, r1, hidden);
    });
    if (f.hPrev != nullptr) std::memcpy(f.hPrev + t * narrow, hIn, narrow * sizeof(float));
    if (f.c2Last != nullptr && t == f.seqLen - 1) std::memcpy(f.c2Last, c2, narrow * sizeof(float));
  }
  if (f.c2Last != nullptr && f.seqLen == 0) std::memcpy(f.c2Last, f.c2First, narrow * sizeof(float));
}

/**
 * Rows [r0, r1) of one backward step, the coefficients of src/model/lstm.ts lstmBackward computed
 * here from the saved forward values (the operations of the wasm lstm_coef and lstm_back kernels,
 * in their order, so the same bits):
 *   A = o(1 − tanh²c_t), B = [g·i(1−i), c_{t-1}·f(1−f), i(1 − g²), tanh c_t·o(1−o)], g = 2σ(2z_g) − 1
 *   dh = dy + mm, dc = dh·A + carry, dz = [dc, dc, dc, dh]·B, carry' = dc·f
 * `mm` and `carry` null for the last step (dh = dy, no carry); carry is updated in place.
 */
__attribute__((target("avx2,fma"))) void lstmBackRows(const float* s, const float* c2Prev, const float* tanhC, const float* dy, const float* mm,
                                                      float* carry, float* dz, int r0, int r1, int hidden) {
  const __m256 one = _mm256_set1_ps(1.0f), two = _mm256_set1_ps(2.0f), half = _mm256_set1_ps(0.5f);
  for (int r = r0; r < r1; ++r) {
    const size_t wideRow = static_cast<size_t>(r) * 4 * hidden, row = static_cast<size_t>(r) * hidden;
    const float* si = s + wideRow;
    const float* sf = si + hidden;
    const float* sg = sf + hidden;
    const float* so = sg + hidden;
    float* dzi = dz + wideRow;
    float* dzf = dzi + hidden;
    float* dzg = dzf + hidden;
    float* dzo = dzg + hidden;
    int j = 0;
    for (; j + 8 <= hidden; j += 8) {
      const __m256 vi = _mm256_loadu_ps(si + j), vf = _mm256_loadu_ps(sf + j), vg = _mm256_loadu_ps(sg + j), vo = _mm256_loadu_ps(so + j);
      const __m256 tc = _mm256_loadu_ps(tanhC + row + j);
      const __m256 tanhG = _mm256_sub_ps(_mm256_mul_ps(vg, two), one);
      const __m256 cPrev = _mm256_mul_ps(_mm256_loadu_ps(c2Prev + row + j), half);
      const __m256 coefA = _mm256_mul_ps(vo, _mm256_sub_ps(one, _mm256_mul_ps(tc, tc)));
      const __m256 bi = _mm256_mul_ps(tanhG, _mm256_mul_ps(vi, _mm256_sub_ps(one, vi)));
      const __m256 bf = _mm256_mul_ps(cPrev, _mm256_mul_ps(vf, _mm256_sub_ps(one, vf)));
      const __m256 bg = _mm256_mul_ps(vi, _mm256_sub_ps(one, _mm256_mul_ps(tanhG, tanhG)));
      const __m256 bo = _mm256_mul_ps(tc, _mm256_mul_ps(vo, _mm256_sub_ps(one, vo)));
      __m256 dh = _mm256_loadu_ps(dy + row + j);
      __m256 dc;
      if (mm != nullptr) {
        dh = _mm256_add_ps(dh, _mm256_loadu_ps(mm + row + j));
        dc = _mm256_add_ps(_mm256_mul_ps(dh, coefA), _mm256_loadu_ps(carry + row + j));
      } else {
        dc = _mm256_mul_ps(dh, coefA);
      }
      _mm256_storeu_ps(dzi + j, _mm256_mul_ps(dc, bi));
      _mm256_storeu_ps(dzf + j, _mm256_mul_ps(dc, bf));
      _mm256_storeu_ps(dzg + j, _mm256_mul_ps(dc, bg));
      _mm256_storeu_ps(dzo + j, _mm256_mul_ps(dh, bo));
      _mm256_storeu_ps(carry + row + j, _mm256_mul_ps(dc, vf));
    }
    for (; j < hidden; ++j) {
      const float tc = tanhC[row + j];
      const float tanhG = sg[j] * 2.0f - 1.0f;
      const float cPrev = c2Prev[row + j] * 0.5f;
      const float coefA = so[j] * (1.0f - tc * tc);
      float dh = dy[row + j];
      float dc;
      if (mm != nullptr) {
        dh = dh + mm[row + j];
        dc = dh * coefA + carry[row + j];
      } else {
        dc = dh * coefA;
      }
      dzi[j] = dc * (tanhG * (si[j] * (1.0f - si[j])));
      dzf[j] = dc * (cPrev * (sf[j] * (1.0f - sf[j])));
      dzg[j] = dc * (si[j] * (1.0f - tanhG * tanhG));
      dzo[j] = dh * (tc * (so[j] * (1.0f - so[j])));
      carry[row + j] = dc * sf[j];
    }
  }
}

/**
 * Back-propagation through time for a whole layer in one call, t = T-1 .. 0: mm = dz_{t+1} . W_hh
 * (W_hh packed once), then lstmBackRows. The same bits as the per-step path (a gemm call per
 * step, the wasm coefficients and step kernels).
 */
void lstmBackward(Instance& inst, const LstmBackwardArgs& b) {
  const int rows = b.rows, hidden = b.hidden, gates = 4 * hidden;
  const size_t narrow = static_cast<size_t>(rows) * hidden, wide = narrow * 4;
  const bool pack = rows >= MR;
  float* panels = nullptr;
  if (pack) {
    panels = inst.sequencePanels.reserve(static_cast<size_t>((hidden + NR - 1) / NR) * gates * NR);
    packAll(inst.pool, b.weightHh, false, gates, hidden, panels);
  }
  float* scratch = inst.stepScratch.reserve(2 * narrow);
  float* mm = scratch;
  float* carry = scratch + narrow;
  const double work = static_cast<double>(narrow) * 24;
  for (int t = b.seqLen - 1; t >= 0; --t) {
    const bool last = t == b.seqLen - 1;
    if (!last) gemm(inst, b.dz + (t + 1) * wide, false, b.weightHh, false, mm, rows, gates, hidden, panels, nullptr);
    runRows(inst.pool, rows, work, [&](int r0, int r1) {
      lstmBackRows(b.sigmoids + t * wide, b.cells + t * narrow, b.tanhC + t * narrow, b.dy + t * narrow, last ? nullptr : mm, carry, b.dz + t * wide,
                   r0, r1, hidden);
    });
  }
}

#endif

}  // namespace ulmfit
