// The validated, contiguous operands of one call of an online-rule or
// multiclass op, shared by every device's kernels (cpu/online_loop.h,
// cuda/online_rule.cuh, ...), which add how to run the rule. Sharing the
// constructors keeps the validation, and its order, the same on every device.
//
// `w` and `b` are what a kernel writes: weight and bias themselves when
// contiguous, copies otherwise (see finish()).
#pragma once

#include <initializer_list>
#include <optional>
#include <utility>
#include <vector>

#include "checks.h"

namespace torch_perceptron {

struct OnlineOperands {
  Tensor weight, bias;  // the caller's tensors
  Tensor w, b, x, y, mistakes;
  std::optional<Tensor> sw;
  int64_t n, in, k;
  double lr;
  bool zero_is_mistake;
  double bias_step;  // b += bias_step * step; 0: the bias stays as it is

  OnlineOperands(Tensor& weight_, Tensor& bias_, const Tensor& x_,
                 const Tensor& y_, double lr_,
                 const std::optional<Tensor>& sample_weight,
                 bool zero_is_mistake_, double bias_step_)
      : weight(weight_), bias(bias_), lr(lr_),
        zero_is_mistake(zero_is_mistake_), bias_step(bias_step_) {
    check_params(weight, bias);
    check_features(x_, weight);
    check_lr(lr);
    check_bias_step(bias_step);
    n = x_.size(0);
    in = x_.size(1);
    k = weight.size(0);
    y = binary_labels(y_, n, k, x_.scalar_type(), x_.device());
    sw = sample_weights(sample_weight, n, x_.scalar_type(), x_.device());
    x = as_contiguous(x_);
    w = as_contiguous(weight);
    b = as_contiguous(bias);
    mistakes = zeros({k}, ScalarType::Long, x_.device());
  }

  // Writes the kernel's copies back into non-contiguous weight and bias.
  void finish() {
    if (!weight.is_contiguous()) copy_into(weight, w);
    if (!bias.is_contiguous()) copy_into(bias, b);
  }
};

struct MulticlassOperands {
  Tensor weight, bias;
  Tensor w, b, x, y, mistakes;
  std::optional<Tensor> sw;
  int64_t n, in, k;
  double lr;
  double bias_step;  // as in OnlineOperands

  MulticlassOperands(Tensor& weight_, Tensor& bias_, const Tensor& x_,
                     const Tensor& y_, double lr_,
                     const std::optional<Tensor>& sample_weight,
                     double bias_step_)
      : weight(weight_), bias(bias_), lr(lr_), bias_step(bias_step_) {
    check_params(weight, bias);
    check_features(x_, weight);
    check_lr(lr);
    check_bias_step(bias_step);
    n = x_.size(0);
    in = x_.size(1);
    k = weight.size(0);
    y = class_labels(y_, n, k, x_.device());
    sw = sample_weights(sample_weight, n, x_.scalar_type(), x_.device());
    x = as_contiguous(x_);
    w = as_contiguous(weight);
    b = as_contiguous(bias);
    mistakes = zeros({1}, ScalarType::Long, x_.device());
  }

  void finish() {
    if (!weight.is_contiguous()) copy_into(weight, w);
    if (!bias.is_contiguous()) copy_into(bias, b);
  }
};

// A tensor an op writes beside weight and bias: the caller's tensor and the
// contiguous one the kernel writes (the same tensor when contiguous).
struct StatePair {
  Tensor* caller;
  const Tensor* written;
};

// Runs call.run(make) for any op of any device. Finiteness of x is checked in
// the same pass (see checks.h), so some updates may precede a bad row: weight,
// bias and every `state` tensor are snapshotted first, and put back before the
// error is raised. On success the kernel's copies are written back, and the
// version counter of every tensor the op declares written goes up.
template <typename Call, typename MakePolicy>
Tensor run_restoring(Call& call, MakePolicy make,
                     std::initializer_list<StatePair> state = {}) {
  if (call.n == 0) return call.mistakes;
  const Tensor w_saved = snapshot(call.w);
  const Tensor b_saved = snapshot(call.b);
  std::vector<Tensor> saved;
  for (const StatePair& s : state) saved.push_back(snapshot(*s.written));
  const int64_t bad_row = call.run(make);
  if (bad_row >= 0) {
    copy_into(call.weight, w_saved);
    copy_into(call.bias, b_saved);
    size_t i = 0;
    for (const StatePair& s : state) copy_into(*s.caller, saved[i++]);
    fail_non_finite_row(bad_row);
  }
  call.finish();
  bump_version(call.weight);
  bump_version(call.bias);
  for (const StatePair& s : state) {
    if (!s.caller->is_contiguous()) copy_into(*s.caller, *s.written);
    bump_version(*s.caller);
  }
  return call.mistakes;
}

}  // namespace torch_perceptron
