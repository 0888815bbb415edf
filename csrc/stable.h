// The extension's whole view of libtorch: PyTorch's stable ABI
// (torch/csrc/stable, torch/headeronly) and nothing else, so that one build
// loads in every torch from TORCH_TARGET_VERSION on (see setup.py). This
// header adds what the host code needs on top of it: errors of the right
// Python type, messages that print shapes, dtypes and devices as PyTorch does,
// a dtype switch, and the few ATen ops the stable headers do not wrap, called
// through the dispatcher.
//
// What the stable ABI does not offer, and how this project does without it:
//   - Scalar arguments (aten::add_.Tensor's alpha, gt.Scalar, ...): the ops
//     here take tensors only (a 0-dim tensor for a constant), or
//     aten::subtract, whose stable shim takes alpha as a double.
//   - c10::ValueError: a std::invalid_argument, which torch's Python binding
//     raises as ValueError.
//   - at::AutoDispatchBelowADInplaceOrView (the guard of the former boxed
//     Autograd kernel): the Autograd key is a fallthrough, registered from
//     Python (torch_perceptron/ops/table.py), and the kernels run their ATen calls
//     under NoGradGuard, so that no call records a graph or refuses to write a
//     leaf that requires grad.
//   - torch::autograd::increment_version: bump_version() calls aten::copy_ of
//     a tensor onto itself, which PyTorch's ADInplaceOrView kernel counts as
//     the write it is, and which copies nothing.
#pragma once

#include <torch/csrc/inductor/aoti_torch/c/shim.h>
#include <torch/csrc/stable/library.h>
#include <torch/csrc/stable/ops.h>
#include <torch/csrc/stable/tensor.h>
#include <torch/headeronly/core/ScalarType.h>

#include <array>
#include <cstring>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace torch_perceptron {

using torch::headeronly::DeviceType;
using torch::headeronly::ScalarType;
using torch::stable::Device;
using torch::stable::Tensor;

// ---- errors -----------------------------------------------------------------

// Devices print as PyTorch prints them: cpu, cuda:0. (Declared before concat,
// which finds it by ordinary lookup: Device's namespace is torch::stable.)
inline std::ostream& operator<<(std::ostream& out, const Device& d) {
  if (d.type() == DeviceType::CPU) return out << "cpu";
  out << (d.type() == DeviceType::CUDA ? "cuda" : "device");
  if (d.index() >= 0) out << ':' << static_cast<int>(d.index());
  return out;
}

namespace detail {
template <typename... Args>
std::string concat(const Args&... args) {
  std::ostringstream out;
  (out << ... << args);
  return out.str();
}
}  // namespace detail

// RuntimeError in Python: a wrong shape, dtype or device.
#define TP_CHECK(cond, ...)                                                                     \
  do {                                                                                          \
    if (!(cond)) { throw std::runtime_error(::torch_perceptron::detail::concat(__VA_ARGS__)); } \
  } while (0)

// ValueError in Python: a wrong value (NaN, a label out of range, lr <= 0).
#define TP_CHECK_VALUE(cond, ...)                                                                  \
  do {                                                                                             \
    if (!(cond)) { throw std::invalid_argument(::torch_perceptron::detail::concat(__VA_ARGS__)); } \
  } while (0)

// Shapes print as PyTorch prints them: [3, 4]; dtypes (headeronly's
// operator<<) too: Double.
struct Shape {
  std::vector<int64_t> sizes;
};
inline std::ostream& operator<<(std::ostream& out, const Shape& s) {
  out << '[';
  for (size_t d = 0; d < s.sizes.size(); ++d) out << (d ? ", " : "") << s.sizes[d];
  return out << ']';
}
inline Shape shape(const Tensor& t) {
  Shape s;
  for (int64_t d = 0; d < t.dim(); ++d) s.sizes.push_back(t.size(d));
  return s;
}

// ---- dtypes -----------------------------------------------------------------

inline bool is_real_float(ScalarType t) {
  return t == ScalarType::Float || t == ScalarType::Double;
}

inline bool is_complex(ScalarType t) {
  return t == ScalarType::ComplexHalf || t == ScalarType::ComplexFloat ||
         t == ScalarType::ComplexDouble;
}

inline bool is_integer(ScalarType t) {
  return t == ScalarType::Byte || t == ScalarType::Char || t == ScalarType::Short ||
         t == ScalarType::Int || t == ScalarType::Long;
}

// Calls f(float{}) or f(double{}) for a float32 or float64 tensor: the kernels'
// dtype switch (the checks have already rejected every other dtype).
template <typename F>
decltype(auto) dispatch_float(ScalarType t, const char* name, F&& f) {
  if (t == ScalarType::Float) return f(float{});
  TP_CHECK(t == ScalarType::Double, name, ": not implemented for ", t);
  return f(double{});
}

// ---- ATen calls -------------------------------------------------------------

// Calls the ATen op `name`.`overload` with `args`, every argument of its
// schema given, and returns its (first) result.
template <typename... Args>
Tensor aten(const char* name, const char* overload, const Args&... args) {
  std::array<StableIValue, sizeof...(Args)> stack{torch::stable::detail::from(args)...};
  STABLE_TORCH_ERROR_CODE_CHECK(
      torch_call_dispatcher(name, overload, stack.data(), TORCH_ABI_VERSION));
  return torch::stable::detail::to<Tensor>(stack[0]);
}

