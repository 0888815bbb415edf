// How an update op keeps its contract that a rejected call leaves weight,
// bias and every state tensor bit for bit as they were, at a cost that
// follows what the call touched, not the model's size.
//
// A loop finds a bad row (a non-finite decision value, a bad CSR column) only
// as it reaches it, so rows before it may have been applied. Each call says
// how it can be undone (restore_plan()):
// - kLate: its kernel writes weight and bias only once every row was good
//   (a loop over a private copy: the dense multiclass loop, the CSR
//   feature-major copy). Nothing is saved.
// - kLog: its kernel saves, into an UndoLog, the entries it is about to
//   write while a later row could still fail (a dense block's changed rows
//   when it writes them back, a CSR mistake's non-zeros). A failed call
//   replays the logs backwards. The cost is that of the writes themselves.
// - kSnapshot: weight and bias are copied before the kernel runs (CUDA,
//   and a CPU call whose log could outgrow the weights).
// The state a variant or the loss keeps beside them is small or
// snapshotted (run_restoring's `state`).
#pragma once

#include <sys/mman.h>

#include <cstring>
#include <deque>
#include <initializer_list>
#include <mutex>
#include <new>
#include <optional>
#include <vector>

#include "stable.h"

namespace torch_perceptron {

// A tensor an op writes beside weight and bias: the caller's tensor and the
// contiguous one the kernel writes (the same tensor when contiguous).
struct StatePair {
  Tensor* caller;
  const Tensor* written;
};

enum class Restore { kLate, kLog, kSnapshot };

// Old values of what a thread's kernel overwrote, in the order it wrote
// them. One thread appends to a log at a time: the CSR loops keep one log per
// share of outputs (disjoint memory), the dense loop one log for the call
// whose appends take `mutex` (a block's rows may be written back twice, at a
// handover and at the end, and only one order of replay is right).
class UndoLog {
 public:
  explicit UndoLog(size_t element_size) : elem_(element_size) {}
  UndoLog(const UndoLog&) = delete;
  UndoLog& operator=(const UndoLog&) = delete;

  // Before the caller writes them: `count` runs of `width` elements, run p
  // starting at base + unit * stride elements, unit = cols[p] (or p when
  // cols is null). A CSR row's entries of one output: cols = the row's
  // columns, width 1; of a feature-major block of outputs: width = the
  // block's outputs; a dense row: count 1.
  // (Out of line: the loops call it from their hot paths, on a mistake
  // only, and inlined it would crowd their registers and code.)
  template <typename index_t>
  [[gnu::noinline]] void save(void* base, const index_t* cols, int64_t count, int64_t stride,
                              int64_t width) {
    const size_t run = static_cast<size_t>(width) * elem_;
    const size_t step = static_cast<size_t>(stride) * elem_;
    Span span{
        static_cast<char*>(base), cols, sizeof(index_t) == 8, count, step, run, bytes_.size()};
    bytes_.resize(bytes_.size() + static_cast<size_t>(count) * run);
    char* out = bytes_.data() + span.at;
    for (int64_t p = 0; p < count; ++p, out += run) {
      const int64_t unit = cols != nullptr ? static_cast<int64_t>(cols[p]) : p;
      copy(out, span.base + unit * step, run);
    }
    spans_.push_back(span);
  }
  // `width` contiguous elements at p.
  void save(void* p, int64_t width) { save<int64_t>(p, nullptr, 1, 0, width); }
  // The same under `mutex`, for a log that threads share.
  [[gnu::noinline]] void save_locked(void* p, int64_t width) {
    std::lock_guard<std::mutex> lock(mutex);
    save(p, width);
  }

  // Puts every saved value back, the latest write undone first.
  void undo() const {
    for (auto s = spans_.rbegin(); s != spans_.rend(); ++s) {
      const char* in = bytes_.data() + s->at;
      for (int64_t p = 0; p < s->count; ++p, in += s->run) {
        int64_t unit = p;
        if (s->cols != nullptr) {
          unit = s->cols64 ? static_cast<const int64_t*>(s->cols)[p]
                           : static_cast<const int32_t*>(s->cols)[p];
        }
        copy(s->base + unit * s->step, in, s->run);
      }
    }
  }

