// The averaged and pocket perceptrons over CSR rows on the CPU: the policies of
// averaged_kernel.cpp and pocket_kernel.cpp (see there for the rules), with
// the hooks receiving the row, so that an averaged mistake adds to the
// accumulator only at the sample's non-zeros.
#include <cstring>

#include "../csr_variants.h"
#include "csr_loops.h"

namespace torch_perceptron {
namespace {

template <typename scalar_t>
struct AveragedCsrPolicy : CsrAveragedArgs<scalar_t> {
  explicit AveragedCsrPolicy(const CsrAveragedArgs<scalar_t>& a)
      : CsrAveragedArgs<scalar_t>(a) {}

  void correct(int64_t) {}
  template <typename Row>
  void mistake(int64_t o, int64_t i, const Row& row, scalar_t step,
               const scalar_t*, scalar_t) {
    // Weighed by how many samples came before this one (count + i).
    const scalar_t c = static_cast<scalar_t>(this->count[o] + i);
    row.add_to(this->weight_acc + o * this->in, c * step);
    if (this->bias_step != 0) this->bias_acc[o] += c * (step * this->bias_step);
  }
  void done(int64_t, const scalar_t*, scalar_t) {}
};

template <typename scalar_t>
struct AveragedMulticlassCsrPolicy : CsrAveragedArgs<scalar_t> {
  explicit AveragedMulticlassCsrPolicy(const CsrAveragedArgs<scalar_t>& a)
      : CsrAveragedArgs<scalar_t>(a) {}

  void correct() {}
  template <typename Row>
  void mistake(int64_t i, const Row& row, int64_t t, int64_t yhat,
               scalar_t step, const scalar_t*, const scalar_t*) {
    const scalar_t c = static_cast<scalar_t>(*this->count + i);
    row.add_to(this->weight_acc + t * this->in, c * step);
    row.add_to(this->weight_acc + yhat * this->in, -(c * step));
    if (this->bias_step != 0) {
      this->bias_acc[t] += c * (step * this->bias_step);
      this->bias_acc[yhat] -= c * (step * this->bias_step);
    }
  }
  void done(const scalar_t*, const scalar_t*) {}
};

template <typename scalar_t>
struct PocketCsrPolicy : PocketArgs<scalar_t> {
  explicit PocketCsrPolicy(const PocketArgs<scalar_t>& a)
      : PocketArgs<scalar_t>(a) {}

  // The weights do not change during a run: they go into the pocket once,
  // when a run that beats the record ends.
  void keep_if_record(int64_t o, const scalar_t* w_o, scalar_t bias_o) {
    if (this->run[o] > this->best[o]) {
      this->best[o] = this->run[o];
      std::memcpy(this->pocket_w + o * this->in, w_o,
                  this->in * sizeof(scalar_t));
      this->pocket_b[o] = bias_o;
    }
  }
  void correct(int64_t o) { ++this->run[o]; }
  template <typename Row>
  void mistake(int64_t o, int64_t, const Row&, scalar_t, const scalar_t* w_o,
               scalar_t bias_o) {
    keep_if_record(o, w_o, bias_o);
    this->run[o] = 0;
  }
  void done(int64_t o, const scalar_t* w_o, scalar_t bias_o) {
    keep_if_record(o, w_o, bias_o);
  }
};

template <typename scalar_t>
struct PocketMulticlassCsrPolicy : PocketArgs<scalar_t> {
  explicit PocketMulticlassCsrPolicy(const PocketArgs<scalar_t>& a)
      : PocketArgs<scalar_t>(a) {}

  void keep_if_record(const scalar_t* w, const scalar_t* b) {
    if (*this->run > *this->best) {
      *this->best = *this->run;
      std::memcpy(this->pocket_w, w, this->k * this->in * sizeof(scalar_t));
      std::memcpy(this->pocket_b, b, this->k * sizeof(scalar_t));
    }
  }
  void correct() { ++*this->run; }
  template <typename Row>
  void mistake(int64_t, const Row&, int64_t, int64_t, scalar_t,
               const scalar_t* w, const scalar_t* b) {
    keep_if_record(w, b);
    *this->run = 0;
  }
  void done(const scalar_t* w, const scalar_t* b) { keep_if_record(w, b); }
};

}  // namespace

STABLE_TORCH_LIBRARY_IMPL(torch_perceptron, CPU, m) {
  m.impl("online_update_averaged_csr",
         TORCH_BOX((&online_update_averaged_csr<cpu::CsrOnlineCall,
                                                AveragedCsrPolicy>)));
  m.impl("multiclass_update_averaged_csr",
         TORCH_BOX((&multiclass_update_averaged_csr<
                    cpu::CsrMulticlassCall, AveragedMulticlassCsrPolicy>)));
  m.impl("online_update_pocket_csr",
         TORCH_BOX((&online_update_pocket_csr<cpu::CsrOnlineCall,
                                              PocketCsrPolicy>)));
  m.impl("multiclass_update_pocket_csr",
         TORCH_BOX((&multiclass_update_pocket_csr<cpu::CsrMulticlassCall,
                                                  PocketMulticlassCsrPolicy>)));
}

}  // namespace torch_perceptron
