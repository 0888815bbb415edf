// A CSR row's dot product with a weight row on the CPU, the one inner loop of
// the row-major sparse rules and of the sparse forward (csr_online_loop.h,
// csr_kernels.cpp).
//
// Its order: L = 32 / sizeof(scalar_t) partial sums (8 for float, 4 for
// double); lane l adds the products of the row's non-zeros p = l, l + L, ...
// in turn (each product rounded, then added), and the lanes are combined
// pairwise by vec.h's reduce. That is one vector register of an AVX2 gather
// loop: the K = 1 epoch of RCV1-shaped data (benchmarks/sparse.py) was
// measured faster than with a scalar loop with four partial sums (the loop
// scikit-learn's epoch matches, bound by issuing a load per non-zero; see
// docs/sparse_design.md, session 6). Where the gather does not apply (no AVX2 in the
// build, int64 column indices) a scalar loop keeps the same lanes, so every
// path gives the same bits (tests/test_csr_dot_order.py).
//
// Checked (kCheck), it is also the CPU's step 4 of the validation for the row
// (csr_checks.h), fused into the same loop: `good` says whether the columns
// strictly increase from >= 0 to < features. A column is clamped into range
// before its weight is read, so a bad row never reads out of bounds; its
// value is thrown away. (A separate pass over the columns added a large share
// to the K = 1 epoch, measured: docs/sparse_design.md.)
#pragma once

#include <algorithm>
#include <cstdint>
#include <type_traits>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

#include "../rows.h"
#include "vec.h"

namespace torch_perceptron::cpu {

// The lanes as a scalar loop: any index type, any build.
template <bool kCheck, typename scalar_t, typename index_t>
[[gnu::always_inline, gnu::optimize("no-tree-vectorize")]] inline scalar_t dot_lanes_scalar(
    const CsrRow<scalar_t, index_t>& row, const scalar_t* w, int64_t features, bool& good) {
  using U = std::make_unsigned_t<index_t>;
  constexpr int L = kLanes<scalar_t>;
  const scalar_t* v = row.values;
  const index_t* c = row.cols;
  const U last = static_cast<U>(features > 0 ? features - 1 : 0);
  Vec<scalar_t> sum = {};
  bool rising = true;
  int64_t prev = -1;
  for (int64_t p = 0; p < row.nnz; p += L) {
    const int64_t n = std::min<int64_t>(L, row.nnz - p);
    for (int l = 0; l < n; ++l) {
      index_t j = c[p + l];
      if constexpr (kCheck) {
        rising &= j > prev;
        prev = j;
        j = static_cast<index_t>(std::min(static_cast<U>(j), last));
      }
      sum[l] += v[p + l] * w[j];
    }
  }
  if constexpr (kCheck) good = rising & (prev < features);
  return reduce(sum);
}

#if defined(__AVX2__)

// float, int32 columns: eight lanes, one 256-bit gather per eight non-zeros.
// The check compares each column with the one before it (the register
// rotated by a lane, the previous register's last column shifted in).
template <bool kCheck>
[[gnu::always_inline]] inline float dot_lanes_avx2(const CsrRow<float, int32_t>& row,
                                                   const float* w, int64_t features, bool& good) {
  const float* v = row.values;
  const int32_t* c = row.cols;
  const int64_t nnz = row.nnz;
  const __m256i last = _mm256_set1_epi32(
      static_cast<int32_t>(features > 0 ? std::min<int64_t>(features - 1, INT32_MAX) : 0));
  const __m256i rotate = _mm256_setr_epi32(7, 0, 1, 2, 3, 4, 5, 6);
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  __m256 sum = _mm256_setzero_ps();
  __m256i bad = _mm256_setzero_si256();
  __m256i prev = _mm256_set1_epi32(-1);
  auto checked = [&](__m256i cols, __m256i live) {
    if constexpr (kCheck) {
      const __m256i before = _mm256_blend_epi32(_mm256_permutevar8x32_epi32(cols, rotate), prev, 1);
      prev = _mm256_permutevar8x32_epi32(cols, _mm256_set1_epi32(7));
      // A live lane whose column is not above the one before it.
      const __m256i rising = _mm256_cmpgt_epi32(cols, before);
      bad = _mm256_or_si256(bad, _mm256_andnot_si256(rising, live));
      return _mm256_min_epu32(cols, last);
    }
    return cols;
  };
  const __m256i all = _mm256_set1_epi32(-1);
  int64_t p = 0;
  for (; p + 8 <= nnz; p += 8) {
    const __m256i cols = checked(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(c + p)), all);
    const __m256 x = _mm256_loadu_ps(v + p);
    sum = _mm256_add_ps(sum, _mm256_mul_ps(x, _mm256_i32gather_ps(w, cols, 4)));
  }
  if (p < nnz) {
    const __m256i live = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int32_t>(nnz - p)), lane);
    const __m256i cols = checked(_mm256_maskload_epi32(c + p, live), live);
    const __m256 x = _mm256_maskload_ps(v + p, live);
    const __m256 g =
        _mm256_mask_i32gather_ps(_mm256_setzero_ps(), w, cols, _mm256_castsi256_ps(live), 4);
    // The dead lanes add 0 * 0 = +0, which leaves a partial sum's bits (a
    // sum started at +0 is never -0).
    sum = _mm256_add_ps(sum, _mm256_mul_ps(x, g));
  }
  if constexpr (kCheck) {
    good = _mm256_testz_si256(bad, bad) && (nnz == 0 || c[nnz - 1] < features);
  }
  return reduce(reinterpret_cast<const Vec<float>&>(sum));
}

