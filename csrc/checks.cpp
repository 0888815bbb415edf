#include "checks.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>

namespace torch_perceptron {
namespace {

// Calls f(T{}) with the C++ type of a real (or bool) dtype; other dtypes
// (float16, bfloat16, ...) are read as float64.
template <typename F>
void dispatch_real(const Tensor& t, F&& f) {
  switch (t.scalar_type()) {
    case ScalarType::Bool: return f(bool{}, t);
    case ScalarType::Byte: return f(uint8_t{}, t);
    case ScalarType::Char: return f(int8_t{}, t);
    case ScalarType::Short: return f(int16_t{}, t);
    case ScalarType::Int: return f(int32_t{}, t);
    case ScalarType::Long: return f(int64_t{}, t);
    case ScalarType::Float: return f(float{}, t);
    case ScalarType::Double: return f(double{}, t);
    default: return f(double{}, torch::stable::to(t, ScalarType::Double));
  }
}

// On the CPU the checks read memory directly: a chain of small ATen ops
// (isfinite, all, item) costs a dispatch each per call, which a training
// loop over small batches pays on every step (measured: BENCHMARKS.md,
// "Figures moved out of code comments").
// The inner loop has no exit and ORs into an int, so it vectorises (an early
// exit per element, or a bool reduction, which GCC leaves scalar, made the
// label check of a [100000, 10] epoch measurably slower: BENCHMARKS.md, "Where
// the targets stand"); the check still stops at the first block that fails.
template <typename Pred>
bool cpu_all_of(const Tensor& t, Pred pred) {
  constexpr int64_t kBlock = 4096;
  bool ok = true;
  dispatch_real(t, [&](auto tag, const Tensor& typed) {
    using T = decltype(tag);
    // A transposed matrix (feature-major weights) is read as its contiguous
    // transpose: the same elements, without a copy.
    const bool transposed = typed.dim() == 2 && !typed.is_contiguous() && typed.stride(0) == 1;
    const Tensor c = as_contiguous(transposed ? torch::stable::transpose(typed, 0, 1) : typed);
    const T* p = c.const_data_ptr<T>();
    const int64_t n = c.numel();
    for (int64_t i0 = 0; i0 < n && ok; i0 += kBlock) {
      const int64_t i1 = std::min(n, i0 + kBlock);
      int bad = 0;
      for (int64_t i = i0; i < i1; ++i) { bad |= !pred(p[i]); }
      ok = bad == 0;
    }
  });
  return ok;
}

// v >= 0 for every dtype cpu_all_of dispatches to, without GCC's warning that
// it is always true for bool and unsigned types.
template <typename T>
bool non_negative(T v) {
  if constexpr (std::is_same_v<T, bool> || std::is_unsigned_v<T>) {
    return true;
  } else {
    return v >= 0;
  }
}

// Whether every element of a bool tensor on an accelerator is true (one
// synchronisation).
bool device_all(const Tensor& mask) {
  return mask.numel() == 0 || item_bool(aten("aten::all", "", mask));
}

Tensor isfinite(const Tensor& t) { return aten("aten::isfinite", "", t); }

Tensor logical_and(const Tensor& a, const Tensor& b) { return aten("aten::logical_and", "", a, b); }

bool all_finite(const Tensor& t) {
  if (t.is_cpu()) {
    return cpu_all_of(t, [](auto v) { return std::isfinite(static_cast<double>(v)); });
  }
  return device_all(isfinite(t));
}

bool all_non_negative(const Tensor& t) {
  if (t.is_cpu()) return cpu_all_of(t, [](auto v) { return non_negative(v); });
  return device_all(aten("aten::ge", "Tensor", t, scalar_like(t, 0)));
}

}  // namespace

void check_params(const Tensor& weight, const Tensor& bias, bool values) {
  TP_CHECK(weight.dim() == 2, "weight: expected a 2-D tensor [out_features, in_features], got ",
           weight.dim(), "-D with shape ", shape(weight));
  TP_CHECK(weight.size(0) >= 1, "weight: expected at least one output (row), got shape ",
           shape(weight));
  TP_CHECK(is_real_float(weight.scalar_type()), "weight: expected float32 or float64, got ",
           weight.scalar_type());
  TP_CHECK(bias.dim() == 1 && bias.size(0) == weight.size(0), "bias: expected shape [",
           weight.size(0), "] (one per row of weight), got ", shape(bias));
  TP_CHECK(bias.scalar_type() == weight.scalar_type(), "bias: expected dtype ",
           weight.scalar_type(), " (the weight's), got ", bias.scalar_type());
  TP_CHECK(bias.device() == weight.device(), "bias: expected device ", weight.device(),
           " (the weight's), got ", bias.device());
  if (values) check_params_finite(weight, bias);
}

void check_params_finite(const Tensor& weight, const Tensor& bias) {
  TP_CHECK_VALUE(all_finite(weight) && all_finite(bias),
                 "weight and bias: expected finite values, found NaN or Inf");
}

void check_features(const Tensor& x, const Tensor& weight) {
  TP_CHECK(x.dim() == 2, "x: expected a 2-D tensor [N, in_features=", weight.size(1), "], got ",
           x.dim(), "-D with shape ", shape(x));
  TP_CHECK(x.size(1) == weight.size(1), "x: expected ", weight.size(1),
           " features (weight has shape ", shape(weight), "), got shape ", shape(x));
  TP_CHECK(x.scalar_type() == weight.scalar_type(), "x: expected dtype ", weight.scalar_type(),
           " (the weight's), got ", x.scalar_type());
  TP_CHECK(x.device() == weight.device(), "x: expected device ", weight.device(),
           " (the weight's), got ", x.device());
}

void check_lr(double lr) {
  TP_CHECK_VALUE(std::isfinite(lr) && lr > 0, "lr: expected a finite value > 0, got ", lr);
}

void check_bias_step(double bias_step) {
  TP_CHECK_VALUE(std::isfinite(bias_step), "bias_step: expected a finite value, got ", bias_step);
}

Tensor binary_labels(const Tensor& y, int64_t n, int64_t k, ScalarType dtype,
                     const Device& device) {
  const bool shape_ok =
      (y.dim() == 1 && k == 1 && y.size(0) == n) ||
      (y.dim() == 2 && y.size(0) == n && (y.size(1) == k || (y.size(1) == 1 && k == 1)));
  TP_CHECK(shape_ok, "y: expected 0/1 labels of shape ", k == 1 ? "[N] or [N, 1]" : "[N, K]",
           " with N=", n, ", K=", k, ", got shape ", shape(y));
  TP_CHECK(!is_complex(y.scalar_type()), "y: expected real 0/1 labels, got dtype ",
           y.scalar_type());
  TP_CHECK(y.device() == device, "y: expected device ", device, ", got ", y.device());
  bool binary;
  if (y.is_cpu()) {
    binary = cpu_all_of(y, [](auto v) { return (v == 0) | (v == 1); });
  } else {
    binary =
        device_all(aten("aten::logical_or", "", aten("aten::eq", "Tensor", y, scalar_like(y, 0)),
                        aten("aten::eq", "Tensor", y, scalar_like(y, 1))));
  }
  TP_CHECK_VALUE(binary,
                 "y: expected binary labels with values 0 or 1, found other "
                 "values");
  Tensor out = y.dim() == 2 ? y : torch::stable::reshape(y, {n, k});
  if (out.scalar_type() != dtype) out = torch::stable::to(out, dtype);
  return as_contiguous(out);
}

Tensor class_labels(const Tensor& y, int64_t n, int64_t k, const Device& device) {
  TP_CHECK(y.dim() == 1 && y.size(0) == n, "y: expected class indices of shape [N] with N=", n,
           ", got shape ", shape(y));
  TP_CHECK(is_integer(y.scalar_type()), "y: expected an integer dtype (class indices), got ",
           y.scalar_type());
  TP_CHECK(y.device() == device, "y: expected device ", device, ", got ", y.device());
  bool in_range;
  if (y.is_cpu()) {
    in_range = cpu_all_of(y, [k](auto v) { return non_negative(v) & (v < k); });
  } else {
    in_range = device_all(logical_and(
        aten("aten::ge", "Tensor", y, scalar_like(y, 0)),
        aten("aten::lt", "Tensor", y, scalar_like(y, static_cast<double>(k), ScalarType::Long))));
  }
  TP_CHECK_VALUE(in_range, "y: expected class indices in [0, ", k,
                 ") (one per row of weight), found values outside it");
  Tensor out = y.scalar_type() == ScalarType::Long ? y : torch::stable::to(y, ScalarType::Long);
  return as_contiguous(out);
}

std::optional<Tensor> sample_weights(const std::optional<Tensor>& sample_weight, int64_t n,
                                     ScalarType dtype, const Device& device) {
  if (!sample_weight.has_value() || !sample_weight->defined()) { return std::nullopt; }
  const Tensor& sw = *sample_weight;
  TP_CHECK(sw.dim() == 1 && sw.size(0) == n, "sample_weight: expected shape [N] with N=", n,
           ", got ", shape(sw));
  TP_CHECK(!is_complex(sw.scalar_type()), "sample_weight: expected a real dtype, got ",
           sw.scalar_type());
  TP_CHECK(sw.device() == device, "sample_weight: expected device ", device, ", got ", sw.device());
  Tensor out = sw.scalar_type() == dtype ? sw : torch::stable::to(sw, dtype);
  out = as_contiguous(out);
  bool valid;
  if (out.is_cpu()) {
    valid = cpu_all_of(
        out, [](auto v) { return std::isfinite(static_cast<double>(v)) & non_negative(v); });
  } else {
    valid = device_all(
        logical_and(isfinite(out), aten("aten::ge", "Tensor", out, scalar_like(out, 0))));
  }
  TP_CHECK_VALUE(valid, "sample_weight: expected finite values >= 0");
  return out;
}

std::optional<Tensor> loss_sums(const std::optional<Tensor>& loss, int64_t k,
                                const Device& device) {
  if (!loss.has_value() || !loss->defined()) return std::nullopt;
  const Tensor& l = *loss;
  TP_CHECK(l.dim() == 1 && l.size(0) == k, "loss: expected shape [", k,
           "] (one sum per output), got ", shape(l));
  // A double, as scikit-learn sums it: a float32 sum would lose the small
  // losses of a long epoch.
  TP_CHECK(l.scalar_type() == ScalarType::Double, "loss: expected dtype float64, got ",
           l.scalar_type());
  TP_CHECK(l.device() == device, "loss: expected device ", device, " (the weight's), got ",
           l.device());
  TP_CHECK_VALUE(all_finite(l), "loss: expected finite values, found NaN or Inf");
  return as_contiguous(l);
}

std::optional<Tensor> sample_order(const std::optional<Tensor>& order, int64_t rows, int64_t k,
                                   const Device& device) {
  if (!order.has_value() || !order->defined()) return std::nullopt;
  const Tensor& o = *order;
  TP_CHECK(o.dim() == 1 || (o.dim() == 2 && o.size(0) == k),
           "order: expected sample indices of shape [M] (one order for every "
           "output) or [K, M] with K=",
           k, " (one per output), got shape ", shape(o));
  TP_CHECK(o.scalar_type() == ScalarType::Long, "order: expected dtype int64 (Long), got ",
           o.scalar_type());
  TP_CHECK(o.device() == device, "order: expected device ", device, " (the weight's), got ",
           o.device());
  bool in_range;
  if (o.is_cpu()) {
    in_range = cpu_all_of(o, [rows](auto v) { return non_negative(v) & (v < rows); });
  } else {
    in_range =
        device_all(logical_and(aten("aten::ge", "Tensor", o, scalar_like(o, 0)),
                               aten("aten::lt", "Tensor", o,
                                    scalar_like(o, static_cast<double>(rows), ScalarType::Long))));
  }
  TP_CHECK_VALUE(in_range, "order: expected row indices of x in [0, ", rows,
                 "), found values outside it");
  return as_contiguous(o);
}

void fail_non_finite_row(int64_t row) {
  TP_CHECK_VALUE(false, "x: expected finite values, but row ", row,
                 " gives a non-finite decision value (NaN or Inf in x, or an "
                 "overflow of x . w + b); the weights were left unchanged");
  __builtin_unreachable();
}

void check_decisions_finite(const Tensor& z, const Tensor& weight, const Tensor& bias) {
  if (z.numel() == 0 || all_finite(z)) return;
  // Non-finite weights give non-finite decision values: blame them first.
  check_params_finite(weight, bias);
  // Rare: find the first bad row, on the CPU.
  Tensor c = z.is_cpu() ? z : torch::stable::to(z, Device(DeviceType::CPU));
  c = torch::stable::to(as_contiguous(c), ScalarType::Double);
  const double* p = c.const_data_ptr<double>();
  const int64_t rows = c.size(0), cols = c.size(1);
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t j = 0; j < cols; ++j) {
      if (!std::isfinite(p[i * cols + j])) fail_non_finite_row(i);
    }
  }
}

