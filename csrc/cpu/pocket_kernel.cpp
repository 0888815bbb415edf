// The pocket perceptron (Gallant 1990) on the CPU, binary / one-vs-rest and
// multiclass.
//
// The rule runs as usual; beside it the "pocket" keeps the weights that gave
// the longest run of consecutive correct predictions seen so far (per output
// for one-vs-rest, for the whole model when multiclass), for data that is not
// separable. The weights do not change during a run, so they are copied into
// the pocket once, when a run that beats the record ends (at a mistake, before
// the step, or at the end of the call), not on every correct sample. `run` and
// `best_run` persist across calls, so a run may span batches and epochs.
// A longer run replaces the pocket; an equal one does not.
#include <ATen/ATen.h>
#include <torch/library.h>

#include <cstring>

#include "../checks.h"
#include "../state_checks.h"
#include "../variant_state.h"
#include "multiclass_loop.h"
#include "online_loop.h"

namespace torch_perceptron {
namespace {

template <typename scalar_t>
struct PocketPolicy {
  scalar_t* pocket_w;
  scalar_t* pocket_b;
  int64_t* run;   // [K]
  int64_t* best;  // [K]
  int64_t in;

  // The run lengths of the outputs one thread runs, in that thread's memory
  // (they change on every sample, and neighbouring outputs of two threads
  // would share a cache line); written back by flush().
  struct Block {
    PocketPolicy* p;
    int64_t o0, rows;
    int64_t run[cpu::kRowBlock], best[cpu::kRowBlock];

    void keep_if_record(int64_t o, const scalar_t* w_o, scalar_t bias_o) {
      const int64_t r = o - o0;
      if (run[r] > best[r]) {
        best[r] = run[r];
        std::memcpy(p->pocket_w + o * p->in, w_o, p->in * sizeof(scalar_t));
        p->pocket_b[o] = bias_o;
      }
    }
    static constexpr bool kOnCorrect = true;
    void correct(int64_t o) { ++run[o - o0]; }
    void mistake(int64_t o, int64_t, const scalar_t*, scalar_t,
                 const scalar_t* w_o, scalar_t bias_o) {
      keep_if_record(o, w_o, bias_o);
      run[o - o0] = 0;
    }
    void done(int64_t o, const scalar_t* w_o, scalar_t bias_o) {
      keep_if_record(o, w_o, bias_o);
    }
    void flush() {
      std::memcpy(p->run + o0, run, rows * sizeof(int64_t));
      std::memcpy(p->best + o0, best, rows * sizeof(int64_t));
    }
  };

  Block block(int64_t o0, int64_t rows) {
    Block b{this, o0, rows, {}, {}};
    std::memcpy(b.run, run + o0, rows * sizeof(int64_t));
    std::memcpy(b.best, best + o0, rows * sizeof(int64_t));
    return b;
  }
};

template <typename scalar_t>
struct PocketMulticlassPolicy {
  scalar_t* pocket_w;
  scalar_t* pocket_b;
  int64_t* run;   // [1]
  int64_t* best;  // [1]

  void keep_if_record(const cpu::MulticlassModel<scalar_t>& model) {
    if (*run > *best) {
      *best = *run;
      model.copy_to(pocket_w, pocket_b);
    }
  }
  void correct() { ++*run; }
  void mistake(int64_t, const scalar_t*, int64_t, int64_t, scalar_t,
               const cpu::MulticlassModel<scalar_t>& model) {
    keep_if_record(model);
    *run = 0;
  }
  void done(const cpu::MulticlassModel<scalar_t>& model) {
    keep_if_record(model);
  }
};

at::Tensor online_update_pocket_cpu(
    at::Tensor& weight, at::Tensor& bias, at::Tensor& pocket_weight,
    at::Tensor& pocket_bias, at::Tensor& run, at::Tensor& best_run,
    const at::Tensor& x, const at::Tensor& y, double lr,
    const std::optional<at::Tensor>& sample_weight, bool zero_is_mistake,
    bool fit_intercept) {
  cpu::OnlineCall call(weight, bias, x, y, lr, sample_weight, zero_is_mistake);
  call.fit_intercept = fit_intercept;
  PocketState s(pocket_weight, pocket_bias, run, best_run, weight, bias,
                call.k);
  return run_pocket(call, s, [&](auto tag) {
    using scalar_t = decltype(tag);
    return PocketPolicy<scalar_t>{s.pw.data_ptr<scalar_t>(),
                                  s.pb.data_ptr<scalar_t>(),
                                  s.r.data_ptr<int64_t>(),
                                  s.br.data_ptr<int64_t>(), call.in};
  });
}

at::Tensor multiclass_update_pocket_cpu(
    at::Tensor& weight, at::Tensor& bias, at::Tensor& pocket_weight,
    at::Tensor& pocket_bias, at::Tensor& run, at::Tensor& best_run,
    const at::Tensor& x, const at::Tensor& y, double lr,
    const std::optional<at::Tensor>& sample_weight, bool fit_intercept) {
  cpu::MulticlassCall call(weight, bias, x, y, lr, sample_weight);
  call.fit_intercept = fit_intercept;
  PocketState s(pocket_weight, pocket_bias, run, best_run, weight, bias, 1);
  return run_pocket(call, s, [&](auto tag) {
    using scalar_t = decltype(tag);
    return PocketMulticlassPolicy<scalar_t>{
        s.pw.data_ptr<scalar_t>(), s.pb.data_ptr<scalar_t>(),
        s.r.data_ptr<int64_t>(), s.br.data_ptr<int64_t>()};
  });
}

}  // namespace

TORCH_LIBRARY_IMPL(torch_perceptron, CPU, m) {
  m.impl("online_update_pocket", &online_update_pocket_cpu);
  m.impl("multiclass_update_pocket", &multiclass_update_pocket_cpu);
}

}  // namespace torch_perceptron
