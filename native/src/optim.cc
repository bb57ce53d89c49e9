// The AdamW step (optim.h).
#include "optim.h"

namespace ulmfit {

#if ULMFIT_X64

/**
 * Elements [i0, i1) of one AdamW step, the wasm adamw kernel's float32 operations in its order
 * (the same bits): m' = m·mom + g·(1−mom), v' = v·sqrMom + g²·(1−sqrMom),
 * p' = p·decay − (m' / (sqrt(v' / debias2) + eps))·step.
 */
__attribute__((target("avx2,fma"))) void adamwRange(const float* p, const float* g, const float* m, const float* v, float* pOut, float* mOut, float* vOut,
                                                    const AdamWScalars& k, size_t i0, size_t i1) {
  const __m256 decay = _mm256_set1_ps(k.decay), mom = _mm256_set1_ps(k.mom), oneMinusMom = _mm256_set1_ps(k.oneMinusMom);
  const __m256 sqrMom = _mm256_set1_ps(k.sqrMom), oneMinusSqrMom = _mm256_set1_ps(k.oneMinusSqrMom), debias2 = _mm256_set1_ps(k.debias2);
  const __m256 eps = _mm256_set1_ps(k.eps), stepSize = _mm256_set1_ps(k.stepSize);
  size_t i = i0;
  for (; i + 8 <= i1; i += 8) {
    const __m256 grad = _mm256_loadu_ps(g + i);
    const __m256 mNew = _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(m + i), mom), _mm256_mul_ps(grad, oneMinusMom));
    const __m256 vNew = _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(v + i), sqrMom), _mm256_mul_ps(_mm256_mul_ps(grad, grad), oneMinusSqrMom));
    _mm256_storeu_ps(mOut + i, mNew);
    _mm256_storeu_ps(vOut + i, vNew);
    const __m256 denominator = _mm256_add_ps(_mm256_sqrt_ps(_mm256_div_ps(vNew, debias2)), eps);
    _mm256_storeu_ps(pOut + i, _mm256_sub_ps(_mm256_mul_ps(_mm256_loadu_ps(p + i), decay), _mm256_mul_ps(_mm256_div_ps(mNew, denominator), stepSize)));
  }
  for (; i < i1; ++i) {
    const float grad = g[i];
    const float mNew = m[i] * k.mom + grad * k.oneMinusMom;
    const float vNew = v[i] * k.sqrMom + (grad * grad) * k.oneMinusSqrMom;
    mOut[i] = mNew;
    vOut[i] = vNew;
    pOut[i] = p[i] * k.decay - (mNew / (std::sqrt(vNew / k.debias2) + k.eps)) * k.stepSize;
  }
}

#endif

}  // namespace ulmfit
