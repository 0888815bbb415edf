// The online rule on the GPU, for K independent outputs (one-vs-rest). The
// kernel lives in online_rule.cuh; this op runs it with no extra state.
#include "../checks.h"
#include "online_rule.cuh"

namespace torch_perceptron::cuda {
namespace {

Tensor online_update_cuda(Tensor& weight, Tensor& bias, const Tensor& x,
                          const Tensor& y, double lr,
                          std::optional<Tensor> sample_weight,
                          bool zero_is_mistake, double bias_step,
                          std::optional<Tensor> loss,
                          std::optional<Tensor> order) {
  NoGradGuard no_grad;
  OnlineCall call(weight, bias, x, y, lr, sample_weight, zero_is_mistake,
                  bias_step, loss, order);
  return run_restoring(call, [](auto) { return NoPolicy{}; });
}

}  // namespace

STABLE_TORCH_LIBRARY_IMPL(torch_perceptron, CUDA, m) {
  m.impl("online_update", TORCH_BOX(&online_update_cuda));
}

}  // namespace torch_perceptron::cuda
