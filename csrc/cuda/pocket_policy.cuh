// The pocket perceptron on the GPU, binary / one-vs-rest and multiclass, with
// the semantics of cpu/pocket_policy.h: the pocket gets the current weights
// and bias when a run of correct predictions that beats the record (strictly)
// ends, at a mistake (before the step) or at the end of the call. The kernels
// are the plain rule's (online_rule.cuh, multiclass_rule.cuh) with the
// block policies below (policies.h); in a chunk every sample before the first mistake is
// correct, so a run grows by whole chunk prefixes.
#pragma once

#include "../variant_state.h"
#include "multiclass_rule.cuh"

namespace torch_perceptron::cuda {

// A block's hooks (policies.h) keep its output's run and record in every
// thread, and write them back at end().
template <typename scalar_t>
struct PocketBlockPolicy {
  scalar_t* pocket_w;  // [K, in]
  scalar_t* pocket_b;  // [K]
  int64_t* run_out;    // [K]
  int64_t* best_out;   // [K]
  int64_t in;
  int64_t o = 0, run = 0, best = 0;  // the block's output's

  explicit PocketBlockPolicy(const PocketArgs<scalar_t>& a)
      : pocket_w(a.pocket_w), pocket_b(a.pocket_b), run_out(a.run), best_out(a.best), in(a.in) {}

  static constexpr bool kCountsCorrect = true;
  __device__ PocketBlockPolicy begin(int64_t o0, int64_t) const {
    PocketBlockPolicy hooks = *this;
    hooks.o = o0;
    hooks.run = run_out[o0];
    hooks.best = best_out[o0];
    return hooks;
  }
  __device__ void keep_if_record(int64_t o_, const scalar_t* w, scalar_t bias) {
    if (run > best) {
      best = run;
      scalar_t* pw = pocket_w + o_ * in;
      for (int64_t j = threadIdx.x; j < in; j += blockDim.x) pw[j] = w[j];
      if (threadIdx.x == 0) pocket_b[o_] = bias;
    }
  }
  __device__ void correct(int64_t, int64_t count) { run += count; }
  template <typename Row>
  __device__ void mistake(int64_t o_, int64_t, const Row&, scalar_t, const scalar_t* w,
                          scalar_t bias) {
    keep_if_record(o_, w, bias);
    run = 0;
  }
  __device__ void done(int64_t o_, const scalar_t* w, scalar_t bias) {
    keep_if_record(o_, w, bias);
  }
  __device__ void end() {
    if (threadIdx.x == 0) {
      run_out[o] = run;
      best_out[o] = best;
    }
  }
};

template <typename scalar_t>
struct PocketMulticlassBlockPolicy {
  scalar_t* pocket_w;         // [K, in]
  scalar_t* pocket_b;         // [K]
  int64_t* run_out;           // [1]
  int64_t* best_out;          // [1]
  int64_t run = 0, best = 0;  // in every thread

  explicit PocketMulticlassBlockPolicy(const PocketArgs<scalar_t>& a)
      : pocket_w(a.pocket_w), pocket_b(a.pocket_b), run_out(a.run), best_out(a.best) {}

  static constexpr bool kCountsCorrect = true;
  __device__ PocketMulticlassBlockPolicy begin() const {
    PocketMulticlassBlockPolicy hooks = *this;
    hooks.run = *run_out;
    hooks.best = *best_out;
    return hooks;
  }
  __device__ void keep_if_record(const MulticlassBlockModel<scalar_t>& model) {
    if (run > best) {
      best = run;
      model.copy_to(pocket_w, pocket_b);
      // A step may follow, and it writes rows t and yhat (and thread 0 the
      // biases) with another thread mapping than this copy's.
      __syncthreads();
    }
  }
  __device__ void correct(int64_t count) { run += count; }
  template <typename Row>
  __device__ void mistake(int64_t, const Row&, int64_t, int64_t, scalar_t,
                          const MulticlassBlockModel<scalar_t>& model) {
    keep_if_record(model);
    run = 0;
  }
  __device__ void done(const MulticlassBlockModel<scalar_t>& model) { keep_if_record(model); }
  __device__ void end() {
    if (threadIdx.x == 0) {
      *run_out = run;
      *best_out = best;
    }
  }
};

}  // namespace torch_perceptron::cuda
