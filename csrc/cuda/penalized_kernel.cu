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
#include "rules.cuh"

namespace torch_perceptron::cuda {
namespace {

constexpr int kThreads = 64;

template <typename scalar_t>
__global__ void penalized_dense_kernel(const PenalizedArgs<scalar_t> a,
                                       const scalar_t* x, int64_t* bad) {
  const int64_t o = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (o >= a.k) return;
  const int64_t in = a.in;
  bad[o] = penalized_walk(
      a, o, [&](int64_t i) { return DenseEntries<scalar_t>{x + i * in, in}; },
      [](int64_t) { return true; });
}

template <typename scalar_t, typename index_t>
__global__ void penalized_csr_kernel(const PenalizedArgs<scalar_t> a,
                                     const CsrRows<scalar_t, index_t> rows,
                                     int64_t* bad) {
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

// Launches `launch(blocks, stream, bad)` and returns the first bad row any
// output met, or -1 (one synchronisation: the copy of `bad`).
template <typename Launch>
int64_t each_output(PenalizedOperands& op, Launch launch) {
  const torch::stable::accelerator::DeviceGuard guard(op.w.get_device_index());
  const cudaStream_t stream = current_stream(op.w.device());
  Tensor bad = zeros({op.k}, ScalarType::Long, op.w.device());
  const unsigned blocks = static_cast<unsigned>((op.k + kThreads - 1) / kThreads);
  launch(blocks, stream, bad.mutable_data_ptr<int64_t>());
  const Tensor host = torch::stable::to(bad, Device(DeviceType::CPU));
  const int64_t* rows = host.const_data_ptr<int64_t>();
  int64_t first = -1;
  for (int64_t o = 0; o < op.k; ++o) {
    if (rows[o] >= 0 && (first < 0 || rows[o] < first)) first = rows[o];
  }
  return first;
}

int64_t run_dense(PenalizedOperands& op) {
  return dispatch_float(op.w.scalar_type(), "online_update_penalized_cuda", [&](auto tag) {
    using scalar_t = decltype(tag);
    const PenalizedArgs<scalar_t> a = op.args<scalar_t>();
    const scalar_t* x = op.x.const_data_ptr<scalar_t>();
    return each_output(op, [&](unsigned blocks, cudaStream_t stream, int64_t* bad) {
      penalized_dense_kernel<scalar_t><<<blocks, kThreads, 0, stream>>>(a, x, bad);
      check_launch("online_update_penalized");
    });
  });
}

int64_t run_csr(PenalizedOperands& op) {
  return dispatch_float(op.w.scalar_type(), "online_update_penalized_csr_cuda", [&](auto tag) {
    using scalar_t = decltype(tag);
    return dispatch_index(op.csr, [&](auto itag) {
      using index_t = decltype(itag);
      const PenalizedArgs<scalar_t> a = op.args<scalar_t>();
      const CsrRows<scalar_t, index_t> rows{
          op.csr.crow.const_data_ptr<index_t>(), op.csr.col.const_data_ptr<index_t>(),
          op.csr.values.const_data_ptr<scalar_t>(), op.rows, op.in};
      return each_output(op, [&](unsigned blocks, cudaStream_t stream, int64_t* bad) {
        penalized_csr_kernel<scalar_t, index_t><<<blocks, kThreads, 0, stream>>>(a, rows, bad);
        check_launch("online_update_penalized_csr");
      });
    });
  });
}

using Entries = PenalizedEntries<&run_dense, &run_csr>;

}  // namespace

STABLE_TORCH_LIBRARY_IMPL(torch_perceptron, CUDA, m) {
  m.impl("online_update_penalized", TORCH_BOX(&Entries::dense));
  m.impl("online_update_penalized_csr", TORCH_BOX(&Entries::csr));
}

}  // namespace torch_perceptron::cuda
