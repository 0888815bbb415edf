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
#include <type_traits>
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

// OpArgs lists joined into one, in order.
template <typename... Lists>
struct CatArgs;
template <typename... A>
struct CatArgs<OpArgs<A...>> {
  using type = OpArgs<A...>;
};
template <typename... A, typename... B, typename... Rest>
struct CatArgs<OpArgs<A...>, OpArgs<B...>, Rest...> {
  using type = typename CatArgs<OpArgs<A..., B...>, Rest...>::type;
};

// The online rule's arguments after x and y, as its schemas end (ops.cpp's
// ONLINE_TAIL), taken once for dense and CSR operands alike; then the call's
// own option, whether the plain rule may keep the caller's feature-major
// weights (entries.h, csr_operands.h).
struct OnlineTail {
  using Args = OpArgs<double, Opt, bool, double, Opt, Opt>;
  double lr;
  Opt sample_weight;
  bool zero_is_mistake;
  double bias_step;
  Opt loss, order;
  bool feature_major_ok;

  OnlineTail(double lr_, const Opt& sample_weight_, bool zero_is_mistake_, double bias_step_,
             const Opt& loss_ = std::nullopt, const Opt& order_ = std::nullopt,
             bool feature_major_ok_ = false)
      : lr(lr_), sample_weight(sample_weight_), zero_is_mistake(zero_is_mistake_),
        bias_step(bias_step_), loss(loss_), order(order_), feature_major_ok(feature_major_ok_) {}
};

// The multiclass rule's, likewise (ops.cpp's MULTICLASS_TAIL).
struct MulticlassTail {
  using Args = OpArgs<double, Opt, double>;
  double lr;
  Opt sample_weight;
  double bias_step;
  bool feature_major_ok;

  MulticlassTail(double lr_, const Opt& sample_weight_, double bias_step_,
                 bool feature_major_ok_ = false)
      : lr(lr_), sample_weight(sample_weight_), bias_step(bias_step_),
        feature_major_ok(feature_major_ok_) {}
};

// A constructor that takes a rule's tail as its loose arguments (as entries.h
// passes them) and builds the Tail from them.
template <typename Tail, typename... A>
using IfTail = std::enable_if_t<std::is_constructible_v<Tail, A&&...>, int>;

// What the online rule keeps beside any input format's operands: its labels,
// the loss sums and the sample order, taken from the tail in one place.
struct OnlineRuleOperands {
  Tensor y;  // [N, K] of 0/1 in the weights' dtype
  bool zero_is_mistake = false;
  // The epoch loss, when asked: each output's sum of max(0, -(2y - 1) * z)
  // over the samples, z before the sample's step (scikit-learn's perceptron
  // loss, non-zero only on a mistake, where it is |z|), added in sample order
  // to what loss held, in float64: the caller's tensor and the contiguous one
  // the kernel adds to.
  std::optional<Tensor> loss_arg, loss;
  // The sample order, when given (checks.h, sample_order): visit i of output
  // o reads row order[o * order_stride + i] of x, y and sample_weight;
  // order_stride is 0 for one order [M] shared by every output, M for one
  // order per output [K, M].
  std::optional<Tensor> order;
  int64_t order_stride = 0;

  void take_labels(const Tensor& y_, int64_t rows, int64_t k, ScalarType dtype,
                   const Device& device) {
    y = binary_labels(y_, rows, k, dtype, device);
  }
  // After the sample weights: the rest of the tail. Returns the visits (M
  // with an order, else the rows).
  int64_t take_rest(const OnlineTail& t, int64_t rows, int64_t k, const Device& device) {
    zero_is_mistake = t.zero_is_mistake;
    loss = loss_sums(t.loss, k, device);
    if (loss) loss_arg = *t.loss;
    order = sample_order(t.order, rows, k, device);
    const int64_t visits = order ? order->size(order->dim() - 1) : rows;
    if (order && order->dim() == 2) order_stride = visits;
    return visits;
  }
  // What the kernel writes beside weight, bias and a variant's state.
  void add_written(std::vector<StatePair>& state) {
    if (loss) state.push_back({&*loss_arg, &*loss});
  }
};

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

  DenseOperands(Tensor& weight_, Tensor& bias_, const Tensor& x_, double lr_, double bias_step_)
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
    sw = sample_weights(sample_weight, x_.size(0), x_.scalar_type(), x_.device());
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

struct OnlineOperands : DenseOperands, OnlineRuleOperands {
  // x, y, then the rule's tail.
  using Args = CatArgs<OpArgs<const Tensor&, const Tensor&>, OnlineTail::Args>::type;
  using PlainPolicy = NoPolicy;
  using OnlineRuleOperands::add_written;
  // n is the visits (M with an order), `rows` the rows of x.
  int64_t rows;

  template <typename... A, IfTail<OnlineTail, A...> = 0>
  OnlineOperands(Tensor& weight_, Tensor& bias_, const Tensor& x_, const Tensor& y_, A&&... tail)
      : OnlineOperands(std::in_place, OnlineTail(std::forward<A>(tail)...), weight_, bias_, x_,
                       y_) {}

  OnlineOperands(std::in_place_t, const OnlineTail& t, Tensor& weight_, Tensor& bias_,
                 const Tensor& x_, const Tensor& y_)
      : DenseOperands(weight_, bias_, x_, t.lr, t.bias_step) {
    rows = n;
    take_labels(y_, rows, k, x_.scalar_type(), x_.device());
    finish_setup(x_, t.sample_weight, k);
    n = take_rest(t, rows, k, x_.device());
  }
};

struct MulticlassOperands : DenseOperands {
  // x, y, then the rule's tail.
  using Args = CatArgs<OpArgs<const Tensor&, const Tensor&>, MulticlassTail::Args>::type;
  using PlainPolicy = NoMulticlassPolicy;
  Tensor y;  // [N] int64 class indices

  template <typename... A, IfTail<MulticlassTail, A...> = 0>
  MulticlassOperands(Tensor& weight_, Tensor& bias_, const Tensor& x_, const Tensor& y_,
                     A&&... tail)
      : MulticlassOperands(std::in_place, MulticlassTail(std::forward<A>(tail)...), weight_, bias_,
                           x_, y_) {}

  MulticlassOperands(std::in_place_t, const MulticlassTail& t, Tensor& weight_, Tensor& bias_,
                     const Tensor& x_, const Tensor& y_)
      : DenseOperands(weight_, bias_, x_, t.lr, t.bias_step) {
    y = class_labels(y_, n, k, x_.device());
    finish_setup(x_, t.sample_weight, 1);
  }
};

}  // namespace torch_perceptron
