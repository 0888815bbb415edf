// The rows of a CSR matrix as a row source: rows.row(i) is row i as a
// CsrRow (rows.h), which the rules' loops and the variants' hooks ask for its
// dot product and its in-place update. Host and device code alike.
#pragma once

#include <cstdint>

#include "rows.h"

namespace torch_perceptron {

template <typename scalar_t, typename index_t>
struct CsrRows {
  using scalar_type = scalar_t;
  static constexpr bool kDense = false;
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
