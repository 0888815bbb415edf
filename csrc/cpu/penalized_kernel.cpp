// The penalized online ops on the CPU: one walk (penalized_rule.h) per
// output, the outputs shared among torch's threads. The walk is scalar on
// purpose: its sums must add in scikit-learn's order to give its model.
#include <algorithm>
#include <atomic>

#include "../csr_rows.h"
#include "../penalized_operands.h"
#include "kernels.h"
#include "threads.h"

namespace torch_perceptron::cpu {
namespace {

// Runs walk(o) for every output; returns the first bad row any output met.
template <typename Walk>
int64_t each_output(int64_t k, int64_t work, Walk walk) {
  std::atomic<int64_t> bad{-1};
  auto record = [&](int64_t row) {
    if (row < 0) return;
    int64_t seen = bad.load();
    while ((seen < 0 || row < seen) && !bad.compare_exchange_weak(seen, row)) {}
  };
  if (threads_for(work, k) == 1) {
    for (int64_t o = 0; o < k; ++o) record(walk(o));
  } else {
    torch::stable::parallel_for(0, k, 1, [&](int64_t lo, int64_t hi) {
      for (int64_t o = lo; o < hi; ++o) record(walk(o));
    });
  }
  return bad.load();
}

}  // namespace

int64_t penalized_dense(PenalizedOperands& op) {
  return dispatch_float(op.w.scalar_type(), "the penalized rule", [&](auto tag) {
    using scalar_t = decltype(tag);
    const PenalizedArgs<scalar_t> a = op.args<scalar_t>();
    const scalar_t* x = op.x.const_data_ptr<scalar_t>();
    const int64_t in = op.in;
    return each_output(op.k, op.n * op.in * op.k, [&](int64_t o) {
      return penalized_walk(
          a, o, [&](int64_t i) { return DenseEntries<scalar_t>{x + i * in, in}; },
          [](int64_t) { return true; });
    });
  });
}

int64_t penalized_csr(PenalizedOperands& op) {
  return for_csr_rows(op.csr, "the penalized rule", [&](const auto& rows, auto tag, auto itag) {
    using scalar_t = decltype(tag);
    using index_t = decltype(itag);
    const PenalizedArgs<scalar_t> a = op.args<scalar_t>();
    return each_output(op.k, op.csr.nnz * op.k + op.n, [&](int64_t o) {
      return penalized_walk(
          a, o,
          [&](int64_t i) {
            const CsrRow<scalar_t, index_t> r = rows.row(i);
            return CsrEntries<scalar_t, index_t>{r.values, r.cols, r.nnz};
          },
          // The columns are checked before the row's weights are read
          // (csr_checks.h's step 4, in the loop on the CPU).
          [&](int64_t i) {
            const CsrRow<scalar_t, index_t> r = rows.row(i);
            return csr_row_ok(r.cols, r.nnz, op.in);
          });
    });
  });
}

}  // namespace torch_perceptron::cpu
