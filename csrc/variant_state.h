// The host side of the averaged and pocket ops, shared by every device: the
// extra state they carry beside the weights, its snapshots, and its restore
// when a row of x turns out non-finite (see checks.h). A device supplies the
// Call (its operands, see operands.h, and a run(make) that runs the rule with
// the policy make(scalar_t{}) builds and returns the first non-finite row or
// -1) and the policy; what happens around the kernel is the same everywhere.
#pragma once

#include <ATen/ATen.h>

#include "checks.h"
#include "operands.h"
#include "state_checks.h"

namespace torch_perceptron {

// Runs `call` with the accumulators (restored with the weights if a row of x
// turns out non-finite) and advances count by N on success.
template <typename Call, typename MakePolicy>
at::Tensor run_averaged(Call& call, at::Tensor& weight_acc,
                        at::Tensor& bias_acc, at::Tensor& count,
                        const at::Tensor& wacc, const at::Tensor& bacc,
                        MakePolicy make) {
  at::Tensor mistakes =
      run_restoring(call, make, {{&weight_acc, &wacc}, {&bias_acc, &bacc}});
  count.add_(call.n);
  return mistakes;
}

// The pocket state of one call: the caller's tensors and the contiguous ones
// the kernel writes.
struct PocketState {
  at::Tensor& pocket_weight;
  at::Tensor& pocket_bias;
  at::Tensor& run;
  at::Tensor& best_run;
  at::Tensor pw, pb, r, br;

  PocketState(at::Tensor& pocket_weight_, at::Tensor& pocket_bias_,
              at::Tensor& run_, at::Tensor& best_run_,
              const at::Tensor& weight, const at::Tensor& bias,
              int64_t counters)
      : pocket_weight(pocket_weight_), pocket_bias(pocket_bias_), run(run_),
        best_run(best_run_) {
    check_like(pocket_weight, "pocket_weight", weight, "weight");
    check_like(pocket_bias, "pocket_bias", bias, "bias");
    check_counters(run, "run", counters, weight.device());
    check_counters(best_run, "best_run", counters, weight.device());
    pw = pocket_weight.contiguous();
    pb = pocket_bias.contiguous();
    r = run.contiguous();
    br = best_run.contiguous();
  }
};

// Runs `call` with the pocket state (restored with the weights if a row of x
// turns out non-finite).
template <typename Call, typename MakePolicy>
at::Tensor run_pocket(Call& call, PocketState& s, MakePolicy make) {
  return run_restoring(call, make,
                       {{&s.pocket_weight, &s.pw},
                        {&s.pocket_bias, &s.pb},
                        {&s.run, &s.r},
                        {&s.best_run, &s.br}});
}

}  // namespace torch_perceptron