// double, int32 columns: four lanes, a 128-bit register of columns per
// 256-bit gather.
template <bool kCheck>
[[gnu::always_inline]] inline double dot_lanes_avx2(const CsrRow<double, int32_t>& row,
                                                    const double* w, int64_t features, bool& good) {
  const double* v = row.values;
  const int32_t* c = row.cols;
  const int64_t nnz = row.nnz;
  const __m128i last = _mm_set1_epi32(
      static_cast<int32_t>(features > 0 ? std::min<int64_t>(features - 1, INT32_MAX) : 0));
  const __m128i lane = _mm_setr_epi32(0, 1, 2, 3);
  __m256d sum = _mm256_setzero_pd();
  __m128i bad = _mm_setzero_si128();
  __m128i prev = _mm_set1_epi32(-1);
  auto checked = [&](__m128i cols, __m128i live) {
    if constexpr (kCheck) {
      // [prev's last, cols 0..2]
      const __m128i before = _mm_alignr_epi8(cols, prev, 12);
      prev = cols;
      const __m128i rising = _mm_cmpgt_epi32(cols, before);
      bad = _mm_or_si128(bad, _mm_andnot_si128(rising, live));
      return _mm_min_epu32(cols, last);
    }
    return cols;
  };
  const __m128i all = _mm_set1_epi32(-1);
  int64_t p = 0;
  for (; p + 4 <= nnz; p += 4) {
    const __m128i cols = checked(_mm_loadu_si128(reinterpret_cast<const __m128i*>(c + p)), all);
    const __m256d x = _mm256_loadu_pd(v + p);
    sum = _mm256_add_pd(sum, _mm256_mul_pd(x, _mm256_i32gather_pd(w, cols, 8)));
  }
  if (p < nnz) {
    const __m128i live = _mm_cmpgt_epi32(_mm_set1_epi32(static_cast<int32_t>(nnz - p)), lane);
    const __m128i cols = checked(_mm_maskload_epi32(c + p, live), live);
    const __m256i live64 = _mm256_cvtepi32_epi64(live);
    const __m256d x = _mm256_maskload_pd(v + p, live64);
    const __m256d g =
        _mm256_mask_i32gather_pd(_mm256_setzero_pd(), w, cols, _mm256_castsi256_pd(live64), 8);
    sum = _mm256_add_pd(sum, _mm256_mul_pd(x, g));
  }
  if constexpr (kCheck) { good = _mm_testz_si128(bad, bad) && (nnz == 0 || c[nnz - 1] < features); }
  return reduce(reinterpret_cast<const Vec<double>&>(sum));
}

#endif  // __AVX2__

// sum_p values[p] * w[cols[p]] in the lanes' order (above); checked, `good`
// says whether the row's columns are valid.
template <bool kCheck, typename scalar_t, typename index_t>
[[gnu::always_inline]] inline scalar_t csr_dot(const CsrRow<scalar_t, index_t>& row,
                                               const scalar_t* w, int64_t features, bool& good) {
#if defined(__AVX2__)
  if constexpr (std::is_same_v<index_t, int32_t>) {
    return dot_lanes_avx2<kCheck>(row, w, features, good);
  }
#endif
  return dot_lanes_scalar<kCheck>(row, w, features, good);
}

}  // namespace torch_perceptron::cpu
