// The GPU's kernels behind every op (register_ops.h): the Calls of its rules
// (online_rule.cuh and multiclass_rule.cuh, for dense and CSR rows alike),
// its block policies and its plain kernels.
#include "../register_ops.h"
#include "averaged_policy.cuh"
#include "kernels.h"
#include "multiclass_rule.cuh"
#include "online_rule.cuh"
#include "pocket_policy.cuh"

namespace torch_perceptron::cuda {
namespace {

struct Cuda {
  using OnlineCall = cuda::OnlineCall;
  using MulticlassCall = cuda::MulticlassCall;
  using CsrOnlineCall = cuda::CsrOnlineCall;
  using CsrMulticlassCall = cuda::CsrMulticlassCall;
  template <typename T>
  using Averaged = AveragedBlockPolicy<T>;
  template <typename T>
  using AveragedMulticlass = AveragedMulticlassBlockPolicy<T>;
  template <typename T>
  using Pocket = PocketBlockPolicy<T>;
  template <typename T>
  using PocketMulticlass = PocketMulticlassBlockPolicy<T>;
  static constexpr auto net_input_csr = &cuda::net_input_csr;
  static constexpr auto batch_steps_csr = &cuda::batch_steps_csr;
  static constexpr auto penalized_dense = &cuda::penalized_dense;
  static constexpr auto penalized_csr = &cuda::penalized_csr;
};

}  // namespace

STABLE_TORCH_LIBRARY_IMPL(torch_perceptron, CUDA, m) { register_ops<Cuda>(m); }

}  // namespace torch_perceptron::cuda
