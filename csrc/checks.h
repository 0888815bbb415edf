// Input validation shared by every device's kernels.
//
// Every op validates all of its inputs before it writes to the weights, so a
// rejected call leaves them bit-for-bit unchanged. The one check that cannot be
// done up front without an extra pass over x (finiteness) is done on the
// decision values instead: a NaN or Inf anywhere in a row of x makes that row's
// decision value non-finite, since 0 * Inf and 0 * NaN are NaN. Kernels that
// mutate undo what they wrote before raising (restore.h).
//
// Errors name the argument, what was expected and what came: RuntimeError for
// a wrong shape, dtype or device, ValueError for a wrong value (see stable.h).
#pragma once

#include <optional>

#include "stable.h"

namespace torch_perceptron {

// weight [K, in] and bias [K]: float32 or float64, same dtype and device, K >= 1.
// `values`: also that every weight and bias is finite, a read of the whole
// model. The update ops leave that out: they read the weights they use
// anyway, a non-finite one stops the loop at the first row that reads it,
// and their fail() then blames the weights (check_params_finite) once the
// call is undone. A weight no row reads is not checked.
void check_params(const Tensor& weight, const Tensor& bias, bool values = true);
void check_params_finite(const Tensor& weight, const Tensor& bias);

// x [N, in] with the weights' dtype, device and in_features.
void check_features(const Tensor& x, const Tensor& weight);

// lr: finite and > 0.
void check_lr(double lr);

// bias_step: finite (any sign; 0 leaves the bias alone).
void check_bias_step(double bias_step);

// Binary 0/1 labels for K outputs: [N] (only when K == 1), [N, 1] or [N, K], of
// any real or bool dtype. Returns them as a contiguous [N, K] tensor of `dtype`.
Tensor binary_labels(const Tensor& y, int64_t n, int64_t k, ScalarType dtype, const Device& device);

// Class indices in [0, K): [N] of an integer dtype. Returns contiguous int64.
Tensor class_labels(const Tensor& y, int64_t n, int64_t k, const Device& device);

// Optional per-sample weights [N]: finite, >= 0. Returns a contiguous tensor of
// `dtype`, or nullopt when absent.
std::optional<Tensor> sample_weights(const std::optional<Tensor>& sample_weight, int64_t n,
                                     ScalarType dtype, const Device& device);

// The optional epoch-loss sums of the online ops, `loss`: float64 [k] on
// `device`, finite. Returns the contiguous tensor a kernel adds to (loss
// itself when contiguous), or nullopt when absent.
std::optional<Tensor> loss_sums(const std::optional<Tensor>& loss, int64_t k, const Device& device);

// The optional sample order of the online ops, `order`: int64 [M] (every
// output visits rows order[0], ..., order[M - 1] of x, y and sample_weight)
// or [k, M] (output o visits order[o]), on `device`, every entry in
// [0, rows). Returns the contiguous tensor the kernels read, or nullopt when
// absent. The range is checked here, before any write: the kernels then read
// through it unchecked.
std::optional<Tensor> sample_order(const std::optional<Tensor>& order, int64_t rows, int64_t k,
                                   const Device& device);

// Raises the error for a non-finite decision value found at `row` of x.
[[noreturn]] void fail_non_finite_row(int64_t row);

// Raises ValueError unless every decision value in z is finite.
void check_decisions_finite(const Tensor& z, const Tensor& weight, const Tensor& bias);

// The variants' state beside the weights (averaged, pocket):
// `t` (named `name`) must have the shape, dtype and device of `ref` (named
// `ref_name`) and hold finite values.
void check_like(const Tensor& t, const char* name, const Tensor& ref, const char* ref_name);

// `t` (named `name`) must be an int64 tensor [k] on `device` with values >= 0.
void check_counters(const Tensor& t, const char* name, int64_t k, const Device& device);

}  // namespace torch_perceptron
