// The multiclass perceptron on the GPU. The kernel lives in
// multiclass_rule.cuh; this op runs it with no extra state.
#include "../checks.h"
#include "multiclass_rule.cuh"

namespace torch_perceptron::cuda {
namespace {

Tensor multiclass_update_cuda(Tensor& weight, Tensor& bias, const Tensor& x,
                              const Tensor& y, double lr,
                              std::optional<Tensor> sample_weight,
                              double bias_step) {
  NoGradGuard no_grad;
  MulticlassCall call(weight, bias, x, y, lr, sample_weight, bias_step);
  return run_restoring(call, [](auto) { return NoMulticlassPolicy{}; });
}

}  // namespace

STABLE_TORCH_LIBRARY_IMPL(torch_perceptron, CUDA, m) {
  m.impl("multiclass_update",
         TORCH_BOX(&multiclass_update_cuda));
}

}  // namespace torch_perceptron::cuda
