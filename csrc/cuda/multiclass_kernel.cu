// The multiclass perceptron on the GPU. The kernel lives in
// multiclass_rule.cuh; this op runs it with no extra state.
#include <ATen/ATen.h>
#include <torch/library.h>

#include "../checks.h"
#include "multiclass_rule.cuh"

namespace torch_perceptron::cuda {
namespace {

at::Tensor multiclass_update_cuda(
    at::Tensor& weight, at::Tensor& bias, const at::Tensor& x,
    const at::Tensor& y, double lr,
    const std::optional<at::Tensor>& sample_weight) {
  MulticlassCall call(weight, bias, x, y, lr, sample_weight);
  if (call.n == 0) return call.mistakes;
  const at::Tensor w_saved = call.w.clone(), b_saved = call.b.clone();
  const int64_t bad_row = call.run([](auto) { return NoMulticlassPolicy{}; });
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
  m.impl("multiclass_update", &torch_perceptron::cuda::multiclass_update_cuda);
}
