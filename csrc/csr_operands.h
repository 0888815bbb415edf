// The validated operands of one call of a sparse (CSR) update op, shared by
// every device's kernels, as operands.h is for the dense ops: the same checks
// in the same order (csr_checks.h), and the snapshot and restore of every
// tensor the call writes when a kernel stops at a bad row.
#pragma once

#include <sys/mman.h>

#include <cstring>
#include <initializer_list>
#include <new>
#include <optional>
#include <vector>

#include "checks.h"
#include "csr_checks.h"
#include "csr_rows.h"
#include "operands.h"

namespace torch_perceptron {

// What every sparse update op takes beside its labels.
struct CsrOperands {
  Tensor weight, bias;  // the caller's tensors
  Tensor w, b, mistakes;
  CsrInput x;
  std::optional<Tensor> sw;
  int64_t n, in, k;
  double lr, bias_step;
  // > 0: w is the caller's weight itself, the transpose of a [in, fm_stride]
  // tensor (feature-major), which the CPU's plain online rule updates in
  // place (cpu/csr_loops.h); 0: w is [K, in] and contiguous.
  int64_t fm_stride = 0;
  // The sample order of an online op, when given (operands.h's, the same
  // check): visit i of output o reads CSR row order[o * order_stride + i],
  // and its y and sample_weight; order_stride is 0 for one order [M], M for
  // one per output [K, M]. n is then M, the visits; x.n stays the rows.
  std::optional<Tensor> order;
  int64_t order_stride = 0;

  CsrOperands(Tensor& weight_, Tensor& bias_, const Tensor& crow,
              const Tensor& col, const Tensor& values, int64_t n_features,
              double lr_, double bias_step_)
      : weight(weight_), bias(bias_), lr(lr_), bias_step(bias_step_) {
    check_params(weight, bias);
    x = check_csr(crow, col, values, n_features, weight);
    check_lr(lr);
    check_bias_step(bias_step);
    n = x.n;
    in = x.features;
    k = weight.size(0);
  }

  // After the labels: the sample weights, the kernel's contiguous weights
  // (or, where the kernel takes them so, the caller's feature-major ones).
  void finish_setup(const std::optional<Tensor>& sample_weight, int64_t counters,
                    bool feature_major_ok = false) {
    sw = sample_weights(sample_weight, n, weight.scalar_type(), weight.device());
    if (feature_major_ok && k >= 2 && !weight.is_contiguous() &&
        weight.stride(0) == 1 && weight.stride(1) >= k) {
      fm_stride = weight.stride(1);
      w = weight;
    } else {
      w = as_contiguous(weight);
    }
    b = as_contiguous(bias);
    mistakes = zeros({counters}, ScalarType::Long, weight.device());
  }

  template <typename scalar_t, typename index_t>
  CsrRows<scalar_t, index_t> rows() const {
    return {x.crow.const_data_ptr<index_t>(), x.col.const_data_ptr<index_t>(),
            x.values.const_data_ptr<scalar_t>(), x.n, in};
  }

  // Writes the kernel's copies back into non-contiguous weight and bias.
  void finish() {
    if (fm_stride == 0 && !weight.is_contiguous()) copy_into(weight, w);
    if (!bias.is_contiguous()) copy_into(bias, b);
  }

  // What the kernel writes beside weight, bias and a variant's state (see
  // run_restoring_csr): nothing but for the online rule's loss.
  void add_written(std::vector<StatePair>&) {}
};

struct CsrOnlineOperands : CsrOperands {
  Tensor y;  // [N, K] of 0/1 in the weights' dtype
  bool zero_is_mistake;
  // The epoch loss sums, when asked, as OnlineOperands has them: the caller's
  // tensor and the contiguous one the kernel adds to.
  std::optional<Tensor> loss_arg, loss;

  CsrOnlineOperands(Tensor& weight_, Tensor& bias_, const Tensor& crow,
                    const Tensor& col, const Tensor& values, int64_t n_features,
                    const Tensor& y_, double lr_,
                    const std::optional<Tensor>& sample_weight,
                    bool zero_is_mistake_, double bias_step_,
                    const std::optional<Tensor>& loss_ = std::nullopt,
                    const std::optional<Tensor>& order_ = std::nullopt,
                    bool feature_major_ok = false)
      : CsrOperands(weight_, bias_, crow, col, values, n_features, lr_,
                    bias_step_),
        zero_is_mistake(zero_is_mistake_) {
    y = binary_labels(y_, n, k, weight.scalar_type(), weight.device());
    finish_setup(sample_weight, k, feature_major_ok);
    loss = loss_sums(loss_, k, weight.device());
    if (loss) loss_arg = *loss_;
    order = sample_order(order_, x.n, k, weight.device());
    if (order) {
      n = order->size(order->dim() - 1);
      if (order->dim() == 2) order_stride = n;
    }
  }

  void add_written(std::vector<StatePair>& state) {
    if (loss) state.push_back({&*loss_arg, &*loss});
  }
};

struct CsrMulticlassOperands : CsrOperands {
  Tensor y;  // [N] int64 class indices

