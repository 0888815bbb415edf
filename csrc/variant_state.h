// The host side of the averaged and pocket ops, shared by every device: the
// extra state they carry beside the weights, its snapshots, and its restore
// when a row of x turns out non-finite (see checks.h). A device supplies the
// Call (its operands, see operands.h, and a run(make) that runs the rule with
// the policy make(scalar_t{}) builds and returns the first non-finite row or
// -1) and the policy; what happens around the kernel is the same everywhere.
#pragma once

#include <ATen/ATen.h>

#include "checks.h"
#include "state_checks.h"

namespace torch_perceptron {

// Runs `call` with the accumulators, restoring weights and accumulators if a
// row of x turns out non-finite, and advances count by N on success.
template <typename Call, typename MakePolicy>
at::Tensor run_averaged(Call& call, at::Tensor& weight_acc,
                        at::Tensor& bias_acc, at::Tensor& count,
                        at::Tensor& wacc, at::Tensor& bacc, MakePolicy make) {
  if (call.n == 0) return call.mistakes;
  const at::Tensor w_saved = call.w.clone(), b_saved = call.b.clone();
  const at::Tensor wacc_saved = wacc.clone(), bacc_saved = bacc.clone();
  const int64_t bad_row = call.run(make);
  if (bad_row >= 0) {
    call.weight.copy_(w_saved);
    call.bias.copy_(b_saved);
    weight_acc.copy_(wacc_saved);
    bias_acc.copy_(bacc_saved);
    fail_non_finite_row(bad_row);
  }
  call.finish();
  copy_back_if_needed(weight_acc, wacc);
  copy_back_if_needed(bias_acc, bacc);
  count.add_(call.n);
  return call.mistakes;
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

// Runs `call`, restoring weights and pocket state if a row of x turns out
// non-finite.
template <typename Call, typename MakePolicy>
at::Tensor run_pocket(Call& call, PocketState& s, MakePolicy make) {
  if (call.n == 0) return call.mistakes;
  const at::Tensor w_saved = call.w.clone(), b_saved = call.b.clone();
  const at::Tensor pw_saved = s.pw.clone(), pb_saved = s.pb.clone();
  const at::Tensor r_saved = s.r.clone(), br_saved = s.br.clone();
  const int64_t bad_row = call.run(make);
  if (bad_row >= 0) {
    call.weight.copy_(w_saved);
    call.bias.copy_(b_saved);
    s.pocket_weight.copy_(pw_saved);
    s.pocket_bias.copy_(pb_saved);
    s.run.copy_(r_saved);
    s.best_run.copy_(br_saved);
    fail_non_finite_row(bad_row);
  }
  call.finish();
  copy_back_if_needed(s.pocket_weight, s.pw);
  copy_back_if_needed(s.pocket_bias, s.pb);
  copy_back_if_needed(s.run, s.r);
  copy_back_if_needed(s.best_run, s.br);
  return call.mistakes;
}

}  // namespace torch_perceptron
