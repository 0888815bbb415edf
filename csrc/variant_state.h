// The state the averaged and pocket variants carry beside the weights, on
// every device and for dense and CSR input alike: its validation, its
// contiguous copies, its restore when the rule stops at a bad row (through
// run_restoring, restore.h), and the write-back. A device supplies its Call
// (operands.h or csr_operands.h, plus run(make), which runs the rule with the
// policy make(scalar_t{}) builds) and its policies (the hook protocol of
// policies.h), each constructible from the AveragedArgs / PocketArgs below;
// entries.h puts them together.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <vector>

#include "checks.h"
#include "operands.h"

namespace torch_perceptron {

// What an averaged policy works on. The average of the weights over the c
// samples seen is weight - weight_acc / c; on a mistake at sample i of the
// call (0-based), the accumulators gain (count + i) * step * x_i and
// (count + i) * bias_step * step (the bias's own step, see ops.cpp).
template <typename scalar_t>
struct AveragedArgs {
  scalar_t* weight_acc;  // [K, in]
  scalar_t* bias_acc;    // [K]
  const int64_t* count;  // [K] (multiclass: [1]), samples seen before the call
  int64_t in, k;
  scalar_t bias_step;  // 0: the bias, and so bias_acc, stay as they are
};

// What a pocket policy works on: the pocket takes the weights w, b (the
// kernel's, see operands.h) when a run of correct predictions that beats the
// record ends.
template <typename scalar_t>
struct PocketArgs {
  const scalar_t* w;   // [K, in]
  const scalar_t* b;   // [K]
  scalar_t* pocket_w;  // [K, in]
  scalar_t* pocket_b;  // [K]
  int64_t* run;        // [K] (multiclass: [1])
  int64_t* best;       // [K] (multiclass: [1])
  int64_t in, k;
};

namespace detail {

// count += n, on any device (int64: no Scalar needed, see stable.h).
inline void add_to_counts(Tensor& count, int64_t n) {
  if (count.is_cpu()) {
    Tensor c = as_contiguous(count);
    int64_t* p = c.mutable_data_ptr<int64_t>();
    for (int64_t i = 0; i < c.numel(); ++i) p[i] += n;
    if (!count.is_contiguous()) copy_into(count, c);
    bump_version(count);
    return;
  }
  const Tensor step =
      torch::stable::full(std::vector<int64_t>{count.size(0)}, static_cast<double>(n),
                          ScalarType::Long, std::nullopt, count.device());
  const Tensor both = aten("aten::stack", "", std::vector<Tensor>{count, step}, int64_t{0});
  copy_into(count, torch::stable::sum(both, std::vector<int64_t>{0}));
}

template <typename Call, template <typename> class Policy>
Tensor run_averaged(Call& call, Tensor& weight_acc, Tensor& bias_acc, Tensor& count,
                    int64_t counters) {
  check_like(weight_acc, "weight_acc", call.weight, "weight");
  check_like(bias_acc, "bias_acc", call.bias, "bias");
  check_counters(count, "count", counters, call.weight.device());
  const Tensor wacc = as_contiguous(weight_acc), bacc = as_contiguous(bias_acc);
  const Tensor count0 = as_contiguous(count);
  Tensor mistakes =
      run_restoring(call,
                    [&](auto tag) {
                      using scalar_t = decltype(tag);
                      return Policy<scalar_t>(AveragedArgs<scalar_t>{
                          wacc.mutable_data_ptr<scalar_t>(), bacc.mutable_data_ptr<scalar_t>(),
                          count0.const_data_ptr<int64_t>(), call.in, call.k,
                          static_cast<scalar_t>(call.bias_step)});
                    },
                    {{&weight_acc, &wacc}, {&bias_acc, &bacc}});
  // An empty call bumps count's version as run_restoring bumps the others'.
  if (call.n > 0) {
    add_to_counts(count, call.n);
  } else {
    bump_version(count);
  }
  return mistakes;
}

template <typename Call, template <typename> class Policy>
Tensor run_pocket(Call& call, Tensor& pocket_weight, Tensor& pocket_bias, Tensor& run,
                  Tensor& best_run, int64_t counters) {
  check_like(pocket_weight, "pocket_weight", call.weight, "weight");
  check_like(pocket_bias, "pocket_bias", call.bias, "bias");
  const Device device = call.weight.device();
  check_counters(run, "run", counters, device);
  check_counters(best_run, "best_run", counters, device);
  const Tensor pw = as_contiguous(pocket_weight), pb = as_contiguous(pocket_bias);
  const Tensor r = as_contiguous(run), br = as_contiguous(best_run);
  return run_restoring(
      call,
      [&](auto tag) {
        using scalar_t = decltype(tag);
        return Policy<scalar_t>(PocketArgs<scalar_t>{
            call.w.template const_data_ptr<scalar_t>(), call.b.template const_data_ptr<scalar_t>(),
            pw.mutable_data_ptr<scalar_t>(), pb.mutable_data_ptr<scalar_t>(),
            r.mutable_data_ptr<int64_t>(), br.mutable_data_ptr<int64_t>(), call.in, call.k});
      },
      {{&pocket_weight, &pw}, {&pocket_bias, &pb}, {&run, &r}, {&best_run, &br}});
}

}  // namespace detail

}  // namespace torch_perceptron
