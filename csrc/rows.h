// A sample's row of x, as the variants' hooks (policies.h) see it: whatever
// the input format, a row only answers its dot product with a weight row and
// adds a multiple of itself to one (scikit-learn's SequentialDataset does the
// same for its SGD loop). A new input format is one more row type here, not a
// second copy of every policy. The rules' own dense loops keep their padded,
// grouped fast paths (cpu/online_loop.h, cpu/vec.h, cuda/rules.cuh); these
// types are for what runs beside them.
//
// Both compile as host code (g++) and as device code (nvcc). The rounding is
// the reference's (torch_perceptron/reference/rows.py, DenseRow, CSRRow): a
// product, then a sum, element by element (the extension is built with
// -ffp-contract=off and --fmad=false, so no FMA fuses the two).
#pragma once

#include <cstdint>

#if defined(__CUDACC__)
#define TP_HOST_DEVICE __host__ __device__
#else
#define TP_HOST_DEVICE
#endif

namespace torch_perceptron {

// x_i, all `length` (= in_features) of it.
template <typename scalar_t>
struct DenseRow {
  const scalar_t* values;  // [length]
  int64_t length;
  // add_to shares the row's elements among a block's threads as the hooks
  // share w_o's (element j by thread j % blockDim.x): a hook's reads of w_o
  // need no barrier before the step (policies.h). A CsrRow shares its
  // non-zeros instead.
  static constexpr bool kSharesByElement = true;

  // sum_j x_j * w[j], in element order.
  TP_HOST_DEVICE scalar_t dot(const scalar_t* w) const {
    scalar_t sum = 0;
    for (int64_t j = 0; j < length; ++j) sum += values[j] * w[j];
    return sum;
  }

  // w[j] += coef * x_j. The elements first, first + stride, ...: a CUDA block
  // passes (threadIdx.x, blockDim.x) to share the row, element j then being
  // written by thread j % blockDim.x, as the rules' own steps are.
  TP_HOST_DEVICE void add_to(scalar_t* __restrict__ w, scalar_t coef, int64_t first = 0,
                             int64_t stride = 1) const {
    const scalar_t* __restrict__ x = values;
    for (int64_t j = first; j < length; j += stride) w[j] += coef * x[j];
  }
};

// Row i of a CSR matrix: its nnz values and their columns (strictly
// increasing, in [0, in_features)). The other columns are never read nor
// written, so a step costs the row's non-zeros, not in_features.
template <typename scalar_t, typename index_t>
struct CsrRow {
  const scalar_t* values;  // [nnz]
  const index_t* cols;     // [nnz]
  int64_t nnz;
  static constexpr bool kSharesByElement = false;

  // sum_p values[p] * w[cols[p]], in the row's order.
  TP_HOST_DEVICE scalar_t dot(const scalar_t* w) const {
    scalar_t sum = 0;
    for (int64_t p = 0; p < nnz; ++p) sum += values[p] * w[cols[p]];
    return sum;
  }

  // w[cols[p]] += coef * values[p] for the non-zeros p = first, first +
  // stride, ... (distinct columns: threads that share the row never write
  // one weight twice).
  TP_HOST_DEVICE void add_to(scalar_t* __restrict__ w, scalar_t coef, int64_t first = 0,
                             int64_t stride = 1) const {
    for (int64_t p = first; p < nnz; p += stride) { w[cols[p]] += coef * values[p]; }
  }
};

// The rows of a dense, contiguous x [n, in] as a row source: rows.row(i) is
// row i as a DenseRow (csr_rows.h's CsrRows is the CSR one), for the loops
// that take any row source.
template <typename scalar_t>
struct DenseRows {
  using scalar_type = scalar_t;
  static constexpr bool kDense = true;
  const scalar_t* x;  // [n, in]
  int64_t n, in;

  TP_HOST_DEVICE DenseRow<scalar_t> row(int64_t i) const { return {x + i * in, in}; }
};

}  // namespace torch_perceptron
