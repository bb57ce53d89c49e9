// Vector math the kernels share (the AVX2 exp behind every σ and softmax).
#pragma once

#include "common.h"

#if ULMFIT_X64
namespace ulmfit {

/**
 * e^x for 8 floats: x = n ln 2 + r with |r| <= ln 2 / 2, e^r by a degree-7 polynomial (Cephes'
 * expf coefficients: about 1 ulp), 2^n by the exponent bits; 0 below -87.3, +inf above 88.3, NaN for NaN.
 */
__attribute__((target("avx2,fma"))) inline __m256 exp8(__m256 input) {
  // max/min return their second operand when one is NaN: input second, so NaN passes through.
  const __m256 x = _mm256_min_ps(_mm256_set1_ps(88.3f), _mm256_max_ps(_mm256_set1_ps(-87.3f), input));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 y = _mm256_set1_ps(1.9875691500e-4f);
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(1.3981999507e-3f));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(8.3334519073e-3f));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(4.1665795894e-2f));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(1.6666665459e-1f));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(5.0000001201e-1f));
  y = _mm256_fmadd_ps(y, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  const __m256i exponent = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  const __m256 result = _mm256_mul_ps(y, _mm256_castsi256_ps(exponent));
  // Below the clamp e^x is 0 and above it +inf, as std::exp gives (NaN compares "not less than"
  // and not "greater than": it stays NaN).
  const __m256 low = _mm256_and_ps(result, _mm256_cmp_ps(input, _mm256_set1_ps(-87.3f), _CMP_NLT_UQ));
  return _mm256_blendv_ps(low, _mm256_set1_ps(INFINITY), _mm256_cmp_ps(input, _mm256_set1_ps(88.3f), _CMP_GT_OQ));
}

}  // namespace ulmfit
#endif
