// The multiclass perceptron on the CPU. The loop lives in multiclass_loop.h;
// this op runs it with no extra state.
#include <ATen/ATen.h>
#include <torch/library.h>

#include "../checks.h"
#include "multiclass_loop.h"

namespace torch_perceptron {
namespace {

at::Tensor multiclass_update_cpu(
    at::Tensor& weight, at::Tensor& bias, const at::Tensor& x,
    const at::Tensor& y, double lr,
    const std::optional<at::Tensor>& sample_weight) {
  cpu::MulticlassCall call(weight, bias, x, y, lr, sample_weight);
  return run_restoring(call, [](auto) { return cpu::NoMulticlassPolicy{}; });
}

}  // namespace

TORCH_LIBRARY_IMPL(torch_perceptron, CPU, m) {
  m.impl("multiclass_update", &multiclass_update_cpu);
}

}  // namespace torch_perceptron
