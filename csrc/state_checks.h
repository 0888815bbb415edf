// Validation of the extra state that the averaged and pocket ops carry beside
// the weights. Like checks.h, device-generic, and done before any write.
#pragma once

#include <ATen/ATen.h>

namespace torch_perceptron {

// `t` (named `name`) must have the shape, dtype and device of `ref` (named
// `ref_name`) and hold finite values.
void check_like(const at::Tensor& t, const char* name, const at::Tensor& ref,
                const char* ref_name);

// `t` (named `name`) must be an int64 tensor [k] on `device` with values >= 0.
void check_counters(const at::Tensor& t, const char* name, int64_t k,
                    const at::Device& device);

// The averaged ops' state: weight_acc and bias_acc like weight and bias, and
// `counters` sample counts (K, or 1 for the multiclass op).
void check_averaged_state(const at::Tensor& weight, const at::Tensor& bias,
                          const at::Tensor& weight_acc,
                          const at::Tensor& bias_acc, const at::Tensor& count,
                          int64_t counters);

}  // namespace torch_perceptron
