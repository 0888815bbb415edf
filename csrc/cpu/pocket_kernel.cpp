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
#include <cstring>

#include "../variants.h"
#include "multiclass_loop.h"
#include "online_loop.h"

namespace torch_perceptron {
namespace {

template <typename scalar_t>
struct PocketPolicy : PocketArgs<scalar_t> {
  explicit PocketPolicy(const PocketArgs<scalar_t>& a) : PocketArgs<scalar_t>(a) {}

  void keep_if_record(int64_t o, const scalar_t* w_o, scalar_t bias_o) {
    if (this->run[o] > this->best[o]) {
      this->best[o] = this->run[o];
      std::memcpy(this->pocket_w + o * this->in, w_o, this->in * sizeof(scalar_t));
      this->pocket_b[o] = bias_o;
    }
  }
  static constexpr bool kOnCorrect = true;
  void correct(int64_t o) { ++this->run[o]; }
  void mistake(int64_t o, int64_t, const scalar_t*, scalar_t,
               const scalar_t* w_o, scalar_t bias_o) {
    keep_if_record(o, w_o, bias_o);
    this->run[o] = 0;
  }
  void done(int64_t o, const scalar_t* w_o, scalar_t bias_o) {
    keep_if_record(o, w_o, bias_o);
  }
};

template <typename scalar_t>
struct PocketMulticlassPolicy : PocketArgs<scalar_t> {
  explicit PocketMulticlassPolicy(const PocketArgs<scalar_t>& a)
      : PocketArgs<scalar_t>(a) {}

  void keep_if_record() {
    if (*this->run > *this->best) {
      *this->best = *this->run;
      std::memcpy(this->pocket_w, this->w, this->k * this->in * sizeof(scalar_t));
      std::memcpy(this->pocket_b, this->b, this->k * sizeof(scalar_t));
    }
  }
  void correct() { ++*this->run; }
  void mistake(int64_t, const scalar_t*, int64_t, int64_t, scalar_t) {
    keep_if_record();
    *this->run = 0;
  }
  void done() { keep_if_record(); }
};

}  // namespace

STABLE_TORCH_LIBRARY_IMPL(torch_perceptron, CPU, m) {
  m.impl("online_update_pocket",
         TORCH_BOX((&online_update_pocket<cpu::OnlineCall, PocketPolicy>)));
  m.impl("multiclass_update_pocket",
         TORCH_BOX((&multiclass_update_pocket<cpu::MulticlassCall,
                                              PocketMulticlassPolicy>)));
}

}  // namespace torch_perceptron
