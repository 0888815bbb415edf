// scikit-learn's SGD sample orders (torch_perceptron/sklearn/orders.py): the
// permutation that SequentialDataset.shuffle(seed) applies to its index array,
// one row per seed. A helper of the scikit-learn estimator, not a rule of the
// perceptron, so it is not in the op table (torch_perceptron/ops/).
//
// It is compiled because it is sequential twice over: xorshift's next state
// needs the last, and Fisher-Yates' swap i needs the array that swaps 0..i-1
// left. In numpy, even vectorised with jump tables and pointer jumping, it was
// far slower per seed than this loop (measured: BENCHMARKS.md, issue 13's
// section).
#include <cstdint>
#include <numeric>
#include <utility>

#include "../stable.h"

namespace torch_perceptron {
namespace {

// sklearn/utils/_random.pxd: RAND_R_MAX + 1, and the state that replaces 0.
constexpr uint32_t kRandRMod = 0x80000000u;
constexpr uint32_t kDefaultSeed = 1;

// our_rand_r: one 32-bit xorshift step, returned modulo 2^31.
inline uint32_t our_rand_r(uint32_t& state) {
  if (state == 0) state = kDefaultSeed;
  state ^= state << 13;
  state ^= state >> 17;
  state ^= state << 5;
  return state % kRandRMod;
}

Tensor sgd_permutations(const Tensor& seeds, int64_t n) {
  TP_CHECK(seeds.device().type() == DeviceType::CPU,
           "sgd_permutations: seeds must be on the CPU, got ", seeds.device());
  TP_CHECK(seeds.scalar_type() == ScalarType::Long && seeds.dim() == 1,
           "sgd_permutations: seeds must be a 1-D int64 tensor, got ", seeds.scalar_type(),
           " of shape ", shape(seeds));
  TP_CHECK_VALUE(n >= 0, "sgd_permutations: n must be >= 0, got ", n);
  // scikit-learn's shuffle indexes with C ints.
  TP_CHECK_VALUE(n <= INT32_MAX, "sgd_permutations: n must be <= 2^31 - 1, got ", n);
  const Tensor s = as_contiguous(seeds);
  const int64_t k = s.size(0);
  Tensor out = zeros({k, n}, ScalarType::Long, Device(DeviceType::CPU));
  const int64_t* seed = s.const_data_ptr<int64_t>();
  int64_t* rows = out.mutable_data_ptr<int64_t>();
  for (int64_t r = 0; r < k; ++r) {
    int64_t* index = rows + r * n;
    std::iota(index, index + n, int64_t{0});
    // The seed is a C uint32_t in scikit-learn: its low 32 bits.
    uint32_t state = static_cast<uint32_t>(static_cast<uint64_t>(seed[r]));
    for (int64_t i = 0; i + 1 < n; ++i) {
      const int64_t j = i + our_rand_r(state) % static_cast<uint32_t>(n - i);
      std::swap(index[i], index[j]);
    }
  }
  return out;
}

}  // namespace

STABLE_TORCH_LIBRARY_FRAGMENT(torch_perceptron, m) {
  // Row r: the permutation p such that scikit-learn's
  // SequentialDataset.shuffle(seeds[r]) turns an index array a of length n
  // into a[p]. int64 [len(seeds), n]. CPU.
  m.def("sgd_permutations(Tensor seeds, int n) -> Tensor");
}

STABLE_TORCH_LIBRARY_IMPL(torch_perceptron, CPU, m) {
  m.impl("sgd_permutations", TORCH_BOX(&sgd_permutations));
}

}  // namespace torch_perceptron
