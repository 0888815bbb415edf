// The validated operands of one call of the penalized online ops (dense and
// CSR), shared by every device's kernel: the checks run once, in one order,
// before anything is written; a kernel that stops at a bad row gets every
// written tensor put back from its snapshot (PenalizedCall, through
// restore.h's run_restoring).
#pragma once

#include <optional>
#include <vector>

#include "checks.h"
#include "csr_checks.h"
#include "operands.h"
#include "penalized_rule.h"

namespace torch_perceptron {

// alpha finite and >= 0; l1_ratio in [0, 1].
void check_penalty(double alpha, double l1_ratio);

// state: float64 [k, kPenaltyState] on `device`, finite, wscale > 0.
void check_penalty_state(const Tensor& state, int64_t k, const Device& device);

// An optional float64 [k] sum named `name` (loss, objective): the contiguous
// tensor a kernel adds to, or nullopt.
std::optional<Tensor> penalty_sums(const std::optional<Tensor>& sums, const char* name, int64_t k,
                                   const Device& device);

struct PenalizedOperands {
  // The caller's tensors the op writes, and the contiguous ones the kernel
  // writes (the same tensors when contiguous).
  Tensor weight, bias, state;
  std::optional<Tensor> q_arg, loss_arg, objective_arg;
  Tensor w, b, st, y, mistakes;
  std::optional<Tensor> q, sw, loss, objective;
  Tensor x;      // dense x [N, in], contiguous (dense form)
  CsrInput csr;  // the CSR form's x
  bool sparse = false;
  // The sample order, when given (operands.h's convention, checks.h's
  // sample_order): n is then M, the visits, and `rows` the rows of x;
  // without one the two are N.
  std::optional<Tensor> order;
  int64_t rows = 0, order_stride = 0;
  int64_t n = 0, in = 0, k = 0;
  double lr, alpha, l1_ratio, bias_step;
  bool zero_is_mistake;

  // Dense x.
  PenalizedOperands(Tensor& weight_, Tensor& bias_, Tensor& state_, const std::optional<Tensor>& q_,
                    const Tensor& x_, const Tensor& y_, double lr_, double alpha_, double l1_ratio_,
                    const std::optional<Tensor>& sample_weight, bool zero_is_mistake_,
                    double bias_step_, const std::optional<Tensor>& loss_,
                    const std::optional<Tensor>& objective_, const std::optional<Tensor>& order_)
      : weight(weight_), bias(bias_), state(state_), lr(lr_), alpha(alpha_), l1_ratio(l1_ratio_),
        bias_step(bias_step_), zero_is_mistake(zero_is_mistake_) {
    check_params(weight, bias);
    check_features(x_, weight);
    rows = x_.size(0);
    in = x_.size(1);
    k = weight.size(0);
    finish_setup(q_, y_, sample_weight, loss_, objective_, order_);
    x = as_contiguous(x_);
  }

  // CSR x.
  PenalizedOperands(Tensor& weight_, Tensor& bias_, Tensor& state_, const std::optional<Tensor>& q_,
                    const Tensor& crow, const Tensor& col, const Tensor& values, int64_t n_features,
                    const Tensor& y_, double lr_, double alpha_, double l1_ratio_,
                    const std::optional<Tensor>& sample_weight, bool zero_is_mistake_,
                    double bias_step_, const std::optional<Tensor>& loss_,
                    const std::optional<Tensor>& objective_, const std::optional<Tensor>& order_)
      : weight(weight_), bias(bias_), state(state_), sparse(true), lr(lr_), alpha(alpha_),
        l1_ratio(l1_ratio_), bias_step(bias_step_), zero_is_mistake(zero_is_mistake_) {
    check_params(weight, bias);
    csr = check_csr(crow, col, values, n_features, weight);
    rows = csr.n;
    in = csr.features;
    k = weight.size(0);
    finish_setup(q_, y_, sample_weight, loss_, objective_, order_);
  }

  template <typename scalar_t>
  PenalizedArgs<scalar_t> args() {
    return {w.mutable_data_ptr<scalar_t>(),
            b.mutable_data_ptr<scalar_t>(),
            st.mutable_data_ptr<double>(),
            q && l1_ratio > 0 ? q->mutable_data_ptr<scalar_t>() : nullptr,
            y.const_data_ptr<scalar_t>(),
            sw ? sw->const_data_ptr<scalar_t>() : nullptr,
            order ? order->const_data_ptr<int64_t>() : nullptr,
            order_stride,
            n,
            in,
            k,
            lr,
            alpha,
            l1_ratio,
            bias_step,
            zero_is_mistake,
            mistakes.mutable_data_ptr<int64_t>(),
            loss ? loss->mutable_data_ptr<double>() : nullptr,
            objective ? objective->mutable_data_ptr<double>() : nullptr};
  }