void check_like(const Tensor& t, const char* name, const Tensor& ref, const char* ref_name) {
  bool same_shape = t.dim() == ref.dim();
  for (int64_t d = 0; same_shape && d < t.dim(); ++d) { same_shape = t.size(d) == ref.size(d); }
  TP_CHECK(same_shape, name, ": expected shape ", shape(ref), " (the ", ref_name, "'s), got ",
           shape(t));
  TP_CHECK(t.scalar_type() == ref.scalar_type(), name, ": expected dtype ", ref.scalar_type(),
           " (the ", ref_name, "'s), got ", t.scalar_type());
  TP_CHECK(t.device() == ref.device(), name, ": expected device ", ref.device(), " (the ", ref_name,
           "'s), got ", t.device());
  TP_CHECK_VALUE(t.numel() == 0 || all_finite(t), name,
                 ": expected finite values, found NaN or Inf");
}

void check_counters(const Tensor& t, const char* name, int64_t k, const Device& device) {
  TP_CHECK(t.dim() == 1 && t.size(0) == k, name, ": expected shape [", k, "], got ", shape(t));
  TP_CHECK(t.scalar_type() == ScalarType::Long, name, ": expected dtype int64, got ",
           t.scalar_type());
  TP_CHECK(t.device() == device, name, ": expected device ", device, ", got ", t.device());
  TP_CHECK_VALUE(all_non_negative(t), name, ": expected values >= 0, found a negative one");
}

}  // namespace torch_perceptron