// A 0-dim tensor holding `value`, with the dtype and device of `like`: the
// constant operand of an op that has no Scalar overload here.
inline Tensor scalar_like(const Tensor& like, double value,
                          std::optional<ScalarType> dtype = std::nullopt) {
  return torch::stable::full({}, value, dtype.value_or(like.scalar_type()), std::nullopt,
                             like.device());
}

// The single value of a bool tensor, read on the CPU (a synchronisation on
// other devices).
inline bool item_bool(const Tensor& t) {
  Tensor c = t.is_cpu() ? t : torch::stable::to(t, Device(DeviceType::CPU));
  return *c.const_data_ptr<bool>();
}

// The AOTI shim's own entry points (clone, copy_, empty_strided, zero_) call
// ATen directly; the torch::stable wrappers of the same ops go through
// torch_call_dispatcher, which looks the op up by name on every call, a cost
// that a training loop over small batches pays per step (measured: BENCHMARKS.md,
// "Figures moved out of code comments").
inline Tensor zeros(std::initializer_list<int64_t> size, ScalarType dtype, const Device& device) {
  std::vector<int64_t> sizes(size), strides(size.size(), 1);
  for (int64_t d = static_cast<int64_t>(sizes.size()) - 2; d >= 0; --d) {
    strides[d] = strides[d + 1] * sizes[d + 1];
  }
  AtenTensorHandle out = nullptr;
  STABLE_TORCH_ERROR_CODE_CHECK(aoti_torch_empty_strided(
      static_cast<int64_t>(sizes.size()), sizes.data(), strides.data(),
      torch::stable::detail::to<int32_t>(torch::stable::detail::from(dtype)),
      torch::stable::detail::to<int32_t>(torch::stable::detail::from(device.type())),
      device.index() < 0 ? 0 : device.index(), &out));
  STABLE_TORCH_ERROR_CODE_CHECK(aoti_torch_zero_(out));
  return Tensor(out);
}

inline Tensor snapshot(const Tensor& t) {
  AtenTensorHandle out = nullptr;
  if (t.is_cpu() && t.is_contiguous()) {
    // One memcpy on this thread: ATen's clone of a megabyte runs on torch's
    // thread pool, whose wake-up, on a busy machine, cost a small call of
    // the sparse op many times its own work (measured: BENCHMARKS.md, the
    // sparse section's rerun after the sparse-speed branch).
    const auto sizes = t.sizes();
    std::vector<int64_t> size(sizes.begin(), sizes.end()), strides(size.size(), 1);
    for (int64_t d = static_cast<int64_t>(size.size()) - 2; d >= 0; --d) {
      strides[d] = strides[d + 1] * size[d + 1];
    }
    int32_t dtype = 0, device_type = 0;
    STABLE_TORCH_ERROR_CODE_CHECK(aoti_torch_get_dtype(t.get(), &dtype));
    STABLE_TORCH_ERROR_CODE_CHECK(aoti_torch_get_device_type(t.get(), &device_type));
    STABLE_TORCH_ERROR_CODE_CHECK(aoti_torch_empty_strided(static_cast<int64_t>(size.size()),
                                                           size.data(), strides.data(), dtype,
                                                           device_type, 0, &out));
    Tensor copy(out);
    if (t.numel() > 0) {
      std::memcpy(copy.mutable_data_ptr(), t.const_data_ptr(),
                  static_cast<size_t>(t.numel()) * t.element_size());
    }
    return copy;
  }
  STABLE_TORCH_ERROR_CODE_CHECK(aoti_torch_clone(t.get(), &out));
  return Tensor(out);
}

// `t` itself when contiguous (no dispatcher call), else a contiguous copy.
inline Tensor as_contiguous(const Tensor& t) {
  return t.is_contiguous() ? t : torch::stable::contiguous(t);
}

inline void copy_into(Tensor& dst, const Tensor& src) {
  STABLE_TORCH_ERROR_CODE_CHECK(aoti_torch_copy_(dst.get(), src.get(), 0));
}

// Bumps the version counter of `t`, as PyTorch's own in-place ops do for the
// tensors they write, so that autograd notices a saved tensor that an op
// changed. (aten::copy_ of a tensor onto itself copies nothing.)
inline void bump_version(Tensor& t) { copy_into(t, t); }

// Grad mode off for the scope: the ATen calls inside a kernel (contiguous,
// clone, copy_, linear) neither record a graph nor refuse to write a leaf
// that requires grad. (What the former kernels got from
// at::AutoDispatchBelowADInplaceOrView.)
class NoGradGuard {
 public:
  NoGradGuard() : was_(aoti_torch_grad_mode_is_enabled()) {
    if (was_) aoti_torch_grad_mode_set_enabled(false);
  }
  ~NoGradGuard() {
    if (was_) aoti_torch_grad_mode_set_enabled(true);
  }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool was_;
};

}  // namespace torch_perceptron
