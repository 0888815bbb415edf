// The seed's online rule on the CPU, for K independent outputs (one-vs-rest).
// The loop lives in online_loop.h; this op runs it with no extra state.
#include <ATen/ATen.h>
#include <torch/library.h>

#include "../checks.h"
#include "online_loop.h"

namespace torch_perceptron {
namespace {

at::Tensor online_update_cpu(at::Tensor& weight, at::Tensor& bias,
                             const at::Tensor& x, const at::Tensor& y,
                             double lr,
                             const std::optional<at::Tensor>& sample_weight,
                             bool zero_is_mistake) {
  cpu::OnlineCall call(weight, bias, x, y, lr, sample_weight, zero_is_mistake);
  return run_restoring(call, [](auto) { return cpu::NoPolicy{}; });
}

}  // namespace

TORCH_LIBRARY_IMPL(torch_perceptron, CPU, m) {
  m.impl("online_update", &online_update_cpu);
}

}  // namespace torch_perceptron
