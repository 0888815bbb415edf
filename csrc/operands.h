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
#include "policies.h"
#include "restore.h"

namespace torch_perceptron {

// The arguments of an op after weight and bias, in its schema's order and
// C++ types (ops.cpp): what its operands' constructor takes after them, and
// so what entries.h's entry points take. One list per operands type, beside
// its constructor: an argument is added to an op here and in its schema.
template <typename... Args>
struct OpArgs {};
using Opt = std::optional<Tensor>;

// What every dense update call holds beside its rule's operands: the
// caller's weight and bias, and how a failed call is undone (restore.h; the
// devices' calls that can do better than a snapshot say so). Dense weights
// are never feature-major.
struct DenseCall {
  Tensor weight, bias;  // the caller's tensors
  Journal journal;
  static constexpr int64_t fm_stride = 0;

  // The CPU's sparse calls keep the caller's feature-major weights as they
  // are (csr_operands.h); a dense call never does.
  static constexpr bool kKeepsFeatureMajor = false;

  DenseCall(Tensor& weight_, Tensor& bias_) : weight(weight_), bias(bias_) {}
  Restore restore_plan() const { return Restore::kSnapshot; }
  // After the undo: non-finite weights stopped the loop, or else the row.
  [[noreturn]] void fail(int64_t row) const {
    check_params_finite(weight, bias);
    fail_non_finite_row(row);
  }
};

// What the online and multiclass rules' dense operands share: x and the
// kernel's weights, checked in one order before anything is written.
struct DenseOperands : DenseCall {
  Tensor w, b, x, mistakes;
  std::optional<Tensor> sw;
  int64_t n, in, k;
  double lr;
  double bias_step;  // b += bias_step * step; 0: the bias stays as it is

  DenseOperands(Tensor& weight_, Tensor& bias_, const Tensor& x_, double lr_,
                double bias_step_)
      : DenseCall(weight_, bias_), lr(lr_), bias_step(bias_step_) {
    check_params(weight, bias, /*values=*/false);
    check_features(x_, weight);
    check_lr(lr);
    check_bias_step(bias_step);
    n = x_.size(0);
    in = x_.size(1);
    k = weight.size(0);
  }

  // After the labels: the sample weights, the contiguous x and weights, and
  // one mistake counter per output (counters = K) or for the model (1).
  void finish_setup(const Tensor& x_, const std::optional<Tensor>& sample_weight,
                    int64_t counters) {
    sw = sample_weights(sample_weight, x_.size(0), x_.scalar_type(),
                        x_.device());
    x = as_contiguous(x_);
    w = as_contiguous(weight);
    b = as_contiguous(bias);
    mistakes = zeros({counters}, ScalarType::Long, x_.device());
  }

  // Writes the kernel's copies back into non-contiguous weight and bias.
  void finish() {
    if (!weight.is_contiguous()) copy_into(weight, w);
    if (!bias.is_contiguous()) copy_into(bias, b);
  }

  // What the kernel writes beside weight, bias and a variant's state (see
  // run_restoring): nothing, but for the online rule's loss.
  void add_written(std::vector<StatePair>&) {}
};

struct OnlineOperands : DenseOperands {
  // x, y, lr, sample_weight, zero_is_mistake, bias_step, loss, order.
  using Args = OpArgs<const Tensor&, const Tensor&, double, Opt, bool, double,
                      Opt, Opt>;
  using PlainPolicy = NoPolicy;
  Tensor y;
  bool zero_is_mistake;
  // The epoch loss, when asked: each output's sum of max(0, -(2y - 1) * z)
  // over the samples, z before the sample's step (scikit-learn's perceptron
  // loss, non-zero only on a mistake, where it is |z|), added in sample order
  // to what loss held, in float64: the caller's tensor and the contiguous one
  // the kernel adds to.
  std::optional<Tensor> loss_arg, loss;
  // The sample order, when given (checks.h, sample_order): visit i of output
  // o reads row order[o * order_stride + i] of x, y and sample_weight;
  // order_stride is 0 for one order [M] shared by every output, M for one
  // order per output [K, M]. n is then M, the visits, and `rows` the rows
  // of x; without an order the two are N.
  std::optional<Tensor> order;
  int64_t rows, order_stride = 0;

  OnlineOperands(Tensor& weight_, Tensor& bias_, const Tensor& x_,
                 const Tensor& y_, double lr_,
                 const std::optional<Tensor>& sample_weight,
                 bool zero_is_mistake_, double bias_step_,
                 const std::optional<Tensor>& loss_ = std::nullopt,
                 const std::optional<Tensor>& order_ = std::nullopt)
      : DenseOperands(weight_, bias_, x_, lr_, bias_step_),
        zero_is_mistake(zero_is_mistake_) {
    rows = n;
    y = binary_labels(y_, rows, k, x_.scalar_type(), x_.device());
    finish_setup(x_, sample_weight, k);
    loss = loss_sums(loss_, k, x_.device());
    if (loss) loss_arg = *loss_;
    order = sample_order(order_, rows, k, x_.device());
    n = order ? order->size(order->dim() - 1) : rows;
    if (order && order->dim() == 2) order_stride = n;
  }

  void add_written(std::vector<StatePair>& state) {
    if (loss) state.push_back({&*loss_arg, &*loss});
  }
};

struct MulticlassOperands : DenseOperands {
  // x, y, lr, sample_weight, bias_step.
  using Args = OpArgs<const Tensor&, const Tensor&, double, Opt, double>;
  using PlainPolicy = NoMulticlassPolicy;
  Tensor y;  // [N] int64 class indices

  MulticlassOperands(Tensor& weight_, Tensor& bias_, const Tensor& x_,
                     const Tensor& y_, double lr_,
                     const std::optional<Tensor>& sample_weight,
                     double bias_step_)
      : DenseOperands(weight_, bias_, x_, lr_, bias_step_) {
    y = class_labels(y_, n, k, x_.device());
    finish_setup(x_, sample_weight, 1);
  }
};

}  // namespace torch_perceptron
