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
  if (call.n == 0) return call.mistakes;
  const at::Tensor w_saved = call.w.clone(), b_saved = call.b.clone();
  const int64_t bad_row =
      call.run([](auto) { return cpu::NoMulticlassPolicy{}; });
  if (bad_row >= 0) {
    weight.copy_(w_saved);
    bias.copy_(b_saved);
    fail_non_finite_row(bad_row);
  }
  call.finish();
  return call.mistakes;
}

}  // namespace

TORCH_LIBRARY_IMPL(torch_perceptron, CPU, m) {
  m.impl("multiclass_update", &multiclass_update_cpu);
}

}  // namespace torch_perceptron
