// A row of a CSR matrix as the rules' loops see it: its dot product with a
// weight row and the in-place w += step * x, touching only its non-zeros.
// (scikit-learn's SGD loop asks its CSRDataset rows the same two things.)
// Host and device code alike.
//
// dot() keeps four partial sums, one per non-zero modulo 4, added as
// (s0 + s1) + (s2 + s3) at the end: the adds of consecutive non-zeros do not
// wait on one register, and a row's gathers overlap. add_to() rounds like the
// reference (w + step * x, a product then a sum: built with
// -ffp-contract=off / --fmad=false).
#pragma once

#include <cstdint>

#if defined(__CUDACC__)
#define TP_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define TP_HOST_DEVICE inline __attribute__((always_inline))
#endif

namespace torch_perceptron {

template <typename scalar_t, typename index_t>
struct CsrRow {
  const scalar_t* val;
  const index_t* col;
  int64_t nnz;

  TP_HOST_DEVICE scalar_t dot(const scalar_t* w) const {
    scalar_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int64_t p = 0;
    for (; p + 4 <= nnz; p += 4) {
      s0 += val[p] * w[col[p]];
      s1 += val[p + 1] * w[col[p + 1]];
      s2 += val[p + 2] * w[col[p + 2]];
      s3 += val[p + 3] * w[col[p + 3]];
    }
    if (p < nnz) s0 += val[p] * w[col[p]];
    if (p + 1 < nnz) s1 += val[p + 1] * w[col[p + 1]];
    if (p + 2 < nnz) s2 += val[p + 2] * w[col[p + 2]];
    return (s0 + s1) + (s2 + s3);
  }

  TP_HOST_DEVICE void add_to(scalar_t* w, scalar_t step) const {
    for (int64_t p = 0; p < nnz; ++p) w[col[p]] += step * val[p];
  }
};

// The rows of a CSR matrix [N, in]: row(i) is a CsrRow.
template <typename scalar_t, typename index_t>
struct CsrRows {
  const index_t* crow;  // [N + 1]
  const index_t* col;   // [nnz]
  const scalar_t* val;  // [nnz]
  int64_t n, in;

  TP_HOST_DEVICE CsrRow<scalar_t, index_t> row(int64_t i) const {
    const int64_t lo = crow[i];
    return {val + lo, col + lo, static_cast<int64_t>(crow[i + 1]) - lo};
  }
};

}  // namespace torch_perceptron
