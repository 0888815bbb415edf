// Input validation shared by every device's kernels.
//
// Every op validates all of its inputs before it writes to the weights, so a
// rejected call leaves them bit-for-bit unchanged. The one check that cannot be
// done up front without an extra pass over x (finiteness) is done on the
// decision values instead: a NaN or Inf anywhere in a row of x makes that row's
// decision value non-finite, since 0 * Inf and 0 * NaN are NaN. Kernels that
// mutate keep a snapshot of the weights and restore it before raising.
#pragma once

#include <ATen/ATen.h>
#include <optional>

namespace torch_perceptron {

// weight [K, in] and bias [K]: float32 or float64, same dtype and device, K >= 1,
// all finite.
void check_params(const at::Tensor& weight, const at::Tensor& bias);

// x [N, in] with the weights' dtype, device and in_features.
void check_features(const at::Tensor& x, const at::Tensor& weight);

// lr: finite and > 0.
void check_lr(double lr);

// Binary 0/1 labels for K outputs: [N] (only when K == 1), [N, 1] or [N, K], of
// any real or bool dtype. Returns them as a contiguous [N, K] tensor of `dtype`.
at::Tensor binary_labels(const at::Tensor& y, int64_t n, int64_t k,
                         at::ScalarType dtype, const at::Device& device);

// Class indices in [0, K): [N] of an integer dtype. Returns contiguous int64.
at::Tensor class_labels(const at::Tensor& y, int64_t n, int64_t k,
                        const at::Device& device);

// Optional per-sample weights [N]: finite, >= 0. Returns a contiguous tensor of
// `dtype`, or an undefined tensor when absent.
at::Tensor sample_weights(const std::optional<at::Tensor>& sample_weight,
                          int64_t n, at::ScalarType dtype,
                          const at::Device& device);

// Raises the error for a non-finite decision value found at `row` of x.
[[noreturn]] void fail_non_finite_row(int64_t row);

// Raises ValueError unless every decision value in z is finite.
void check_decisions_finite(const at::Tensor& z);

// Writes `src` back into `dst` when `dst` is not contiguous (the kernels work
// on a contiguous copy of such weights).
void copy_back_if_needed(at::Tensor& dst, const at::Tensor& src);

}  // namespace torch_perceptron
