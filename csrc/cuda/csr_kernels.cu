// The CSR forward and the CSR mini-batch steps on the GPU (entries.h's
// CsrForward and CsrBatchCall run them; the online and multiclass rules take
// CSR rows in online_rule.cuh and multiclass_rule.cuh). The CSR is validated
// by csr_checks.cu before any of them runs.
#include <torch/csrc/stable/accelerator.h>

#include "kernels.h"
#include "rules.cuh"

namespace torch_perceptron::cuda {
namespace {

// z[i, o] = row_i . w_o + b_o, one warp per (row, output); the first row
// with a non-finite value (an overflow: the values are finite) into *bad.
template <typename scalar_t, typename index_t>
__global__ void csr_forward_kernel(const CsrRows<scalar_t, index_t> x, const scalar_t* w,
                                   const scalar_t* b, int64_t k, scalar_t* z,
                                   unsigned long long* bad) {
  const int lane = threadIdx.x % kWarp;
  const int64_t warps = static_cast<int64_t>(gridDim.x) * (blockDim.x / kWarp);
  for (int64_t p = (blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x) / kWarp;
       p < x.n * k; p += warps) {
    const int64_t i = p / k, o = p % k;
    const scalar_t v = warp_row_dot(x.row(i), w + o * x.in, lane) + b[o];
    if (lane == 0) {
      z[p] = v;
      if (!isfinite(v)) atomicMin(bad, static_cast<unsigned long long>(i));
    }
  }
}

}  // namespace

Tensor net_input_csr(const CsrInput& x, const Tensor& weight, const Tensor& bias) {
  const torch::stable::accelerator::DeviceGuard guard(weight.get_device_index());
  const Tensor w = as_contiguous(weight), b = as_contiguous(bias);
  const int64_t n = x.n, k = w.size(0);
  Tensor z = zeros({n, k}, w.scalar_type(), w.device());
  if (n == 0) return z;
  const Tensor bad = torch::stable::full(std::vector<int64_t>{1}, -1.0, ScalarType::Long,
                                         std::nullopt, w.device());
  const cudaStream_t stream = current_stream(w.device());
  const int threads = 256;
  const int64_t blocks =
      std::min<int64_t>((n * k + threads / kWarp - 1) / (threads / kWarp), 65535);
  for_csr_rows(x, "the CSR forward", [&](const auto& rows, auto tag, auto itag) {
    using scalar_t = decltype(tag);
    using index_t = decltype(itag);
    csr_forward_kernel<scalar_t, index_t><<<static_cast<unsigned>(blocks), threads, 0, stream>>>(
        rows, w.const_data_ptr<scalar_t>(), b.const_data_ptr<scalar_t>(), k,
        z.mutable_data_ptr<scalar_t>(),
        reinterpret_cast<unsigned long long*>(bad.mutable_data_ptr<int64_t>()));
    check_launch("the CSR forward");
  });
  // -1 is the largest unsigned value: "none".
  const int64_t first = first_bad_row(bad);
  if (first >= 0) fail_csr_row(x, first);
  return z;
}

namespace {

// The mini-batch steps after the forward: one block per output walks the rows
// in order (the reference's order, so the rounding is the CPU's), its threads
// sharing each wrong row's non-zeros, a barrier between two rows (a column
// may come to another thread in the next row).
template <typename scalar_t, typename index_t>
__global__ void csr_batch_step_kernel(const CsrRows<scalar_t, index_t> x, const scalar_t* z,
                                      const scalar_t* y, const scalar_t* sw, int64_t k, scalar_t lr,
                                      scalar_t bias_step, bool zero_is_mistake, scalar_t* w,
                                      scalar_t* b, int64_t* mistakes) {
  const int64_t o = blockIdx.x;
  scalar_t* w_o = w + o * x.in;
  scalar_t err_sum = 0;
  int64_t wrong = 0;
  for (int64_t i = 0; i < x.n; ++i) {
    const scalar_t err = online_error(z[i * k + o], y[i * k + o], zero_is_mistake);
    if (err == 0) continue;
    const scalar_t scale = sw != nullptr ? err * sw[i] : err;
    x.row(i).add_to(w_o, lr * scale, threadIdx.x, blockDim.x);
    err_sum += scale;
    ++wrong;
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    if (bias_step != 0) b[o] += (lr * err_sum) * bias_step;
    mistakes[o] = wrong;
  }
}

}  // namespace

void batch_steps_csr(CsrOnlineOperands& call, const Tensor& z) {
  const torch::stable::accelerator::DeviceGuard guard(call.w.get_device_index());
  const cudaStream_t stream = current_stream(call.w.device());
  for_csr_rows(call.x, "the CSR mini-batch rule", [&](const auto& rows, auto tag, auto itag) {
    using scalar_t = decltype(tag);
    using index_t = decltype(itag);
    csr_batch_step_kernel<scalar_t, index_t><<<static_cast<unsigned>(call.k), 256, 0, stream>>>(
        rows, z.const_data_ptr<scalar_t>(), call.y.const_data_ptr<scalar_t>(),
        call.sw ? call.sw->const_data_ptr<scalar_t>() : nullptr, call.k,
        static_cast<scalar_t>(call.lr), static_cast<scalar_t>(call.bias_step), call.zero_is_mistake,
        call.w.mutable_data_ptr<scalar_t>(), call.b.mutable_data_ptr<scalar_t>(),
        call.mistakes.mutable_data_ptr<int64_t>());
    check_launch("the CSR mini-batch rule");
  });
}

}  // namespace torch_perceptron::cuda
