// The seed's online rule on the GPU, for K independent outputs (one-vs-rest).
// The kernel lives in online_rule.cuh; this op runs it with no extra state.
#include <ATen/ATen.h>
#include <torch/library.h>

#include "../checks.h"
#include "online_rule.cuh"

namespace torch_perceptron::cuda {
namespace {

at::Tensor online_update_cuda(at::Tensor& weight, at::Tensor& bias,
                              const at::Tensor& x, const at::Tensor& y,
                              double lr,
                              const std::optional<at::Tensor>& sample_weight,
                              bool zero_is_mistake) {
  OnlineCall call(weight, bias, x, y, lr, sample_weight, zero_is_mistake);
  if (call.n == 0) return call.mistakes;
  // Finiteness of x is checked in the same pass (see checks.h): keep what to
  // restore if a bad row turns up after some updates.
  const at::Tensor w_saved = call.w.clone(), b_saved = call.b.clone();
  const int64_t bad_row = call.run([](auto) { return NoPolicy{}; });
  if (bad_row >= 0) {
    weight.copy_(w_saved);
    bias.copy_(b_saved);
    fail_non_finite_row(bad_row);
  }
  call.finish();
  return call.mistakes;
}

}  // namespace
}  // namespace torch_perceptron::cuda

TORCH_LIBRARY_IMPL(torch_perceptron, CUDA, m) {
  m.impl("online_update", &torch_perceptron::cuda::online_update_cuda);
}
