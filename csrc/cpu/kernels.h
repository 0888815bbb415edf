// The CPU's kernels that are plain functions rather than loops templated on a
// policy: the CSR forward and mini-batch steps (csr_kernels.cpp) and the
// penalized walks (penalized_kernel.cpp). register.cpp puts them behind the
// entry points of entries.h.
#pragma once

#include "../csr_operands.h"
#include "../penalized_operands.h"

namespace torch_perceptron::cpu {

// z [N, K] = x @ weight.T + bias; raises for the first bad row.
Tensor net_input_csr(const CsrInput& x, const Tensor& weight,
                     const Tensor& bias);
// The mini-batch steps of the rows that z gets wrong (entries.h).
void batch_steps_csr(CsrOnlineOperands& call, const Tensor& z);
// The penalized rule over dense or CSR rows; the first bad row, or -1.
int64_t penalized_dense(PenalizedOperands& op);
int64_t penalized_csr(PenalizedOperands& op);

}  // namespace torch_perceptron::cpu
