// The sparse (CSR) ops on the GPU: the forward, the mini-batch rule, and the
// plain online and multiclass rules (their kernels in csr_rules.cuh; the
// averaged and pocket variants register beside the dense ones, in
// averaged_kernel.cu and pocket_kernel.cu). The CSR is validated by
// csr_checks.cu before any of them runs.
#include <torch/csrc/stable/accelerator.h>

#include "../csr_entries.h"
#include "csr_rules.cuh"

namespace torch_perceptron::cuda {
namespace {

// z[i, o] = row_i . w_o + b_o, one warp per (row, output); the first row
// with a non-finite value (an overflow: the values are finite) into *bad.
template <typename scalar_t, typename index_t>
__global__ void csr_forward_kernel(const CsrRows<scalar_t, index_t> x,
                                   const scalar_t* w, const scalar_t* b,
                                   int64_t k, scalar_t* z,
                                   unsigned long long* bad) {
  const int lane = threadIdx.x % kWarp;
  const int64_t warps = static_cast<int64_t>(gridDim.x) * (blockDim.x / kWarp);
  for (int64_t p = (blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x) / kWarp;
       p < x.n * k; p += warps) {
    const int64_t i = p / k, o = p % k;
    const scalar_t v = warp_csr_dot(x.row(i), w + o * x.in, lane) + b[o];
    if (lane == 0) {
      z[p] = v;
      if (!isfinite(v)) atomicMin(bad, static_cast<unsigned long long>(i));
    }
  }
}

Tensor net_input_csr(const CsrInput& x, const Tensor& weight,
                     const Tensor& bias) {
  const torch::stable::accelerator::DeviceGuard guard(weight.get_device_index());
  const Tensor w = as_contiguous(weight), b = as_contiguous(bias);
  const int64_t n = x.n, k = w.size(0);
  Tensor z = zeros({n, k}, w.scalar_type(), w.device());
  if (n == 0) return z;
  const Tensor bad = torch::stable::full(std::vector<int64_t>{1}, -1.0,
                                         ScalarType::Long, std::nullopt, w.device());
  const cudaStream_t stream = current_stream(w.device());
  const int threads = 256;
  const int64_t blocks =
      std::min<int64_t>((n * k + threads / kWarp - 1) / (threads / kWarp), 65535);
  dispatch_float(w.scalar_type(), "decision_function_csr_cuda", [&](auto tag) {
    using scalar_t = decltype(tag);
    dispatch_index(x, [&](auto itag) {
      using index_t = decltype(itag);
      const CsrRows<scalar_t, index_t> rows{
          x.crow.const_data_ptr<index_t>(), x.col.const_data_ptr<index_t>(),
          x.values.const_data_ptr<scalar_t>(), n, x.features};
      csr_forward_kernel<scalar_t, index_t>
          <<<static_cast<unsigned>(blocks), threads, 0, stream>>>(
              rows, w.const_data_ptr<scalar_t>(), b.const_data_ptr<scalar_t>(),
              k, z.mutable_data_ptr<scalar_t>(),
              reinterpret_cast<unsigned long long*>(bad.mutable_data_ptr<int64_t>()));
      check_launch("decision_function_csr");
    });
  });
  // -1 is the largest unsigned value: "none".
  const int64_t first = first_bad_row(bad);
  if (first >= 0) fail_csr_row(x, first);
  return z;
}

Tensor online_update_csr_cuda(Tensor& weight, Tensor& bias,
                              const Tensor& crow_indices,
                              const Tensor& col_indices, const Tensor& values,
                              int64_t n_features, const Tensor& y, double lr,
                              std::optional<Tensor> sample_weight,
                              bool zero_is_mistake, double bias_step,
                              std::optional<Tensor> loss,
                              std::optional<Tensor> order) {
  NoGradGuard no_grad;
  CsrOnlineCall call(weight, bias, crow_indices, col_indices, values,
                     n_features, y, lr, sample_weight, zero_is_mistake,
                     bias_step, loss, order);
  return run_restoring_csr(call, [](auto) { return NoPolicy{}; });
}

Tensor multiclass_update_csr_cuda(Tensor& weight, Tensor& bias,
                                  const Tensor& crow_indices,
                                  const Tensor& col_indices,
                                  const Tensor& values, int64_t n_features,
                                  const Tensor& y, double lr,
                                  std::optional<Tensor> sample_weight,
                                  double bias_step) {
  NoGradGuard no_grad;
  CsrMulticlassCall call(weight, bias, crow_indices, col_indices, values,
                         n_features, y, lr, sample_weight, bias_step);
  return run_restoring_csr(call, [](auto) { return NoMulticlassPolicy{}; });
}

// The mini-batch steps after the forward: one block per output walks the rows
// in order (the reference's order, so the rounding is the CPU's), its threads
// sharing each wrong row's non-zeros, a barrier between two rows (a column
// may come to another thread in the next row).
template <typename scalar_t, typename index_t>
__global__ void csr_batch_step_kernel(const CsrRows<scalar_t, index_t> x,
                                      const scalar_t* z, const scalar_t* y,
                                      const scalar_t* sw, int64_t k,
                                      scalar_t lr, scalar_t bias_step,
                                      bool zero_is_mistake, scalar_t* w,
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

void batch_steps_csr(CsrOnlineOperands& call, const Tensor& z, double lr,
                     bool zero_is_mistake, double bias_step) {
  const torch::stable::accelerator::DeviceGuard guard(call.w.get_device_index());
  const cudaStream_t stream = current_stream(call.w.device());
  dispatch_float(call.w.scalar_type(), "batch_update_csr_cuda", [&](auto tag) {
    using scalar_t = decltype(tag);
    dispatch_index(call.x, [&](auto itag) {
      using index_t = decltype(itag);
      csr_batch_step_kernel<scalar_t, index_t>
          <<<static_cast<unsigned>(call.k), 256, 0, stream>>>(
              call.rows<scalar_t, index_t>(), z.const_data_ptr<scalar_t>(),
              call.y.const_data_ptr<scalar_t>(),
              call.sw ? call.sw->const_data_ptr<scalar_t>() : nullptr, call.k,
              static_cast<scalar_t>(lr), static_cast<scalar_t>(bias_step),
              zero_is_mistake, call.w.mutable_data_ptr<scalar_t>(),
              call.b.mutable_data_ptr<scalar_t>(),
              call.mistakes.mutable_data_ptr<int64_t>());
      check_launch("batch_update_csr");
    });
  });
}

using Entries = CsrForwardEntries<&net_input_csr, &batch_steps_csr>;

Tensor predict_csr_cuda(const Tensor& crow_indices, const Tensor& col_indices,
                        const Tensor& values, int64_t n_features,
                        const Tensor& weight, const Tensor& bias) {
  NoGradGuard no_grad;
  const Tensor z = Entries::decision_function(crow_indices, col_indices, values,
                                              n_features, weight, bias);
  return aten("aten::heaviside", "", z, scalar_like(z, 0));
}

}  // namespace

STABLE_TORCH_LIBRARY_IMPL(torch_perceptron, CUDA, m) {
  m.impl("decision_function_csr", TORCH_BOX(&Entries::decision_function));
  m.impl("predict_csr", TORCH_BOX(&predict_csr_cuda));
  m.impl("online_update_csr", TORCH_BOX(&online_update_csr_cuda));
  m.impl("multiclass_update_csr", TORCH_BOX(&multiclass_update_csr_cuda));
  m.impl("batch_update_csr", TORCH_BOX(&Entries::batch_update));
}

}  // namespace torch_perceptron::cuda
