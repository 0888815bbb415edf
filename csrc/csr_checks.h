// Validation of a CSR input (the sparse ops' x), shared by every device.
//
// The order is the one docs/sparse_design.md gives, every check before the
// first write: (1) dtypes and devices, (2) shapes, (3) crow_indices from 0 to
// nnz and non-decreasing, (4) one pass over the non-zeros: columns in
// [0, n_features) and strictly increasing within a row, values finite; then
// (5) labels and sample weights as the dense ops (operands).
//
// Step 4 is where the CPU would pay: it reads col_indices and values once, as
// much as a whole epoch of the K = 1 rule reads, so a separate pass would
// double the epoch. On the CPU it therefore runs inside the rule's loop: each
// row's columns are checked before its weights are read, so nothing is ever
// read out of bounds, and a non-finite value shows as a non-finite decision
// value, as for the dense ops (checks.h). A kernel that stops at a bad row
// reports it; what the call wrote is then undone (restore.h) and
// fail_csr_row() names the argument at fault. (So a call
// with both a bad column and a bad label reports the label: labels are
// checked up front.) On CUDA step 4 is one reduction kernel, run before the
// update, whose error code is read once (cuda/csr_checks.cu).
#pragma once

#include <cstdint>

#include "csr_rows.h"
#include "stable.h"

namespace torch_perceptron {

// A validated CSR input: contiguous tensors on the weights' device.
struct CsrInput {
  Tensor crow, col, values;
  int64_t n = 0, nnz = 0, features = 0;
  bool rows_checked = false;  // step 4 done (CUDA); on the CPU the loop does it
};

// Steps 1-3 on any device, and step 4 on CUDA. weight is already validated
// (check_params).
CsrInput check_csr(const Tensor& crow_indices, const Tensor& col_indices, const Tensor& values,
                   int64_t n_features, const Tensor& weight);

// What is wrong with a CSR input, found by a scan (CPU) or a kernel (CUDA).
enum class CsrFault : int64_t {
  kNone = 0,
  kColumnRange = 1,     // col_indices[at] outside [0, n_features)
  kColumnOrder = 2,     // col_indices[at] <= col_indices[at - 1] in one row
  kValueNotFinite = 3,  // values[at] NaN or Inf
  kCrowStart = 4,       // crow_indices[0] != 0
  kCrowEnd = 5,         // crow_indices[N] != nnz
  kCrowOrder = 6,       // crow_indices[at] < crow_indices[at - 1]
};

// Raises the error for a fault at position `at` (of col_indices / values, or
// of crow_indices) in row `row`.
[[noreturn]] void fail_csr(const CsrInput& x, CsrFault fault, int64_t row, int64_t at);

// Raises the error for row `row`, at which a CPU loop stopped: a bad column,
// a non-finite value, or else an overflow of the decision value.
[[noreturn]] void fail_csr_row(const CsrInput& x, int64_t row);

// Whether the columns of one row are strictly increasing and in
// [0, features): the CPU loops' step 4, before the row's weights are read.
// No early exit: the loop vectorises, and a bad row is rare.
template <typename index_t>
inline bool csr_row_ok(const index_t* col, int64_t nnz, int64_t features) {
  if (nnz == 0) return true;
  bool rising = true;
  for (int64_t p = 1; p < nnz; ++p) rising &= col[p] > col[p - 1];
  // Strictly increasing: the first and last bound every column.
  return rising & (col[0] >= 0) & (static_cast<int64_t>(col[nnz - 1]) < features);
}

// Calls f(index_t{}) with int32_t or int64_t, the index dtype of x.
template <typename F>
decltype(auto) dispatch_index(const CsrInput& x, F&& f) {
  if (x.col.scalar_type() == ScalarType::Int) return f(int32_t{});
  return f(int64_t{});
}

// Calls f(rows, scalar_t{}, index_t{}) with x's rows as a CsrRows
// (csr_rows.h), its value and index dtypes dispatched.
template <typename F>
decltype(auto) for_csr_rows(const CsrInput& x, const char* what, F&& f) {
  return dispatch_float(x.values.scalar_type(), what, [&](auto tag) {
    using scalar_t = decltype(tag);
    return dispatch_index(x, [&](auto itag) {
      using index_t = decltype(itag);
      return f(CsrRows<scalar_t, index_t>{x.crow.const_data_ptr<index_t>(),
                                          x.col.const_data_ptr<index_t>(),
                                          x.values.const_data_ptr<scalar_t>(), x.n, x.features},
               tag, itag);
    });
  });
}

#ifdef WITH_CUDA
// Step 4 (and 3) on the GPU: the first fault of x (by position) and where.
// One synchronisation. Defined in cuda/csr_checks.cu.
void check_csr_rows_cuda(const CsrInput& x);
#endif

}  // namespace torch_perceptron
