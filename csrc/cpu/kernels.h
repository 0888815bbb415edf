// The CPU's plain kernels (kernels.inc), in its namespace.
#pragma once

#include "../csr_operands.h"
#include "../penalized_operands.h"

namespace torch_perceptron::cpu {
#include "../kernels.inc"
}  // namespace torch_perceptron::cpu
