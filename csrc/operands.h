// The validated, contiguous operands of one call of an online-rule or
// multiclass op, shared by every device's kernels (cpu/online_loop.h,
// cuda/online_rule.cuh, ...), which add how to run the rule. Sharing the
// constructors keeps the validation, and its order, the same on every device.
//
// `w` and `b` are what a kernel writes: weight and bias themselves when
// contiguous, copies otherwise (see finish()).
#pragma once

#include <ATen/ATen.h>

#include <initializer_list>
#include <optional>
#include <utility>
#include <vector>

#include "checks.h"

namespace torch_perceptron {

struct OnlineOperands {
  at::Tensor weight, bias;  // the caller's tensors
  at::Tensor w, b, x, y, sw, mistakes;
  int64_t n, in, k;
  double lr;
  bool zero_is_mistake;
  bool fit_intercept = true;

  OnlineOperands(at::Tensor& weight_, at::Tensor& bias_, const at::Tensor& x_,
                 const at::Tensor& y_, double lr_,
                 const std::optional<at::Tensor>& sample_weight,
                 bool zero_is_mistake_)
      : weight(weight_), bias(bias_), lr(lr_),
        zero_is_mistake(zero_is_mistake_) {
    check_params(weight, bias);
    check_features(x_, weight);
    check_lr(lr);
    n = x_.size(0);
    in = x_.size(1);
    k = weight.size(0);
    y = binary_labels(y_, n, k, x_.scalar_type(), x_.device());
    sw = sample_weights(sample_weight, n, x_.scalar_type(), x_.device());
    x = x_.contiguous();
    w = weight.contiguous();
    b = bias.contiguous();
    mistakes = at::zeros({k}, x_.options().dtype(at::kLong));
  }

  // Writes the kernel's copies back into non-contiguous weight and bias.
  void finish() {
    copy_back_if_needed(weight, w);
    copy_back_if_needed(bias, b);
  }
};

struct MulticlassOperands {
  at::Tensor weight, bias;
  at::Tensor w, b, x, y, sw, mistakes;
  int64_t n, in, k;
  double lr;
  bool fit_intercept = true;

  MulticlassOperands(at::Tensor& weight_, at::Tensor& bias_,
                     const at::Tensor& x_, const at::Tensor& y_, double lr_,
                     const std::optional<at::Tensor>& sample_weight)
      : weight(weight_), bias(bias_), lr(lr_) {
    check_params(weight, bias);
    check_features(x_, weight);
    check_lr(lr);
    n = x_.size(0);
    in = x_.size(1);
    k = weight.size(0);
    y = class_labels(y_, n, k, x_.device());
    sw = sample_weights(sample_weight, n, x_.scalar_type(), x_.device());
    x = x_.contiguous();
    w = weight.contiguous();
    b = bias.contiguous();
    mistakes = at::zeros({1}, x_.options().dtype(at::kLong));
  }

  void finish() {
    copy_back_if_needed(weight, w);
    copy_back_if_needed(bias, b);
  }
};

// Tensors an op writes beside weight and bias: the caller's tensor and the
// contiguous one the kernel writes (the same tensor when contiguous).
using StatePair = std::pair<at::Tensor*, const at::Tensor*>;

// Runs call.run(make) for any op of any device. Finiteness of x is checked in
// the same pass (see checks.h), so some updates may precede a bad row: weight,
// bias and every `state` tensor are snapshotted first, and put back before the
// error is raised. On success the kernel's copies are written back.
template <typename Call, typename MakePolicy>
at::Tensor run_restoring(Call& call, MakePolicy make,
                         std::initializer_list<StatePair> state = {}) {
  if (call.n == 0) return call.mistakes;
  const at::Tensor w_saved = call.w.clone(), b_saved = call.b.clone();
  std::vector<at::Tensor> saved;
  for (const StatePair& s : state) saved.push_back(s.second->clone());
  const int64_t bad_row = call.run(make);
  if (bad_row >= 0) {
    call.weight.copy_(w_saved);
    call.bias.copy_(b_saved);
    size_t i = 0;
    for (const StatePair& s : state) s.first->copy_(saved[i++]);
    fail_non_finite_row(bad_row);
  }
  call.finish();
  for (const StatePair& s : state) copy_back_if_needed(*s.first, *s.second);
  return call.mistakes;
}

}  // namespace torch_perceptron
