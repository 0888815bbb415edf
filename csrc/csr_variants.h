// The host side of the sparse averaged and pocket ops, written once for every
// device, as variants.h is for the dense ones: the validation of the state
// beside the weights, its contiguous copies, its snapshot and restore when a
// kernel stops at a bad row, and the write-back. A device supplies its Call
// (csr_operands.h plus run(make)) and its policies: the dense ops' own,
// constructible from variants.h's AveragedArgs / PocketArgs.
#pragma once

#include <cstdint>
#include <optional>

#include "csr_operands.h"
#include "variants.h"

namespace torch_perceptron {

namespace detail {

template <typename Call, template <typename> class Policy>
Tensor run_averaged_csr(Call& call, Tensor& weight_acc, Tensor& bias_acc,
                        Tensor& count, int64_t counters) {
  check_like(weight_acc, "weight_acc", call.weight, "weight");
  check_like(bias_acc, "bias_acc", call.bias, "bias");
  check_counters(count, "count", counters, call.weight.device());
  const Tensor wacc = as_contiguous(weight_acc), bacc = as_contiguous(bias_acc);
  const Tensor count0 = as_contiguous(count);
  Tensor mistakes = run_restoring_csr(
      call,
      [&](auto tag) {
        using scalar_t = decltype(tag);
        return Policy<scalar_t>(AveragedArgs<scalar_t>{
            wacc.mutable_data_ptr<scalar_t>(),
            bacc.mutable_data_ptr<scalar_t>(),
            count0.const_data_ptr<int64_t>(), call.in, call.k,
            static_cast<scalar_t>(call.bias_step)});
      },
      {{&weight_acc, &wacc}, {&bias_acc, &bacc}});
  if (call.n > 0) {
    add_to_counts(count, call.n);
  } else {
    bump_version(count);  // declared written, as on every call
  }
  return mistakes;
}

template <typename Call, template <typename> class Policy>
Tensor run_pocket_csr(Call& call, Tensor& pocket_weight, Tensor& pocket_bias,
                      Tensor& run, Tensor& best_run, int64_t counters) {
  check_like(pocket_weight, "pocket_weight", call.weight, "weight");
  check_like(pocket_bias, "pocket_bias", call.bias, "bias");
  const Device device = call.weight.device();
  check_counters(run, "run", counters, device);
  check_counters(best_run, "best_run", counters, device);
  const Tensor pw = as_contiguous(pocket_weight), pb = as_contiguous(pocket_bias);
  const Tensor r = as_contiguous(run), br = as_contiguous(best_run);
  return run_restoring_csr(
      call,
      [&](auto tag) {
        using scalar_t = decltype(tag);
        return Policy<scalar_t>(PocketArgs<scalar_t>{
            call.w.template const_data_ptr<scalar_t>(),
            call.b.template const_data_ptr<scalar_t>(),
            pw.mutable_data_ptr<scalar_t>(), pb.mutable_data_ptr<scalar_t>(),
            r.mutable_data_ptr<int64_t>(), br.mutable_data_ptr<int64_t>(),
            call.in, call.k});
      },
      {{&pocket_weight, &pw}, {&pocket_bias, &pb}, {&run, &r},
       {&best_run, &br}});
}

}  // namespace detail

template <typename OnlineCall, template <typename> class Policy>
Tensor online_update_averaged_csr(
    Tensor& weight, Tensor& bias, Tensor& weight_acc, Tensor& bias_acc,
    Tensor& count, const Tensor& crow_indices, const Tensor& col_indices,
    const Tensor& values, int64_t n_features, const Tensor& y, double lr,
    std::optional<Tensor> sample_weight, bool zero_is_mistake,
    double bias_step, std::optional<Tensor> loss) {
  NoGradGuard no_grad;
  OnlineCall call(weight, bias, crow_indices, col_indices, values, n_features,
                  y, lr, sample_weight, zero_is_mistake, bias_step, loss);
  return detail::run_averaged_csr<OnlineCall, Policy>(call, weight_acc,
                                                      bias_acc, count, call.k);
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
  return detail::run_averaged_csr<MulticlassCall, Policy>(call, weight_acc,
                                                          bias_acc, count, 1);
}

template <typename OnlineCall, template <typename> class Policy>
Tensor online_update_pocket_csr(
    Tensor& weight, Tensor& bias, Tensor& pocket_weight, Tensor& pocket_bias,
    Tensor& run, Tensor& best_run, const Tensor& crow_indices,
    const Tensor& col_indices, const Tensor& values, int64_t n_features,
    const Tensor& y, double lr, std::optional<Tensor> sample_weight,
    bool zero_is_mistake, double bias_step, std::optional<Tensor> loss) {
  NoGradGuard no_grad;
  OnlineCall call(weight, bias, crow_indices, col_indices, values, n_features,
                  y, lr, sample_weight, zero_is_mistake, bias_step, loss);
  return detail::run_pocket_csr<OnlineCall, Policy>(
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
  return detail::run_pocket_csr<MulticlassCall, Policy>(
      call, pocket_weight, pocket_bias, run, best_run, 1);
}

}  // namespace torch_perceptron
