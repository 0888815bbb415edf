// The online rule on the CPU, for K independent outputs (one-vs-rest). The
// loop lives in online_loop.h; this op runs it with no extra state.
#include "../checks.h"
#include "online_loop.h"

namespace torch_perceptron {
namespace {

Tensor online_update_cpu(Tensor& weight, Tensor& bias, const Tensor& x,
                         const Tensor& y, double lr,
                         std::optional<Tensor> sample_weight,
                         bool zero_is_mistake, double bias_step,
                         std::optional<Tensor> loss,
                         std::optional<Tensor> order) {
  NoGradGuard no_grad;
  cpu::OnlineCall call(weight, bias, x, y, lr, sample_weight, zero_is_mistake,
                       bias_step, loss, order);
  return run_restoring(call, [](auto) { return NoPolicy{}; });
}

}  // namespace

STABLE_TORCH_LIBRARY_IMPL(torch_perceptron, CPU, m) {
  m.impl("online_update", TORCH_BOX(&online_update_cpu));
}

}  // namespace torch_perceptron
