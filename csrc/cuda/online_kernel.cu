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
  return run_restoring(call, [](auto) { return NoPolicy{}; });
}

}  // namespace
}  // namespace torch_perceptron::cuda

TORCH_LIBRARY_IMPL(torch_perceptron, CUDA, m) {
  m.impl("online_update", &torch_perceptron::cuda::online_update_cuda);
}
