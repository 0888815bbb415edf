// The averaged perceptron on the GPU, binary / one-vs-rest and multiclass, in
// the running-average form of cpu/averaged_kernel.cpp: weight_acc and bias_acc
// gain (count + i) * step * x_i and (count + i) * step on a mistake at sample
// i of the call, a correct prediction costs nothing, and count advances by N
// on success. The kernels are the plain rule's (online_rule.cuh,
// multiclass_rule.cuh) with the policies below.
#include "../variants.h"
#include "multiclass_rule.cuh"
#include "online_rule.cuh"

namespace torch_perceptron::cuda {
namespace {

template <typename scalar_t>
struct AveragedPolicy {
  scalar_t* weight_acc;  // [K, in]
  scalar_t* bias_acc;    // [K]
  const int64_t* count;  // [K], samples seen before this call
  int64_t in;
  scalar_t bias_step;
  int64_t count_o = 0;   // the block's output's count

  explicit AveragedPolicy(const AveragedArgs<scalar_t>& a)
      : weight_acc(a.weight_acc), bias_acc(a.bias_acc), count(a.count),
        in(a.in), bias_step(a.bias_step) {}

  __device__ void begin(int64_t o) { count_o = count[o]; }
  __device__ void correct(int) {}
  __device__ void mistake(int64_t o, int64_t i, const scalar_t* xi,
                          scalar_t step, const scalar_t*, scalar_t) {
    // The sample's 1-based index is count + i + 1; the step is weighed by how
    // many samples came before it.
    const scalar_t c = static_cast<scalar_t>(count_o + i);
    const scalar_t cs = c * step;
    scalar_t* acc = weight_acc + o * in;
    for (int64_t j = threadIdx.x; j < in; j += blockDim.x) acc[j] += cs * xi[j];
    if (bias_step != 0 && threadIdx.x == 0) bias_acc[o] += c * (step * bias_step);
  }
  __device__ void done(int64_t, const scalar_t*, scalar_t) {}
};

template <typename scalar_t>
struct AveragedMulticlassPolicy {
  scalar_t* weight_acc;  // [K, in]
  scalar_t* bias_acc;    // [K]
  const int64_t* count;  // [1], samples seen before this call
  int64_t in;
  scalar_t bias_step;
  int64_t count0 = 0;

  explicit AveragedMulticlassPolicy(const AveragedArgs<scalar_t>& a)
      : weight_acc(a.weight_acc), bias_acc(a.bias_acc), count(a.count),
        in(a.in), bias_step(a.bias_step) {}

  __device__ void begin() { count0 = *count; }
  __device__ void correct(int) {}
  __device__ void mistake(int64_t i, const scalar_t* xi, int64_t t,
                          int64_t yhat, scalar_t step, const scalar_t*,
                          const scalar_t*) {
    const scalar_t c = static_cast<scalar_t>(count0 + i);
    const scalar_t cs = c * step;
    scalar_t* acc_t = weight_acc + t * in;
    scalar_t* acc_p = weight_acc + yhat * in;
    for (int64_t j = threadIdx.x; j < in; j += blockDim.x) {
      acc_t[j] += cs * xi[j];
      acc_p[j] += -cs * xi[j];
    }
    if (bias_step != 0 && threadIdx.x == 0) {
      const scalar_t cb = c * (step * bias_step);
      bias_acc[t] += cb;
      bias_acc[yhat] -= cb;
    }
  }
  __device__ void done(const scalar_t*, const scalar_t*) {}
};

}  // namespace

STABLE_TORCH_LIBRARY_IMPL(torch_perceptron, CUDA, m) {
  m.impl("online_update_averaged",
         TORCH_BOX((&online_update_averaged<OnlineCall,
                                            AveragedPolicy>)));
  m.impl("multiclass_update_averaged",
         TORCH_BOX((&multiclass_update_averaged<
                    MulticlassCall, AveragedMulticlassPolicy>)));
}

}  // namespace torch_perceptron::cuda
