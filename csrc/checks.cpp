#include "checks.h"

#include <ATen/Dispatch.h>

#include <algorithm>
#include <cmath>
#include <type_traits>

namespace torch_perceptron {
namespace {

bool is_real_float(at::ScalarType t) {
  return t == at::kFloat || t == at::kDouble;
}

// On the CPU the checks read memory directly: a chain of small ATen ops
// (isfinite, all, item) costs tens of microseconds per call, which a training
// loop over small batches pays on every step.
// The inner loop has no exit and ORs into an int, so it vectorises (an early
// exit per element, or a bool reduction, which GCC leaves scalar, made the
// label check of a [100000, 10] epoch cost 2 ms); the check still stops at the
// first block that fails.
template <typename Pred>
bool cpu_all_of(const at::Tensor& t, Pred pred) {
  constexpr int64_t kBlock = 4096;
  const at::Tensor c = t.contiguous();
  bool ok = true;
  AT_DISPATCH_ALL_TYPES_AND(at::kBool, c.scalar_type(), "cpu_all_of", [&] {
    const scalar_t* p = c.const_data_ptr<scalar_t>();
    const int64_t n = c.numel();
    for (int64_t i0 = 0; i0 < n && ok; i0 += kBlock) {
      const int64_t i1 = std::min(n, i0 + kBlock);
      int bad = 0;
      for (int64_t i = i0; i < i1; ++i) {
        bad |= !pred(p[i]);
      }
      ok = bad == 0;
    }
  });
  return ok;
}

// v >= 0 for every dtype cpu_all_of dispatches to, without GCC's warning that
// it is always true for bool.
template <typename T>
bool non_negative(T v) {
  if constexpr (std::is_same_v<T, bool>) {
    return true;
  } else {
    return v >= 0;
  }
}

bool all_finite(const at::Tensor& t) {
  if (t.is_cpu()) {
    return cpu_all_of(t, [](auto v) { return std::isfinite(static_cast<double>(v)); });
  }
  return at::isfinite(t).all().item<bool>();
}

}  // namespace

void check_params(const at::Tensor& weight, const at::Tensor& bias) {
  TORCH_CHECK(weight.dim() == 2,
              "weight: expected a 2-D tensor [out_features, in_features], got ",
              weight.dim(), "-D with shape ", weight.sizes());
  TORCH_CHECK(weight.size(0) >= 1,
              "weight: expected at least one output (row), got shape ",
              weight.sizes());
  TORCH_CHECK(is_real_float(weight.scalar_type()),
              "weight: expected float32 or float64, got ", weight.scalar_type());
  TORCH_CHECK(bias.dim() == 1 && bias.size(0) == weight.size(0),
              "bias: expected shape [", weight.size(0),
              "] (one per row of weight), got ", bias.sizes());
  TORCH_CHECK(bias.scalar_type() == weight.scalar_type(),
              "bias: expected dtype ", weight.scalar_type(),
              " (the weight's), got ", bias.scalar_type());
  TORCH_CHECK(bias.device() == weight.device(), "bias: expected device ",
              weight.device(), " (the weight's), got ", bias.device());
  TORCH_CHECK_VALUE(
      all_finite(weight) && all_finite(bias),
      "weight and bias: expected finite values, found NaN or Inf");
}

void check_features(const at::Tensor& x, const at::Tensor& weight) {
  TORCH_CHECK(x.dim() == 2, "x: expected a 2-D tensor [N, in_features=",
              weight.size(1), "], got ", x.dim(), "-D with shape ", x.sizes());
  TORCH_CHECK(x.size(1) == weight.size(1), "x: expected ", weight.size(1),
              " features (weight has shape ", weight.sizes(), "), got shape ",
              x.sizes());
  TORCH_CHECK(x.scalar_type() == weight.scalar_type(), "x: expected dtype ",
              weight.scalar_type(), " (the weight's), got ", x.scalar_type());
  TORCH_CHECK(x.device() == weight.device(), "x: expected device ",
              weight.device(), " (the weight's), got ", x.device());
}

void check_lr(double lr) {
  TORCH_CHECK_VALUE(std::isfinite(lr) && lr > 0,
                    "lr: expected a finite value > 0, got ", lr);
}

at::Tensor binary_labels(const at::Tensor& y, int64_t n, int64_t k,
                         at::ScalarType dtype, const at::Device& device) {
  const bool shape_ok = (y.dim() == 1 && k == 1 && y.size(0) == n) ||
                        (y.dim() == 2 && y.size(0) == n &&
                         (y.size(1) == k || (y.size(1) == 1 && k == 1)));
  TORCH_CHECK(shape_ok, "y: expected 0/1 labels of shape ",
              k == 1 ? "[N] or [N, 1]" : "[N, K]", " with N=", n, ", K=", k,
              ", got shape ", y.sizes());
  TORCH_CHECK(!y.is_complex(), "y: expected real 0/1 labels, got dtype ",
              y.scalar_type());
  TORCH_CHECK(y.device() == device, "y: expected device ", device, ", got ",
              y.device());
  const bool binary =
      y.is_cpu() ? cpu_all_of(y, [](auto v) { return (v == 0) | (v == 1); })
                 : y.numel() == 0 || ((y == 0) | (y == 1)).all().item<bool>();
  TORCH_CHECK_VALUE(binary,
                    "y: expected binary labels with values 0 or 1, found "
                    "other values");
  return y.reshape({n, k}).to(dtype).contiguous();
}

at::Tensor class_labels(const at::Tensor& y, int64_t n, int64_t k,
                        const at::Device& device) {
  TORCH_CHECK(y.dim() == 1 && y.size(0) == n,
              "y: expected class indices of shape [N] with N=", n,
              ", got shape ", y.sizes());
  TORCH_CHECK(at::isIntegralType(y.scalar_type(), /*includeBool=*/false),
              "y: expected an integer dtype (class indices), got ",
              y.scalar_type());
  TORCH_CHECK(y.device() == device, "y: expected device ", device, ", got ",
              y.device());
  const bool in_range =
      y.is_cpu()
          ? cpu_all_of(y, [k](auto v) { return non_negative(v) & (v < k); })
          : y.numel() == 0 || ((y >= 0) & (y < k)).all().item<bool>();
  TORCH_CHECK_VALUE(in_range,
                    "y: expected class indices in [0, ", k,
                    ") (one per row of weight), found values outside it");
  return y.to(at::kLong).contiguous();
}

at::Tensor sample_weights(const std::optional<at::Tensor>& sample_weight,
                          int64_t n, at::ScalarType dtype,
                          const at::Device& device) {
  if (!sample_weight.has_value() || !sample_weight->defined()) {
    return at::Tensor();
  }
  const at::Tensor& sw = *sample_weight;
  TORCH_CHECK(sw.dim() == 1 && sw.size(0) == n,
              "sample_weight: expected shape [N] with N=", n, ", got ",
              sw.sizes());
  TORCH_CHECK(!sw.is_complex(), "sample_weight: expected a real dtype, got ",
              sw.scalar_type());
  TORCH_CHECK(sw.device() == device, "sample_weight: expected device ", device,
              ", got ", sw.device());
  at::Tensor out = sw.to(dtype).contiguous();
  const bool valid =
      out.is_cpu()
          ? cpu_all_of(out, [](auto v) {
            return std::isfinite(static_cast<double>(v)) & non_negative(v);
          })
          : n == 0 || (at::isfinite(out) & (out >= 0)).all().item<bool>();
  TORCH_CHECK_VALUE(valid,
      "sample_weight: expected finite values >= 0");
  return out;
}

void fail_non_finite_row(int64_t row) {
  TORCH_CHECK_VALUE(false, "x: expected finite values, but row ", row,
                    " gives a non-finite decision value (NaN or Inf in x, or "
                    "an overflow of x . w + b); the weights were left "
                    "unchanged");
}

void check_decisions_finite(const at::Tensor& z) {
  if (z.numel() == 0 || all_finite(z)) return;
  at::Tensor bad = at::logical_not(at::isfinite(z)).any(1);
  if (bad.any().item<bool>()) {
    fail_non_finite_row(bad.nonzero().min().item<int64_t>());
  }
}

void copy_back_if_needed(at::Tensor& dst, const at::Tensor& src) {
  if (!dst.is_same(src)) dst.copy_(src);
}

}  // namespace torch_perceptron
