// The CSR forward and mini-batch ops' entry points, written once over one
// device's two pieces: its forward (`NetInput`: z [N, K] = x @ weight.T + bias,
// raising for the first bad row) and its mini-batch steps (`BatchSteps`: the
// rows' steps after the forward, in the reference's order), so that every
// device registers the same functions and its own file holds its loops, not
// the schema's arguments again (as penalized_operands.h's PenalizedEntries).
#pragma once

#include "csr_operands.h"

namespace torch_perceptron {

using CsrNetInput = Tensor (*)(const CsrInput& x, const Tensor& weight,
                               const Tensor& bias);
// Adds every wrong row's step to call.w (and the summed errors' one to
// call.b) and counts the mistakes in call.mistakes, from the decision values
// z of the weights before the call.
using CsrBatchSteps = void (*)(CsrOnlineOperands& call, const Tensor& z,
                               double lr, bool zero_is_mistake,
                               double bias_step);

template <CsrNetInput NetInput, CsrBatchSteps BatchSteps>
struct CsrForwardEntries {
  static Tensor decision_function(const Tensor& crow_indices,
                                  const Tensor& col_indices,
                                  const Tensor& values, int64_t n_features,
                                  const Tensor& weight, const Tensor& bias) {
    NoGradGuard no_grad;
    // The weights' values: checked by the forward where a row reads them
    // (NetInput blames them before the row), not by a read of the model.
    check_params(weight, bias, /*values=*/false);
    const CsrInput x =
        check_csr(crow_indices, col_indices, values, n_features, weight);
    return NetInput(x, weight, bias);
  }

  // The mini-batch rule: every decision value under the current weights (the
  // forward, which checks every row), then the steps; nothing is written
  // before every row was read and found good.
  static Tensor batch_update(Tensor& weight, Tensor& bias,
                             const Tensor& crow_indices,
                             const Tensor& col_indices, const Tensor& values,
                             int64_t n_features, const Tensor& y, double lr,
                             std::optional<Tensor> sample_weight,
                             bool zero_is_mistake, double bias_step) {
    NoGradGuard no_grad;
    CsrOnlineOperands call(weight, bias, crow_indices, col_indices, values,
                           n_features, y, lr, sample_weight, zero_is_mistake,
                           bias_step);
    // The operands leave the weights' values to the loops (checks.h); the
    // mini-batch rule has none, and checks them here.
    check_params_finite(call.weight, call.bias);
    if (call.n > 0) {
      const Tensor z = NetInput(call.x, call.w, call.b);
      BatchSteps(call, z, lr, zero_is_mistake, bias_step);
    }
    call.finish();
    bump_version(weight);
    bump_version(bias);
    return call.mistakes;
  }
};

}  // namespace torch_perceptron
