// The ops that are whole-batch matrix products: the forward (decision values and
// threshold) and the mini-batch rule. They are written once with ATen calls, so
// the same code runs on every device; ATen picks the BLAS (CPU) or cuBLAS (CUDA).
#include <ATen/ATen.h>
#include <torch/library.h>

#include "checks.h"

namespace torch_perceptron {
namespace {

at::Tensor decision_function(const at::Tensor& x, const at::Tensor& weight,
                             const at::Tensor& bias) {
  check_params(weight, bias);
  check_features(x, weight);
  at::Tensor z = at::addmm(bias, x, weight.t());
  check_decisions_finite(z);
  return z;
}

at::Tensor predict(const at::Tensor& x, const at::Tensor& weight,
                   const at::Tensor& bias) {
  return decision_function(x, weight, bias).gt(0).to(x.scalar_type());
}

at::Tensor batch_update(at::Tensor& weight, at::Tensor& bias,
                        const at::Tensor& x, const at::Tensor& y, double lr,
                        const std::optional<at::Tensor>& sample_weight,
                        bool zero_is_mistake) {
  check_params(weight, bias);
  check_features(x, weight);
  check_lr(lr);
  const int64_t n = x.size(0), k = weight.size(0);
  at::Tensor labels = binary_labels(y, n, k, x.scalar_type(), x.device());
  at::Tensor sw = sample_weights(sample_weight, n, x.scalar_type(), x.device());
  at::Tensor z = at::addmm(bias, x, weight.t());
  check_decisions_finite(z);

  at::Tensor err = labels - z.gt(0).to(z.scalar_type());
  if (zero_is_mistake) {
    // At z == 0 the sample counts as wrong for either label: err = 2y - 1.
    err = at::where(z.eq(0), labels * 2 - 1, err);
  }
  at::Tensor mistakes = err.ne(0).sum(0);
  if (sw.defined()) err = err * sw.unsqueeze(1);
  weight.add_(at::mm(err.t(), x), lr);
  bias.add_(err.sum(0), lr);
  return mistakes;
}

}  // namespace

TORCH_LIBRARY_IMPL(torch_perceptron, CPU, m) {
  m.impl("decision_function", &decision_function);
  m.impl("predict", &predict);
  m.impl("batch_update", &batch_update);
}

#ifdef WITH_CUDA
TORCH_LIBRARY_IMPL(torch_perceptron, CUDA, m) {
  m.impl("decision_function", &decision_function);
  m.impl("predict", &predict);
  m.impl("batch_update", &batch_update);
}
#endif

}  // namespace torch_perceptron
