// What the CUDA kernels of the sequential rules share.
//
// The online and multiclass rules are sequential by definition: sample i+1 sees
// the weights that sample i left. The kernels keep that order exactly and find
// their parallelism elsewhere: a block computes the decision values of a whole
// chunk of upcoming samples under the current weights at once (one warp per
// sample), finds the first sample in the chunk that changes the weights (a
// mistake) or must stop the call (a non-finite value), applies it, and starts
// the next chunk right after it. Samples before the first mistake were computed
// under exactly the weights the sequential rule would use, so nothing is
// approximated; the values after it are thrown away and recomputed, never
// patched, so no rounding drift can flip a decision. Once mistakes are rare a
// sample costs one parallel pass over its row of x.
//
// Every decision value is reduced in one fixed order (lane-strided partial
// sums, then a fixed shuffle tree), whichever warp and chunk compute it, so the
// result does not depend on the chunking and is the same from run to run. The
// order differs from the CPU's, hence "equal up to float summation order"; the
// update w += step * x is elementwise and, built with --fmad=false, rounds
// exactly like the CPU and the reference.
#pragma once

#include <ATen/ATen.h>
#include <ATen/cuda/CUDAContext.h>

#include <cstdint>

namespace torch_perceptron::cuda {

constexpr int kWarp = 32;
constexpr unsigned kFullMask = 0xffffffffu;

// Samples a warp takes per chunk at most: bounds the work thrown away when a
// mistake lands early in a chunk, and the shared memory of the decision values.
constexpr int kSamplesPerWarp = 8;

// Weight rows are kept in shared memory when they fit in this many bytes
// (below the 48 KiB a block gets without opting in, leaving room for the
// chunk's decision values); larger rows stay in global memory.
constexpr int64_t kWeightSmemBytes = 40 * 1024;

// Sum of v over the warp, in a fixed order; every lane gets the same value.
template <typename scalar_t>
__device__ __forceinline__ scalar_t warp_sum(scalar_t v) {
  for (int offset = kWarp / 2; offset > 0; offset /= 2) {
    v += __shfl_xor_sync(kFullMask, v, offset);
  }
  return v;
}

// w . x for one row of x, by one warp: lane j sums elements j, j+32, ... in
// order, then the lanes are combined by warp_sum. Coalesced reads of x.
template <typename scalar_t>
__device__ __forceinline__ scalar_t warp_dot(const scalar_t* w,
                                             const scalar_t* __restrict__ x,
                                             int64_t in, int lane) {
  scalar_t acc = 0;
#pragma unroll 4
  for (int64_t j = lane; j < in; j += kWarp) {
    acc += w[j] * __ldg(x + j);
  }
  return warp_sum(acc);
}

// Threads per block: more warps per block give a block (one per output, or the
// single multiclass block) more reads in flight; with many blocks, smaller
// blocks keep every SM busy without making each chunk longer.
inline int threads_for(int64_t blocks) {
  const int sms = at::cuda::getCurrentDeviceProperties()->multiProcessorCount;
  return blocks >= 2 * static_cast<int64_t>(sms) ? 256 : 1024;
}

}  // namespace torch_perceptron::cuda
