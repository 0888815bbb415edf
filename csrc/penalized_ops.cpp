// The schemas of the penalized online ops, declared once for every device,
// and their checks (penalized_operands.h). A fragment of the library of its
// own: scikit-learn's penalties are their own rule (penalized_rule.h), with
// their own files on every device.
//
// online_update_penalized is online_update with scikit-learn's penalty,
// alpha and l1_ratio: at every sample the weights shrink by
// max(0, 1 - (1 - l1_ratio) * lr * alpha) (L2) and, with l1_ratio > 0, the
// truncated-gradient L1 step (cumulative u and q), as scikit-learn's
// `_plain_sgd` does. l1_ratio 0 is its "l2", 1 its "l1", between "elasticnet".
//
// `weight` holds the weights before the scale: the true weights are
// state[:, 0:1] * weight. `state` (float64 [K, 4]: wscale, u, sq_norm,
// l1_norm) and `q` ([K, in] in weight's dtype; required when l1_ratio > 0) are
// what scikit-learn keeps across the samples and epochs of one fit; a fresh
// fit starts them at (1, 0, |w|^2, |w|_1) and zeros, and folds the scale in at
// its end (torch_perceptron.ops.fold_penalty_scale_). `loss` gains the
// perceptron loss max(0, -y z) of every sample (as online_update's),
// `objective` scikit-learn's objective sum: that loss plus
// alpha * ((1 - l1_ratio) * 0.5 * norm^2 + l1_ratio * l1norm) with its
// bookkeeping's norms, what its tol rule stops on with a penalty. `order`
// (int64 [M] or [K, M]) as online_update's: visit i of output o reads row
// order[o][i] of x, y and sample_weight, so that a shuffled epoch of every
// one-vs-rest output is one call, with no rows gathered.
#include "penalized_operands.h"

#include <cmath>

#include "stable.h"

namespace torch_perceptron {

namespace {

// A small float64 tensor's values, read on the CPU (state and the sums are
// [K, 4] and [K]: one copy, one synchronisation on other devices).
Tensor on_cpu(const Tensor& t) {
  return t.is_cpu() ? as_contiguous(t)
                    : as_contiguous(torch::stable::to(t, Device(DeviceType::CPU)));
}

}  // namespace

void check_penalty(double alpha, double l1_ratio) {
  TP_CHECK_VALUE(std::isfinite(alpha) && alpha >= 0,
                 "alpha: expected a finite value >= 0, got ", alpha);
  TP_CHECK_VALUE(std::isfinite(l1_ratio) && l1_ratio >= 0 && l1_ratio <= 1,
                 "l1_ratio: expected a value in [0, 1], got ", l1_ratio);
}

void check_penalty_state(const Tensor& state, int64_t k, const Device& device) {
  TP_CHECK(state.dim() == 2 && state.size(0) == k &&
               state.size(1) == kPenaltyState,
           "state: expected shape [", k, ", ", int(kPenaltyState),
           "] (wscale, u, sq_norm, l1_norm per output), got ", shape(state));
  TP_CHECK(state.scalar_type() == ScalarType::Double,
           "state: expected dtype float64, got ", state.scalar_type());
  TP_CHECK(state.device() == device, "state: expected device ", device,
           " (the weight's), got ", state.device());
  const Tensor c = on_cpu(state);
  const double* v = c.const_data_ptr<double>();
  for (int64_t o = 0; o < k; ++o) {
    for (int j = 0; j < kPenaltyState; ++j) {
      TP_CHECK_VALUE(std::isfinite(v[o * kPenaltyState + j]),
                     "state: expected finite values, found NaN or Inf in row ", o);
    }
    TP_CHECK_VALUE(v[o * kPenaltyState + kWscale] > 0,
                   "state: expected wscale (column 0) > 0, got ",
                   v[o * kPenaltyState + kWscale], " in row ", o);
  }
}

std::optional<Tensor> penalty_sums(const std::optional<Tensor>& sums,
                                   const char* name, int64_t k,
                                   const Device& device) {
  if (!sums.has_value() || !sums->defined()) return std::nullopt;
  const Tensor& s = *sums;
  TP_CHECK(s.dim() == 1 && s.size(0) == k, name, ": expected shape [", k,
           "] (one sum per output), got ", shape(s));
  TP_CHECK(s.scalar_type() == ScalarType::Double, name,
           ": expected dtype float64, got ", s.scalar_type());
  TP_CHECK(s.device() == device, name, ": expected device ", device,
           " (the weight's), got ", s.device());
  const Tensor c = on_cpu(s);
  const double* v = c.const_data_ptr<double>();
  for (int64_t o = 0; o < k; ++o) {
    TP_CHECK_VALUE(std::isfinite(v[o]), name,
                   ": expected finite values, found NaN or Inf");
  }
  return as_contiguous(s);
}

}  // namespace torch_perceptron

STABLE_TORCH_LIBRARY_FRAGMENT(torch_perceptron, m) {
  m.def(
      "online_update_penalized(Tensor(a!) weight, Tensor(b!) bias, "
      "Tensor(c!) state, Tensor(d!)? q, Tensor x, Tensor y, float lr=1.0, "
      "float alpha=0.0001, float l1_ratio=0.15, Tensor? sample_weight=None, "
      "bool zero_is_mistake=False, float bias_step=1.0, "
      "Tensor(l!)? loss=None, Tensor(o!)? objective=None, "
      "Tensor? order=None) -> Tensor");
  m.def(
      "online_update_penalized_csr(Tensor(a!) weight, Tensor(b!) bias, "
      "Tensor(c!) state, Tensor(d!)? q, Tensor crow_indices, "
      "Tensor col_indices, Tensor values, SymInt n_features, Tensor y, "
      "float lr=1.0, float alpha=0.0001, float l1_ratio=0.15, "
      "Tensor? sample_weight=None, bool zero_is_mistake=False, "
      "float bias_step=1.0, Tensor(l!)? loss=None, "
      "Tensor(o!)? objective=None, Tensor? order=None) -> Tensor");
}
