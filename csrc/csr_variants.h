// The sparse averaged and pocket ops, written once for every device, as
// variants.h's are for the dense ones, and through variants.h's own host side
// (the validation of the state beside the weights, its contiguous copies, its
// snapshot and restore when a kernel stops at a bad row, the write-back): it
// runs a sparse call through run_restoring_csr (CsrRun). A device supplies
// its Call (csr_operands.h plus run(make)) and its policies: the dense ops'
// own, constructible from variants.h's AveragedArgs / PocketArgs.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>

#include "csr_operands.h"
#include "variants.h"

namespace torch_perceptron {

namespace detail {

// variants.h's run_averaged / run_pocket run a sparse call through
// run_restoring_csr, after which the tensors an op declares written have
// their versions bumped on every call, an empty one included.
struct CsrRun {
  template <typename Call, typename MakePolicy>
  static Tensor run(Call& call, MakePolicy make,
                    std::initializer_list<StatePair> state) {
    return run_restoring_csr(call, make, state);
  }
  static constexpr bool kEmptyCallWrites = true;
};

}  // namespace detail

template <typename OnlineCall, template <typename> class Policy>
Tensor online_update_averaged_csr(
    Tensor& weight, Tensor& bias, Tensor& weight_acc, Tensor& bias_acc,
    Tensor& count, const Tensor& crow_indices, const Tensor& col_indices,
    const Tensor& values, int64_t n_features, const Tensor& y, double lr,
    std::optional<Tensor> sample_weight, bool zero_is_mistake,
    double bias_step, std::optional<Tensor> loss,
    std::optional<Tensor> order) {
  NoGradGuard no_grad;
  OnlineCall call(weight, bias, crow_indices, col_indices, values, n_features,
                  y, lr, sample_weight, zero_is_mistake, bias_step, loss,
                  order);
  return detail::run_averaged<OnlineCall, Policy, detail::CsrRun>(
      call, weight_acc, bias_acc, count, call.k);
}

template <typename MulticlassCall, template <typename> class Policy>
Tensor multiclass_update_averaged_csr(
    Tensor& weight, Tensor& bias, Tensor& weight_acc, Tensor& bias_acc,
    Tensor& count, const Tensor& crow_indices, const Tensor& col_indices,
    const Tensor& values, int64_t n_features, const Tensor& y, double lr,
    std::optional<Tensor> sample_weight, double bias_step) {
  NoGradGuard no_grad;
  MulticlassCall call(weight, bias, crow_indices, col_indices, values,
                      n_features, y, lr, sample_weight, bias_step);
  return detail::run_averaged<MulticlassCall, Policy, detail::CsrRun>(
      call, weight_acc, bias_acc, count, 1);
}

template <typename OnlineCall, template <typename> class Policy>
Tensor online_update_pocket_csr(
    Tensor& weight, Tensor& bias, Tensor& pocket_weight, Tensor& pocket_bias,
    Tensor& run, Tensor& best_run, const Tensor& crow_indices,
    const Tensor& col_indices, const Tensor& values, int64_t n_features,
    const Tensor& y, double lr, std::optional<Tensor> sample_weight,
    bool zero_is_mistake, double bias_step, std::optional<Tensor> loss,
    std::optional<Tensor> order) {
  NoGradGuard no_grad;
  OnlineCall call(weight, bias, crow_indices, col_indices, values, n_features,
                  y, lr, sample_weight, zero_is_mistake, bias_step, loss,
                  order);
  return detail::run_pocket<OnlineCall, Policy, detail::CsrRun>(
      call, pocket_weight, pocket_bias, run, best_run, call.k);
}

template <typename MulticlassCall, template <typename> class Policy>
Tensor multiclass_update_pocket_csr(
    Tensor& weight, Tensor& bias, Tensor& pocket_weight, Tensor& pocket_bias,
    Tensor& run, Tensor& best_run, const Tensor& crow_indices,
    const Tensor& col_indices, const Tensor& values, int64_t n_features,
    const Tensor& y, double lr, std::optional<Tensor> sample_weight,
    double bias_step) {
  NoGradGuard no_grad;
  MulticlassCall call(weight, bias, crow_indices, col_indices, values,
                      n_features, y, lr, sample_weight, bias_step);
  return detail::run_pocket<MulticlassCall, Policy, detail::CsrRun>(
      call, pocket_weight, pocket_bias, run, best_run, 1);
}

}  // namespace torch_perceptron
