// The checks of the penalized ops' own arguments (penalized_operands.h); the
// schemas and what the arguments mean are in ops.cpp.
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
  TP_CHECK_VALUE(std::isfinite(alpha) && alpha >= 0, "alpha: expected a finite value >= 0, got ",
                 alpha);
  TP_CHECK_VALUE(std::isfinite(l1_ratio) && l1_ratio >= 0 && l1_ratio <= 1,
                 "l1_ratio: expected a value in [0, 1], got ", l1_ratio);
}

void check_penalty_state(const Tensor& state, int64_t k, const Device& device) {
  TP_CHECK(state.dim() == 2 && state.size(0) == k && state.size(1) == kPenaltyState,
           "state: expected shape [", k, ", ", int(kPenaltyState),
           "] (wscale, u, sq_norm, l1_norm per output), got ", shape(state));
  TP_CHECK(state.scalar_type() == ScalarType::Double, "state: expected dtype float64, got ",
           state.scalar_type());
  TP_CHECK(state.device() == device, "state: expected device ", device, " (the weight's), got ",
           state.device());
  const Tensor c = on_cpu(state);
  const double* v = c.const_data_ptr<double>();
  for (int64_t o = 0; o < k; ++o) {
    for (int j = 0; j < kPenaltyState; ++j) {
      TP_CHECK_VALUE(std::isfinite(v[o * kPenaltyState + j]),
                     "state: expected finite values, found NaN or Inf in row ", o);
    }
    TP_CHECK_VALUE(v[o * kPenaltyState + kWscale] > 0,
                   "state: expected wscale (column 0) > 0, got ", v[o * kPenaltyState + kWscale],
                   " in row ", o);
  }
}

std::optional<Tensor> penalty_sums(const std::optional<Tensor>& sums, const char* name, int64_t k,
                                   const Device& device) {
  if (!sums.has_value() || !sums->defined()) return std::nullopt;
  const Tensor& s = *sums;
  TP_CHECK(s.dim() == 1 && s.size(0) == k, name, ": expected shape [", k,
           "] (one sum per output), got ", shape(s));
  TP_CHECK(s.scalar_type() == ScalarType::Double, name, ": expected dtype float64, got ",
           s.scalar_type());
  TP_CHECK(s.device() == device, name, ": expected device ", device, " (the weight's), got ",
           s.device());
  const Tensor c = on_cpu(s);
  const double* v = c.const_data_ptr<double>();
  for (int64_t o = 0; o < k; ++o) {
    TP_CHECK_VALUE(std::isfinite(v[o]), name, ": expected finite values, found NaN or Inf");
  }
  return as_contiguous(s);
}

}  // namespace torch_perceptron
