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

}  // namespace torch_perceptron
