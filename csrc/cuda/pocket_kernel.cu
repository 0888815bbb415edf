// The pocket perceptron on the GPU, binary / one-vs-rest and multiclass, with
// the semantics of cpu/pocket_kernel.cpp: the pocket gets the current weights
// and bias when a run of correct predictions that beats the record (strictly)
// ends, at a mistake (before the step) or at the end of the call. The kernels
// are the plain rule's (online_rule.cuh, multiclass_rule.cuh) with the
// policies below; in a chunk every sample before the first mistake is
// correct, so a run grows by whole chunk prefixes.
#include "../variants.h"
#include "multiclass_rule.cuh"
#include "online_rule.cuh"

namespace torch_perceptron::cuda {
namespace {

template <typename scalar_t>
struct PocketPolicy {
  scalar_t* pocket_w;  // [K, in]
  scalar_t* pocket_b;  // [K]
  int64_t* run_out;    // [K]
  int64_t* best_out;   // [K]
  int64_t in;
  int64_t run = 0, best = 0;  // the block's output's, in every thread

  explicit PocketPolicy(const PocketArgs<scalar_t>& a)
      : pocket_w(a.pocket_w), pocket_b(a.pocket_b), run_out(a.run),
        best_out(a.best), in(a.in) {}

  __device__ void begin(int64_t o) {
    run = run_out[o];
    best = best_out[o];
  }
  __device__ void keep_if_record(int64_t o, const scalar_t* w, scalar_t bias) {
    if (run > best) {
      best = run;
      scalar_t* pw = pocket_w + o * in;
      for (int64_t j = threadIdx.x; j < in; j += blockDim.x) pw[j] = w[j];
      if (threadIdx.x == 0) pocket_b[o] = bias;
    }
  }
  __device__ void correct(int count) { run += count; }
  __device__ void mistake(int64_t o, int64_t, const scalar_t*, scalar_t,
                          const scalar_t* w, scalar_t bias) {
    keep_if_record(o, w, bias);
    run = 0;
  }
  __device__ void done(int64_t o, const scalar_t* w, scalar_t bias) {
    keep_if_record(o, w, bias);
    if (threadIdx.x == 0) {
      run_out[o] = run;
      best_out[o] = best;
    }
  }
};

template <typename scalar_t>
struct PocketMulticlassPolicy {
  scalar_t* pocket_w;  // [K, in]
  scalar_t* pocket_b;  // [K]
  int64_t* run_out;    // [1]
  int64_t* best_out;   // [1]
  int64_t in, k;
  int64_t run = 0, best = 0;  // in every thread

  explicit PocketMulticlassPolicy(const PocketArgs<scalar_t>& a)
      : pocket_w(a.pocket_w), pocket_b(a.pocket_b), run_out(a.run),
        best_out(a.best), in(a.in), k(a.k) {}

  __device__ void begin() {
    run = *run_out;
    best = *best_out;
  }
  __device__ void keep_if_record(const scalar_t* w, const scalar_t* b) {
    if (run > best) {
      best = run;
      for (int64_t j = threadIdx.x; j < k * in; j += blockDim.x) {
        pocket_w[j] = w[j];
      }
      for (int64_t c = threadIdx.x; c < k; c += blockDim.x) pocket_b[c] = b[c];
      // A step may follow, and it writes rows t and yhat (and thread 0 the
      // biases) with another thread mapping than this copy's.
      __syncthreads();
    }
  }
  __device__ void correct(int count) { run += count; }
  __device__ void mistake(int64_t, const scalar_t*, int64_t, int64_t, scalar_t,
                          const scalar_t* w, const scalar_t* b) {
    keep_if_record(w, b);
    run = 0;
  }
  __device__ void done(const scalar_t* w, const scalar_t* b) {
    keep_if_record(w, b);
    if (threadIdx.x == 0) {
      *run_out = run;
      *best_out = best;
    }
  }
};

}  // namespace

STABLE_TORCH_LIBRARY_IMPL(torch_perceptron, CUDA, m) {
  m.impl("online_update_pocket",
         TORCH_BOX((&online_update_pocket<OnlineCall,
                                          PocketPolicy>)));
  m.impl("multiclass_update_pocket",
         TORCH_BOX((&multiclass_update_pocket<MulticlassCall,
                                              PocketMulticlassPolicy>)));
}

}  // namespace torch_perceptron::cuda
