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
// A longer run replaces the pocket; an equal one does not. The policies
// follow policies.h.
#pragma once

#include <cstring>

#include "../variant_state.h"

namespace torch_perceptron::cpu {

template <typename scalar_t>
struct PocketPolicy : PocketArgs<scalar_t> {
  explicit PocketPolicy(const PocketArgs<scalar_t>& a) : PocketArgs<scalar_t>(a) {}

  // The hooks of the outputs [o0, o0 + outputs) one thread runs: their run
  // lengths in that thread's memory (they change on every sample, and
  // neighbouring outputs of two threads would share a cache line), written
  // back by end().
  struct Hooks {
    const PocketPolicy* p;
    int64_t o0, outputs;
    int64_t run[cpu::kRowBlock], best[cpu::kRowBlock];

    void keep_if_record(int64_t o, const scalar_t* w_o, scalar_t bias_o) {
      const int64_t r = o - o0;
      if (run[r] > best[r]) {
        best[r] = run[r];
        std::memcpy(p->pocket_w + o * p->in, w_o, p->in * sizeof(scalar_t));
        p->pocket_b[o] = bias_o;
      }
    }
    static constexpr bool kCountsCorrect = true;
    void correct(int64_t o, int64_t count) { run[o - o0] += count; }
    template <typename Row>
    void mistake(int64_t o, int64_t, const Row&, scalar_t, const scalar_t* w_o, scalar_t bias_o) {
      keep_if_record(o, w_o, bias_o);
      run[o - o0] = 0;
    }
    void done(int64_t o, const scalar_t* w_o, scalar_t bias_o) { keep_if_record(o, w_o, bias_o); }
    void end() {
      std::memcpy(p->run + o0, run, outputs * sizeof(int64_t));
      std::memcpy(p->best + o0, best, outputs * sizeof(int64_t));
    }
  };

  Hooks begin(int64_t o0, int64_t outputs) const {
    Hooks h{this, o0, outputs, {}, {}};
    std::memcpy(h.run, this->run + o0, outputs * sizeof(int64_t));
    std::memcpy(h.best, this->best + o0, outputs * sizeof(int64_t));
    return h;
  }
};

// One run for the whole model, written in place: one thread runs it.
template <typename scalar_t>
struct PocketMulticlassPolicy : PocketArgs<scalar_t> {
  explicit PocketMulticlassPolicy(const PocketArgs<scalar_t>& a) : PocketArgs<scalar_t>(a) {}

  template <typename Model>
  void keep_if_record(const Model& model) {
    if (*this->run > *this->best) {
      *this->best = *this->run;
      model.copy_to(this->pocket_w, this->pocket_b);
    }
  }
  static constexpr bool kCountsCorrect = true;
  PocketMulticlassPolicy begin() const { return *this; }
  void correct(int64_t count) { *this->run += count; }
  template <typename Row, typename Model>
  void mistake(int64_t, const Row&, int64_t, int64_t, scalar_t, const Model& model) {
    keep_if_record(model);
    *this->run = 0;
  }
  template <typename Model>
  void done(const Model& model) {
    keep_if_record(model);
  }
  void end() {}
};

}  // namespace torch_perceptron::cpu
