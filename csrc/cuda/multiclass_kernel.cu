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
  return run_restoring(call, [](auto) { return NoMulticlassPolicy{}; });
}

}  // namespace
}  // namespace torch_perceptron::cuda

TORCH_LIBRARY_IMPL(torch_perceptron, CUDA, m) {
  m.impl("multiclass_update", &torch_perceptron::cuda::multiclass_update_cuda);
}