  CsrMulticlassOperands(Tensor& weight_, Tensor& bias_, const Tensor& crow,
                        const Tensor& col, const Tensor& values,
                        int64_t n_features, const Tensor& y_, double lr_,
                        const std::optional<Tensor>& sample_weight,
                        double bias_step_)
      : CsrOperands(weight_, bias_, crow, col, values, n_features, lr_,
                    bias_step_) {
    y = class_labels(y_, n, k, weight.device());
    finish_setup(sample_weight, 1);
  }
};

// The restore copy of feature-major weights, which the CPU's kernel writes in
// place: w [K, in] with strides (1, stride), so feature j's K weights are
// contiguous at j * stride; they are copied row by row into a buffer and back.
// A large buffer is mapped, not a tensor: a fit takes one a call (20 MiB at
// K = 20, one call an epoch), and under glibc's default, dynamic mmap
// threshold those came from the heap once the first was freed and fragmented
// it: a one-thread K = 20 fit of the sparse benchmark peaked at 103-123 MiB
// extra, 1.8-2.0x CSR + weights, against 61 MiB with the threshold fixed.
class FeatureMajorCopy {
 public:
  FeatureMajorCopy(const Tensor& w, int64_t stride)
      : in_(w.size(1)),
        stride_bytes_(static_cast<size_t>(stride) * w.element_size()),
        row_bytes_(static_cast<size_t>(w.size(0)) * w.element_size()),
        bytes_(row_bytes_ * static_cast<size_t>(in_)) {
    if (bytes_ == 0) return;
    if (bytes_ >= kMapBytes) {
      void* p = mmap(nullptr, bytes_, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p == MAP_FAILED) throw std::bad_alloc();
      data_ = static_cast<char*>(p);
    } else {
      small_.resize(bytes_);
      data_ = small_.data();
    }
    const char* from = static_cast<const char*>(w.const_data_ptr());
    if (stride_bytes_ == row_bytes_) {
      std::memcpy(data_, from, bytes_);
    } else {
      for (int64_t j = 0; j < in_; ++j) {
        std::memcpy(data_ + j * row_bytes_, from + j * stride_bytes_, row_bytes_);
      }
    }
  }
  FeatureMajorCopy(const FeatureMajorCopy&) = delete;
  FeatureMajorCopy& operator=(const FeatureMajorCopy&) = delete;
  ~FeatureMajorCopy() {
    if (bytes_ >= kMapBytes) munmap(data_, bytes_);
  }

  // Puts the copied weights back into w (the tensor copied from).
  void restore(Tensor& w) const {
    if (bytes_ == 0) return;
    char* to = static_cast<char*>(w.mutable_data_ptr());
    if (stride_bytes_ == row_bytes_) {
      std::memcpy(to, data_, bytes_);
      return;
    }
    for (int64_t j = 0; j < in_; ++j) {
      std::memcpy(to + j * stride_bytes_, data_ + j * row_bytes_, row_bytes_);
    }
  }

 private:
  static constexpr size_t kMapBytes = size_t{1} << 20;
  int64_t in_;
  size_t stride_bytes_, row_bytes_, bytes_;
  char* data_ = nullptr;
  std::vector<char> small_;
};

// Runs call.run(make) (see operands.h's run_restoring): a kernel that stops at
// a bad row returns it; weight, bias and every `state` tensor are then put
// back from their snapshots and the row's fault raised (csr_checks.h), as is
// what the call itself writes beside them (call.add_written: the loss). A call
// whose kernel writes nothing until it has seen every row (call.writes_late())
// needs no snapshot of the weights.
template <typename Call, typename MakePolicy>
Tensor run_restoring_csr(Call& call, MakePolicy make,
                         std::initializer_list<StatePair> variant_state = {}) {
  std::vector<StatePair> state(variant_state);
  call.add_written(state);
  if (call.n == 0) {
    // Declared written: the version goes up on every call, as for an
    // in-place op that happens to change nothing.
    bump_version(call.weight);
    bump_version(call.bias);
    for (const StatePair& s : state) bump_version(*s.caller);
    return call.mistakes;
  }
  const bool late = call.writes_late();
  std::optional<Tensor> w_saved, b_saved;
  // Feature-major weights (the CPU's, in place) are saved as their rows of K,
  // read in memory order.
  const bool fm = call.fm_stride > 0;
  std::optional<FeatureMajorCopy> fm_saved;
  if (!late) {
    if (fm) {
      fm_saved.emplace(call.w, call.fm_stride);
    } else {
      w_saved = snapshot(call.w);
    }
    b_saved = snapshot(call.b);
  }
  std::vector<Tensor> saved;
  for (const StatePair& s : state) saved.push_back(snapshot(*s.written));
  const int64_t bad_row = call.run(make);
  if (bad_row >= 0) {
    if (!late) {
      if (fm) {
        fm_saved->restore(call.weight);
      } else {
        copy_into(call.weight, *w_saved);
      }
      copy_into(call.bias, *b_saved);
    }
    size_t i = 0;
    for (const StatePair& s : state) copy_into(*s.caller, saved[i++]);
    fail_csr_row(call.x, bad_row);
  }
  call.finish();
  bump_version(call.weight);
  bump_version(call.bias);
  for (const StatePair& s : state) {
    if (!s.caller->is_contiguous()) copy_into(*s.caller, *s.written);
    bump_version(*s.caller);
  }
  return call.mistakes;
}

}  // namespace torch_perceptron
