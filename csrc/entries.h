// The entry points of the update ops, written once for every device and every
// input format: an op is a Call type (its operands, operands.h or
// csr_operands.h, plus the device's run(make), which runs the rule's loop)
// and, for a variant, the device's policy (policies.h). A device's register
// file (cpu/register.cpp, cuda/register.cu) names each op once:
//
//   m.impl("<op>", TORCH_BOX(&Entries<cpu::OnlineCall>::plain));
//
// The arguments after weight and bias (and after a variant's state) are the
// Call's Args (operands.h's OpArgs), forwarded to its constructor, so an
// argument added to a rule is added to its schema and its operands only.
#pragma once

#include "csr_operands.h"
#include "variant_state.h"

namespace torch_perceptron {

template <typename Call, typename Args = typename Call::Args>
struct Entries;

template <typename Call, typename... Args>
struct Entries<Call, OpArgs<Args...>> {
  // The rule alone.
  static Tensor plain(Tensor& weight, Tensor& bias, Args... args) {
    NoGradGuard no_grad;
    if constexpr (Call::kKeepsFeatureMajor) {
      // The plain rule may keep the caller's feature-major weights.
      Call call(weight, bias, args..., /*feature_major_ok=*/true);
      call.choose_layout();
      return run(call);
    } else {
      Call call(weight, bias, args...);
      return run(call);
    }
  }

  // The averaged perceptron: the rule, and weight_acc, bias_acc and count
  // (variant_state.h) beside it.
  template <template <typename> class Policy>
  static Tensor averaged(Tensor& weight, Tensor& bias, Tensor& weight_acc, Tensor& bias_acc,
                         Tensor& count, Args... args) {
    NoGradGuard no_grad;
    Call call(weight, bias, args...);
    return detail::run_averaged<Call, Policy>(call, weight_acc, bias_acc, count, counters(call));
  }

  // The pocket perceptron: the rule, and the pocket and its run lengths.
  template <template <typename> class Policy>
  static Tensor pocket(Tensor& weight, Tensor& bias, Tensor& pocket_weight, Tensor& pocket_bias,
                       Tensor& run, Tensor& best_run, Args... args) {
    NoGradGuard no_grad;
    Call call(weight, bias, args...);
    return detail::run_pocket<Call, Policy>(call, pocket_weight, pocket_bias, run, best_run,
                                            counters(call));
  }

 private:
  static Tensor run(Call& call) {
    return run_restoring(call, [](auto) { return typename Call::PlainPolicy{}; });
  }
  // One counter an output (one-vs-rest), or one for the model (multiclass):
  // as many as the call counts mistakes.
  static int64_t counters(const Call& call) { return call.mistakes.size(0); }
};

// The CSR forward of a device: its NetInput (z [N, K] = x @ weight.T + bias,
// raising for the first bad row) behind the ops' checks.
using CsrNetInput = Tensor (*)(const CsrInput& x, const Tensor& weight, const Tensor& bias);

template <CsrNetInput NetInput>
struct CsrForward {
  static Tensor scores(const Tensor& crow_indices, const Tensor& col_indices, const Tensor& values,
                       int64_t n_features, const Tensor& weight, const Tensor& bias) {
    NoGradGuard no_grad;
    // The weights' values: checked by the forward where a row reads them
    // (NetInput blames them before the row), not by a read of the model.
    check_params(weight, bias, /*values=*/false);
    const CsrInput x = check_csr(crow_indices, col_indices, values, n_features, weight);
    return NetInput(x, weight, bias);
  }

  static Tensor labels(const Tensor& crow_indices, const Tensor& col_indices, const Tensor& values,
                       int64_t n_features, const Tensor& weight, const Tensor& bias) {
    NoGradGuard no_grad;
    const Tensor z = scores(crow_indices, col_indices, values, n_features, weight, bias);
    // [z > 0]: z is finite (the forward raised otherwise), so heaviside's
    // value at 0 is the only choice it makes.
    return aten("aten::heaviside", "", z, scalar_like(z, 0));
  }
};

// The CSR mini-batch rule as a Call: every decision value under the current
// weights (NetInput, which checks every row and raises before anything is
// written), then the device's BatchSteps, which add every wrong row's step to
// w (and the summed errors' one to b) and count the mistakes.
using CsrBatchSteps = void (*)(CsrOnlineOperands& call, const Tensor& z);

template <CsrNetInput NetInput, CsrBatchSteps BatchSteps>
struct CsrBatchCall : CsrOnlineOperands {
  // crow_indices, col_indices, values, n_features, y, lr, sample_weight,
  // zero_is_mistake, bias_step.
  using Args = OpArgs<const Tensor&, const Tensor&, const Tensor&, int64_t, const Tensor&, double,
                      Opt, bool, double>;

  template <typename... A>
  CsrBatchCall(Tensor& weight_, Tensor& bias_, A&&... a)
      : CsrOnlineOperands(weight_, bias_, std::forward<A>(a)...) {
    // The operands leave the weights' values to the loops (checks.h); this
    // rule has none, and checks them first, on an empty call too.
    check_params_finite(weight, bias);
  }
  Restore restore_plan() const { return Restore::kLate; }

  template <typename MakePolicy>
  int64_t run(MakePolicy) {
    BatchSteps(*this, NetInput(x, w, b));
    return -1;
  }
};

}  // namespace torch_perceptron
