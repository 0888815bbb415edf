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

#include <cuda_runtime.h>
#include <torch/csrc/stable/accelerator.h>

#include "../csr_operands.h"
#include "../csr_rows.h"
#include "../rows.h"
#include "../stable.h"

#include <cstdint>
#include <type_traits>

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

// 16-byte vectors: a lane loads four floats or two doubles at once, which puts
// more bytes in flight per warp (a lone block per output needs that to come
// near its SM's share of the memory bandwidth).
template <typename scalar_t>
struct Vec16;
template <>
struct Vec16<float> {
  using type = float4;
  static constexpr int size = 4;
  __device__ static float dot(float acc, const float4& w, const float4& x) {
    acc += w.x * x.x;
    acc += w.y * x.y;
    acc += w.z * x.z;
    acc += w.w * x.w;
    return acc;
  }
};
template <>
struct Vec16<double> {
  using type = double2;
  static constexpr int size = 2;
  __device__ static double dot(double acc, const double2& w, const double2& x) {
    acc += w.x * x.x;
    acc += w.y * x.y;
    return acc;
  }
};

// w . x for one row of x, by one warp. The order of the sum is fixed by `in`
// alone: lane l adds the groups of V consecutive elements l, l+32, ... (V = 4
// floats or 2 doubles), each group in element order, then the tail elements
// past the last whole group (one per lane), then warp_sum combines the lanes.
// Aligned rows load each group as one 16-byte vector; other rows load the same
// elements one by one, in the same order, so alignment never changes a bit.
template <typename scalar_t>
__device__ __forceinline__ scalar_t warp_dot(const scalar_t* w, const scalar_t* __restrict__ x,
                                             int64_t in, int lane) {
  using V = Vec16<scalar_t>;
  using vec_t = typename V::type;
  const int64_t groups = in / V::size;
  scalar_t acc = 0;
  const bool aligned =
      reinterpret_cast<uintptr_t>(w) % 16 == 0 && reinterpret_cast<uintptr_t>(x) % 16 == 0;
  if (aligned) {
    const vec_t* wv = reinterpret_cast<const vec_t*>(w);
    const vec_t* xv = reinterpret_cast<const vec_t*>(x);
#pragma unroll 4
    for (int64_t g = lane; g < groups; g += kWarp) { acc = V::dot(acc, wv[g], __ldg(xv + g)); }
  } else {
#pragma unroll 2
    for (int64_t g = lane; g < groups; g += kWarp) {
      for (int e = 0; e < V::size; ++e) { acc += w[g * V::size + e] * __ldg(x + g * V::size + e); }
    }
  }
  const int64_t j = groups * V::size + lane;
  if (j < in) acc += w[j] * __ldg(x + j);
  return warp_sum(acc);
}

// A row's dot product with w by one warp, whatever the row's format: a dense
// row through warp_dot's vectors, a CSR row lane l summing its non-zeros l,
// l + 32, ... in order, then warp_sum. Every lane gets the value.
template <typename scalar_t>
__device__ __forceinline__ scalar_t warp_row_dot(const DenseRow<scalar_t>& row, const scalar_t* w,
                                                 int lane) {
  return warp_dot(w, row.values, row.length, lane);
}

template <typename scalar_t, typename index_t>
__device__ __forceinline__ scalar_t warp_row_dot(const CsrRow<scalar_t, index_t>& row,
                                                 const scalar_t* w, int lane) {
  scalar_t acc = 0;
  for (int64_t p = lane; p < row.nnz; p += kWarp) { acc += __ldg(row.values + p) * w[row.cols[p]]; }
  return warp_sum(acc);
}

// err = y - yhat of the online rule for decision value z and label t.
template <typename scalar_t>
__device__ __forceinline__ scalar_t online_error(scalar_t z, scalar_t t, bool zero_is_mistake) {
  scalar_t yhat = z > 0 ? scalar_t(1) : scalar_t(0);
  if (zero_is_mistake && z == 0) yhat = scalar_t(1) - t;
  return t - yhat;
}

// Threads per block: more warps per block give a block (one per output, or the
// single multiclass block) more reads in flight; with many blocks, smaller
// blocks keep every SM busy without making each chunk longer.
inline int threads_for(int64_t blocks) {
  int device = 0, sms = 0;
  TP_CHECK(cudaGetDevice(&device) == cudaSuccess &&
               cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device) == cudaSuccess,
           "torch_perceptron: cannot read the GPU's number of SMs");
  return blocks >= 2 * static_cast<int64_t>(sms) ? 256 : 1024;
}

// The host side of a launch, through the stable ABI: the current stream of
// torch on `device` (the kernels run in order with torch's own work), and the
// launch's error as a RuntimeError.
inline cudaStream_t current_stream(const Device& device) {
  void* stream = nullptr;
  STABLE_TORCH_ERROR_CODE_CHECK(aoti_torch_get_current_cuda_stream(device.index(), &stream));
  return static_cast<cudaStream_t>(stream);
}

inline void check_launch(const char* name) {
  const cudaError_t err = cudaGetLastError();
  TP_CHECK(err == cudaSuccess, name, ": CUDA kernel launch failed: ", cudaGetErrorString(err));
}

// The rows a launch reports bad, [blocks] int64 on the GPU (-1: none): the
// earliest bad row (a NaN in x makes every output fail at that row), or -1.
// One small copy to the host, the call's one synchronisation.
inline int64_t first_bad_row(const Tensor& bad_row) {
  const Tensor host = torch::stable::to(bad_row, Device(DeviceType::CPU));
  const int64_t* p = host.const_data_ptr<int64_t>();
  int64_t first = -1;
  for (int64_t i = 0; i < host.numel(); ++i) {
    if (p[i] >= 0 && (first < 0 || p[i] < first)) first = p[i];
  }
  return first;
}

// Calls f(rows) with the call's x as a row source, its scalar_t (and, for
// CSR, index_t) dispatched: DenseRows over dense x [N, in], CsrRows over a
// CSR x. The rules' kernels take either (online_rule.cuh, multiclass_rule.cuh).
template <typename Call, typename F>
void for_rows(const Call& call, const char* what, F f) {
  if constexpr (std::is_base_of_v<CsrOperands, Call>) {
    for_csr_rows(call.x, what, [&](const auto& rows, auto, auto) { f(rows); });
  } else {
    dispatch_float(call.weight.scalar_type(), what, [&](auto tag) {
      using scalar_t = decltype(tag);
      f(DenseRows<scalar_t>{call.x.template const_data_ptr<scalar_t>(), call.x.size(0), call.in});
    });
  }
}

// Whether `bytes` of weights are kept in a block's shared memory: for dense
// rows, when they fit; CSR rows touch a few of a large weight row, which
// stays in global memory.
template <typename Rows>
bool weights_in_smem(int64_t bytes) {
  return Rows::kDense && bytes <= kWeightSmemBytes;
}

// Runs launch(stream, bad_row) on weight's device, bad_row [slots] int64
// filled with -1 for the kernel to report its bad rows in, and returns the
// earliest one (first_bad_row): the host side of every rule's launch.
template <typename Launch>
int64_t launch_reporting(const Tensor& weight, int64_t slots, Launch launch) {
  const torch::stable::accelerator::DeviceGuard guard(weight.get_device_index());
  const Tensor bad_row = torch::stable::full(std::vector<int64_t>{slots}, -1.0, ScalarType::Long,
                                             std::nullopt, weight.device());
  launch(current_stream(weight.device()), bad_row.mutable_data_ptr<int64_t>());
  return first_bad_row(bad_row);
}

}  // namespace torch_perceptron::cuda