  std::mutex mutex;

 private:
  struct Span {
    char* base;
    const void* cols;
    bool cols64;
    int64_t count;
    size_t step, run, at;
  };
  static void copy(char* to, const char* from, size_t n) {
    if (n == 4) {
      std::memcpy(to, from, 4);
    } else if (n == 8) {
      std::memcpy(to, from, 8);
    } else {
      std::memcpy(to, from, n);
    }
  }
  size_t elem_;
  std::vector<Span> spans_;
  std::vector<char> bytes_;
};

// The logs of one call (kLog), one per thread or share that asks for one.
class Journal {
 public:
  void enable() { on_ = true; }
  bool on() const { return on_; }
  // A log of its own for the caller; nullptr when the call does not log.
  UndoLog* open(size_t element_size) {
    if (!on_) return nullptr;
    std::lock_guard<std::mutex> lock(mutex_);
    return &logs_.emplace_back(element_size);
  }
  void undo() const {
    for (auto log = logs_.rbegin(); log != logs_.rend(); ++log) log->undo();
  }

 private:
  bool on_ = false;
  std::mutex mutex_;
  std::deque<UndoLog> logs_;
};

// The snapshot of feature-major weights, which the CPU's sparse kernel
// writes in place: w [K, in] with strides (1, stride), so feature j's K
// weights are contiguous at j * stride; they are copied row by row into a
// buffer and back. A large buffer is mapped, not a tensor: under glibc's
// default, dynamic mmap threshold such buffers came from the heap once the
// first was freed, and fragmented it (BENCHMARKS.md, the sparse section).
class FeatureMajorCopy {
 public:
  FeatureMajorCopy(const Tensor& w, int64_t stride)
      : in_(w.size(1)), stride_bytes_(static_cast<size_t>(stride) * w.element_size()),
        row_bytes_(static_cast<size_t>(w.size(0)) * w.element_size()),
        bytes_(row_bytes_ * static_cast<size_t>(in_)) {
    if (bytes_ == 0) return;
    if (bytes_ >= kMapBytes) {
      void* p = mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
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

// Runs call.run(make) for any update op of any device, dense or CSR. A
// kernel that stops at a bad row returns it; weight, bias (by the call's
// restore_plan()), every `state` tensor and what the call itself writes
// beside them (call.add_written: the loss) are then put back, and
// call.fail(row) raises the row's error. On success the kernel's copies are
// written back (call.finish()), and the version counter of every tensor the
// op declares written goes up. An empty call writes nothing, and its
// versions go up all the same, as for an in-place op that happens to change
// nothing: one rule for every op, dense or CSR.
template <typename Call, typename MakePolicy>
Tensor run_restoring(Call& call, MakePolicy make,
                     std::initializer_list<StatePair> variant_state = {}) {
  std::vector<StatePair> state(variant_state);
  call.add_written(state);
  if (call.n == 0) {
    bump_version(call.weight);
    bump_version(call.bias);
    for (const StatePair& s : state) bump_version(*s.caller);
    return call.mistakes;
  }
  const Restore plan = call.restore_plan();
  if (plan == Restore::kLog) call.journal.enable();
  std::optional<Tensor> w_saved, b_saved;
  // Feature-major weights (the CPU's sparse ones, in place) are saved as
  // their rows of K, read in memory order.
  std::optional<FeatureMajorCopy> fm_saved;
  if (plan == Restore::kSnapshot) {
    if (call.fm_stride > 0) {
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
    // The kernel's own tensors: the caller's, or copies that finish() would
    // have written back (and now never will).
    if (plan == Restore::kLog) {
      call.journal.undo();
    } else if (plan == Restore::kSnapshot) {
      if (fm_saved) {
        fm_saved->restore(call.w);
      } else {
        copy_into(call.w, *w_saved);
      }
      copy_into(call.b, *b_saved);
    }
    size_t i = 0;
    for (const StatePair& s : state) copy_into(*s.caller, saved[i++]);
    call.fail(bad_row);
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
