// The ops that are whole-batch matrix products: the forward (decision values and
// threshold) and the mini-batch rule. They are written once with ATen calls, so
// the same code runs on every device; ATen picks the BLAS (CPU) or cuBLAS (CUDA).
// Only Scalar-free ATen ops are called (see stable.h): aten::linear for
// x @ w.T + b, aten::heaviside(z, 0) for [z > 0], aten::subtract with alpha
// for the step, aten::mul.Tensor with a 0-dim factor for the bias's.
#include "checks.h"

namespace torch_perceptron {
namespace {

Tensor net_input(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  return aten("aten::linear", "", x, weight, std::optional<Tensor>(bias));
}

// [z > 0] as 0/1 in z's dtype (z is finite here).
Tensor threshold(const Tensor& z) { return aten("aten::heaviside", "", z, scalar_like(z, 0)); }

Tensor decision_function(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  NoGradGuard no_grad;
  // The weights' values are checked where z shows them (a read of the whole
  // model here would be a second one).
  check_params(weight, bias, /*values=*/false);
  check_features(x, weight);
  Tensor z = net_input(x, weight, bias);
  check_decisions_finite(z, weight, bias);
  return z;
}

Tensor predict(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  NoGradGuard no_grad;
  return threshold(decision_function(x, weight, bias));
}

Tensor batch_update(Tensor& weight, Tensor& bias, const Tensor& x, const Tensor& y, double lr,
                    std::optional<Tensor> sample_weight, bool zero_is_mistake, double bias_step) {
  NoGradGuard no_grad;
  check_params(weight, bias);
  check_features(x, weight);
  check_lr(lr);
  check_bias_step(bias_step);
  const int64_t n = x.size(0), k = weight.size(0);
  const Tensor labels = binary_labels(y, n, k, x.scalar_type(), x.device());
  const std::optional<Tensor> sw = sample_weights(sample_weight, n, x.scalar_type(), x.device());
  const Tensor z = net_input(x, weight, bias);
  check_decisions_finite(z, weight, bias);

  Tensor err = torch::stable::subtract(labels, threshold(z));
  if (zero_is_mistake) {
    // At z == 0 the sample counts as wrong for either label:
    // err = 2y - 1 = y - (1 - y).
    const Tensor wrong_either_way =
        torch::stable::subtract(labels, torch::stable::subtract(scalar_like(labels, 1), labels));
    err = aten("aten::where", "self", aten("aten::eq", "Tensor", z, scalar_like(z, 0)),
               wrong_either_way, err);
  }
  const Tensor mistakes = torch::stable::sum(aten("aten::ne", "Tensor", err, scalar_like(err, 0)),
                                             std::vector<int64_t>{0}, false, ScalarType::Long);
  if (sw) err = aten("aten::mul", "Tensor", err, torch::stable::unsqueeze(*sw, 1));
  // weight += lr * err.T @ x, rounded as weight.add_(..., alpha=lr) rounds:
  // subtract with alpha = -lr is that add.
  const Tensor step_w = aten("aten::mm", "", torch::stable::transpose(err, 0, 1), x);
  copy_into(weight, torch::stable::subtract(weight, step_w, -lr));
  if (bias_step != 0) {
    // bias += (lr * err.sum(0)) * bias_step, each product rounded in the
    // weights' dtype as the reference rounds it; subtract with alpha = -1 is
    // the plain sum.
    const Tensor err_sum = torch::stable::sum(err, std::vector<int64_t>{0});
    const Tensor step_b =
        aten("aten::mul", "Tensor", aten("aten::mul", "Tensor", err_sum, scalar_like(err_sum, lr)),
             scalar_like(err_sum, bias_step));
    copy_into(bias, torch::stable::subtract(bias, step_b, -1.0));
  } else {
    bump_version(bias);  // declared written (Tensor(b!)), as on every call
  }
  return mistakes;
}

}  // namespace

STABLE_TORCH_LIBRARY_IMPL(torch_perceptron, CPU, m) {
  m.impl("decision_function", TORCH_BOX(&decision_function));
  m.impl("predict", TORCH_BOX(&predict));
  m.impl("batch_update", TORCH_BOX(&batch_update));
}

#ifdef WITH_CUDA
STABLE_TORCH_LIBRARY_IMPL(torch_perceptron, CUDA, m) {
  m.impl("decision_function", TORCH_BOX(&decision_function));
  m.impl("predict", TORCH_BOX(&predict));
  m.impl("batch_update", TORCH_BOX(&batch_update));
}
#endif

}  // namespace torch_perceptron
