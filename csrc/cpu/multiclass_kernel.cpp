// The multiclass perceptron on the CPU: one weight row per class, the predicted
// class is the argmax of the K decision values, and a mistake moves two rows.
// Every sample needs all K rows before it can update, so it runs on one thread.
#include <ATen/ATen.h>
#include <torch/library.h>

#include <cmath>
#include <vector>

#include "../checks.h"
#include "vec.h"

namespace torch_perceptron {
namespace {

template <typename scalar_t>
int64_t multiclass_rows(scalar_t* w, scalar_t* b, const scalar_t* x,
                        const int64_t* y, const scalar_t* sw, int64_t n,
                        int64_t in, int64_t k, scalar_t lr, int64_t* mistakes) {
  std::vector<scalar_t> z(k);
  for (int64_t i = 0; i < n; ++i) {
    const scalar_t* xi = x + i * in;
    cpu::prefetch_row_ahead(x, i, n, in);
    cpu::dots(w, in, xi, in, k, z.data());
    int64_t yhat = 0;
    scalar_t best = 0;
    for (int64_t c = 0; c < k; ++c) {
      const scalar_t zc = z[c] + b[c];
      if (!std::isfinite(zc)) return i;
      // Strictly greater: the lowest index wins a tie.
      if (c == 0 || zc > best) {
        best = zc;
        yhat = c;
      }
    }
    const int64_t t = y[i];
    if (yhat != t) {
      *mistakes += 1;
      const scalar_t step = sw != nullptr ? lr * sw[i] : lr;
      cpu::axpy(w + t * in, xi, step, in);
      b[t] += step;
      cpu::axpy(w + yhat * in, xi, -step, in);
      b[yhat] -= step;
    }
  }
  return -1;
}

at::Tensor multiclass_update_cpu(
    at::Tensor& weight, at::Tensor& bias, const at::Tensor& x,
    const at::Tensor& y, double lr,
    const std::optional<at::Tensor>& sample_weight) {
  check_params(weight, bias);
  check_features(x, weight);
  check_lr(lr);
  const int64_t n = x.size(0), in = x.size(1), k = weight.size(0);
  const at::Tensor labels = class_labels(y, n, k, x.device());
  const at::Tensor sw =
      sample_weights(sample_weight, n, x.scalar_type(), x.device());
  const at::Tensor xc = x.contiguous();
  at::Tensor w = weight.contiguous();
  at::Tensor b = bias.contiguous();
  at::Tensor mistakes = at::zeros({1}, x.options().dtype(at::kLong));
  if (n == 0) return mistakes;

  const at::Tensor w_saved = w.clone(), b_saved = b.clone();
  int64_t bad_row = -1;
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "multiclass_update_cpu", [&] {
    bad_row = multiclass_rows<scalar_t>(
        w.data_ptr<scalar_t>(), b.data_ptr<scalar_t>(),
        xc.const_data_ptr<scalar_t>(), labels.const_data_ptr<int64_t>(),
        sw.defined() ? sw.const_data_ptr<scalar_t>() : nullptr, n, in, k,
        static_cast<scalar_t>(lr), mistakes.data_ptr<int64_t>());
  });
  if (bad_row >= 0) {
    weight.copy_(w_saved);
    bias.copy_(b_saved);
    fail_non_finite_row(bad_row);
  }
  copy_back_if_needed(weight, w);
  copy_back_if_needed(bias, b);
  return mistakes;
}

}  // namespace

TORCH_LIBRARY_IMPL(torch_perceptron, CPU, m) {
  m.impl("multiclass_update", &multiclass_update_cpu);
}

}  // namespace torch_perceptron
