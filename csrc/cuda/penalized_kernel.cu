// The penalized online ops on the GPU: one thread per output walks every
// sample (penalized_rule.h, the CPU's walk). scikit-learn's penalty is a
// chain of dependent scalar steps per sample (scale, step, L1 step, each
// rounding through wscale), and its sums must add in its order to give its
// model, so the walk is not split across threads; what runs in parallel is
// the outputs. The CSR is validated by csr_checks.cu before it runs.
#include <torch/csrc/stable/accelerator.h>

#include <algorithm>

#include "../csr_rows.h"
#include "../penalized_operands.h"
#include "kernels.h"
#include "rules.cuh"

namespace torch_perceptron::cuda {
namespace {

constexpr int kThreads = 64;

template <typename scalar_t>
__global__ void penalized_dense_kernel(const PenalizedArgs<scalar_t> a, const scalar_t* x,
                                       int64_t* bad) {
  const int64_t o = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (o >= a.k) return;
  const int64_t in = a.in;
  bad[o] = penalized_walk(
      a, o, [&](int64_t i) { return DenseEntries<scalar_t>{x + i * in, in}; },
      [](int64_t) { return true; });
}

template <typename scalar_t, typename index_t>
__global__ void penalized_csr_kernel(const PenalizedArgs<scalar_t> a,
                                     const CsrRows<scalar_t, index_t> rows, int64_t* bad) {
  const int64_t o = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (o >= a.k) return;
  bad[o] = penalized_walk(
      a, o,
      [&](int64_t i) {
        const CsrRow<scalar_t, index_t> r = rows.row(i);
        return CsrEntries<scalar_t, index_t>{r.values, r.cols, r.nnz};
      },
      [](int64_t) { return true; });  // checked before (csr_checks.cu)
}

// Output blocks of kThreads threads, one thread an output.
inline unsigned blocks_for(const PenalizedOperands& op) {
  return static_cast<unsigned>((op.k + kThreads - 1) / kThreads);
}

}  // namespace

int64_t penalized_dense(PenalizedOperands& op) {
  return launch_reporting(op.w, op.k, [&](cudaStream_t stream, int64_t* bad) {
    dispatch_float(op.w.scalar_type(), "the penalized rule", [&](auto tag) {
      using scalar_t = decltype(tag);
      const scalar_t* x = op.x.const_data_ptr<scalar_t>();
      penalized_dense_kernel<scalar_t>
          <<<blocks_for(op), kThreads, 0, stream>>>(op.args<scalar_t>(), x, bad);
      check_launch("the penalized rule");
    });
  });
}

int64_t penalized_csr(PenalizedOperands& op) {
  return launch_reporting(op.w, op.k, [&](cudaStream_t stream, int64_t* bad) {
    for_csr_rows(op.csr, "the penalized rule", [&](const auto& rows, auto tag, auto itag) {
      using scalar_t = decltype(tag);
      using index_t = decltype(itag);
      penalized_csr_kernel<scalar_t, index_t>
          <<<blocks_for(op), kThreads, 0, stream>>>(op.args<scalar_t>(), rows, bad);
      check_launch("the penalized rule");
    });
  });
}

}  // namespace torch_perceptron::cuda
