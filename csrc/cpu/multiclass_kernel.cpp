// The multiclass perceptron on the CPU. The loop lives in multiclass_loop.h;
// this op runs it with no extra state.
#include "../checks.h"
#include "multiclass_loop.h"

namespace torch_perceptron {
namespace {

Tensor multiclass_update_cpu(Tensor& weight, Tensor& bias, const Tensor& x,
                             const Tensor& y, double lr,
                             std::optional<Tensor> sample_weight,
                             double bias_step) {
  NoGradGuard no_grad;
  cpu::MulticlassCall call(weight, bias, x, y, lr, sample_weight, bias_step);
  return run_restoring(call, [](auto) { return NoMulticlassPolicy{}; });
}

}  // namespace

STABLE_TORCH_LIBRARY_IMPL(torch_perceptron, CPU, m) {
  m.impl("multiclass_update", TORCH_BOX(&multiclass_update_cpu));
}

}  // namespace torch_perceptron