  // Every tensor the op writes: the caller's and the kernel's.
  std::vector<StatePair> written() {
    std::vector<StatePair> out{{&weight, &w}, {&bias, &b}, {&state, &st}};
    if (q) out.push_back({&*q_arg, &*q});
    if (loss) out.push_back({&*loss_arg, &*loss});
    if (objective) out.push_back({&*objective_arg, &*objective});
    return out;
  }

 private:
  void finish_setup(const std::optional<Tensor>& q_, const Tensor& y_,
                    const std::optional<Tensor>& sample_weight, const std::optional<Tensor>& loss_,
                    const std::optional<Tensor>& objective_, const std::optional<Tensor>& order_) {
    const Device device = weight.device();
    check_lr(lr);
    check_bias_step(bias_step);
    check_penalty(alpha, l1_ratio);
    y = binary_labels(y_, rows, k, weight.scalar_type(), device);
    sw = sample_weights(sample_weight, rows, weight.scalar_type(), device);
    check_penalty_state(state, k, device);
    const bool has_q = q_.has_value() && q_->defined();
    TP_CHECK_VALUE(has_q || l1_ratio == 0, "q: expected a tensor of weight's ",
                   "shape (the L1 penalty each weight has had) when ",
                   "l1_ratio > 0, got None (l1_ratio=", l1_ratio, ")");
    if (has_q) {
      check_like(*q_, "q", weight, "weight");
      q_arg = *q_;
      q = as_contiguous(*q_);
    }
    loss = penalty_sums(loss_, "loss", k, device);
    if (loss) loss_arg = *loss_;
    objective = penalty_sums(objective_, "objective", k, device);
    if (objective) objective_arg = *objective_;
    order = sample_order(order_, rows, k, device);
    n = order ? order->size(order->dim() - 1) : rows;
    if (order && order->dim() == 2) order_stride = n;
    w = as_contiguous(weight);
    b = as_contiguous(bias);
    st = as_contiguous(state);
    mistakes = zeros({k}, ScalarType::Long, device);
  }
};

// One call of a penalized op, as entries.h's Entries<Call>::plain runs it:
// the device's Run(op) (its kernel over dense or CSR rows), every written
// tensor snapshotted (a penalized step scales a whole weight row, so a log
// would be no smaller).
using PenalizedRunner = int64_t (*)(PenalizedOperands&);

// state, q, then x (dense) and y, lr, alpha, l1_ratio, sample_weight,
// zero_is_mistake, bias_step, loss, objective, order.
using PenalizedArgsDense = OpArgs<Tensor&, Opt, const Tensor&, const Tensor&, double, double,
                                  double, Opt, bool, double, Opt, Opt, Opt>;
// The same with x as crow_indices, col_indices, values, n_features.
using PenalizedArgsCsr =
    OpArgs<Tensor&, Opt, const Tensor&, const Tensor&, const Tensor&, int64_t, const Tensor&,
           double, double, double, Opt, bool, double, Opt, Opt, Opt>;

template <PenalizedRunner Run, typename A>
struct PenalizedCall : PenalizedOperands {
  using Args = A;
  using PlainPolicy = NoPolicy;  // unused: the walk has no hooks
  static constexpr bool kKeepsFeatureMajor = false;
  static constexpr int64_t fm_stride = 0;
  Journal journal;

  using PenalizedOperands::PenalizedOperands;

  Restore restore_plan() const { return Restore::kSnapshot; }
  // Beside weight and bias: the penalty's state, q, the loss and objective.
  void add_written(std::vector<StatePair>& state_pairs) {
    for (const StatePair& s : written()) {
      if (s.caller != &weight && s.caller != &bias) state_pairs.push_back(s);
    }
  }
  template <typename MakePolicy>
  int64_t run(MakePolicy) {
    return Run(*this);
  }
  void finish() {
    if (!weight.is_contiguous()) copy_into(weight, w);
    if (!bias.is_contiguous()) copy_into(bias, b);
  }
  [[noreturn]] void fail(int64_t row) const {
    if (sparse) fail_csr_row(csr, row);
    fail_non_finite_row(row);
  }
};

}  // namespace torch_perceptron
