// Steps 3 and 4 of a CSR input's validation on the GPU (csr_checks.h): one
// kernel over the rows writes the first fault of each kind, read once (one
// synchronisation) before any update kernel runs; the host then raises the
// error the CPU would raise for it, naming the argument.
#include <torch/csrc/stable/accelerator.h>

#include <climits>

#include "../csr_checks.h"
#include "rules.cuh"

namespace torch_perceptron {
namespace {

// faults[0]: crow_indices[0] != 0; faults[1]: crow_indices[N] != nnz;
// faults[2]: the first i with crow_indices[i] < crow_indices[i - 1];
// faults[3]: the first row with a column out of range or out of order, or a
// non-finite value. LLONG_MAX: none.
template <typename scalar_t, typename index_t>
__global__ void csr_check_kernel(const index_t* crow, const index_t* col, const scalar_t* values,
                                 int64_t n, int64_t nnz, int64_t features,
                                 unsigned long long* faults) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  const int64_t first = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (first == 0) {
    if (crow[0] != 0) faults[0] = 1;
    if (static_cast<int64_t>(crow[n]) != nnz) faults[1] = 1;
  }
  for (int64_t i = first; i < n; i += stride) {
    const int64_t lo = crow[i], hi = crow[i + 1];
    if (hi < lo) {
      atomicMin(faults + 2, static_cast<unsigned long long>(i + 1));
      continue;
    }
    // A row outside [0, nnz) is reported by the checks above.
    if (lo < 0 || hi > nnz) continue;
    bool ok = true;
    for (int64_t p = lo; p < hi; ++p) {
      const int64_t c = col[p];
      ok &= c >= 0 && c < features && (p == lo || c > col[p - 1]) && isfinite(values[p]);
    }
    if (!ok) atomicMin(faults + 3, static_cast<unsigned long long>(i));
  }
}

}  // namespace

void check_csr_rows_cuda(const CsrInput& x) {
  const torch::stable::accelerator::DeviceGuard guard(x.values.get_device_index());
  const Tensor faults = torch::stable::full(std::vector<int64_t>{4}, static_cast<double>(LLONG_MAX),
                                            ScalarType::Long, std::nullopt, x.values.device());
  // full() of LLONG_MAX through a double rounds up past it: write it exactly.
  const cudaStream_t stream = cuda::current_stream(x.values.device());
  std::vector<int64_t> none(4, LLONG_MAX);
  TP_CHECK(cudaMemcpyAsync(faults.mutable_data_ptr<int64_t>(), none.data(), 4 * sizeof(int64_t),
                           cudaMemcpyHostToDevice, stream) == cudaSuccess,
           "values: cannot start the CSR check on the GPU");
  const int threads = 256;
  const int64_t blocks =
      std::min<int64_t>((std::max<int64_t>(x.n, 1) + threads - 1) / threads, 4096);
  dispatch_float(x.values.scalar_type(), "csr_check", [&](auto tag) {
    using scalar_t = decltype(tag);
    dispatch_index(x, [&](auto itag) {
      using index_t = decltype(itag);
      csr_check_kernel<scalar_t, index_t><<<static_cast<unsigned>(blocks), threads, 0, stream>>>(
          x.crow.const_data_ptr<index_t>(), x.col.const_data_ptr<index_t>(),
          x.values.const_data_ptr<scalar_t>(), x.n, x.nnz, x.features,
          reinterpret_cast<unsigned long long*>(faults.mutable_data_ptr<int64_t>()));
      cuda::check_launch("csr_check");
    });
  });
  const Tensor host = torch::stable::to(faults, Device(DeviceType::CPU));
  const int64_t* f = host.const_data_ptr<int64_t>();
  if (f[0] != LLONG_MAX) fail_csr(x, CsrFault::kCrowStart, 0, 0);
  if (f[1] != LLONG_MAX) fail_csr(x, CsrFault::kCrowEnd, x.n, x.n);
  if (f[2] != LLONG_MAX) fail_csr(x, CsrFault::kCrowOrder, f[2] - 1, f[2]);
  if (f[3] != LLONG_MAX) fail_csr_row(x, f[3]);
}

}  // namespace torch_perceptron
