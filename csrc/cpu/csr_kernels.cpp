// The CSR forward and the CSR mini-batch steps on the CPU (entries.h's
// CsrForward and CsrBatchCall run them; the online and multiclass rules'
// loops are csr_online_loop.h and csr_multiclass_loop.h).
#include <atomic>
#include <vector>

#include "csr_dot.h"
#include "kernels.h"

namespace torch_perceptron::cpu {
namespace {

// Rows per task of the forward: rows are independent, so threads split them.
constexpr int64_t kForwardGrain = 2048;

}  // namespace

// z [N, K] = x @ weight.T + bias, each row's columns checked before they are
// read; raises for the first bad row. Row-parallel.
Tensor net_input_csr(const CsrInput& x, const Tensor& weight, const Tensor& bias) {
  // Feature-major weights (the transpose of [in, stride], as the online rule
  // updates them in place, csr_online_loop.h) are read as they are: a row's
  // non-zeros each bring their K weights from one place.
  const bool fm = weight.size(0) >= 2 && !weight.is_contiguous() && weight.stride(0) == 1 &&
                  weight.stride(1) >= weight.size(0);
  const Tensor w = fm ? weight : as_contiguous(weight), b = as_contiguous(bias);
  const int64_t n = x.n, k = w.size(0);
  const int64_t fm_stride = fm ? weight.stride(1) : 0;
  Tensor z = zeros({n, k}, w.scalar_type(), w.device());
  std::atomic<int64_t> bad_row{n};
  for_csr_rows(x, "the CSR forward", [&](const auto& rows, auto tag, auto itag) {
    using scalar_t = decltype(tag);
    using index_t = decltype(itag);
    const scalar_t* wp = w.const_data_ptr<scalar_t>();
    const scalar_t* bp = b.const_data_ptr<scalar_t>();
    scalar_t* zp = z.mutable_data_ptr<scalar_t>();
    torch::stable::parallel_for(0, n, kForwardGrain, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) {
        const CsrRow<scalar_t, index_t> row = rows.row(i);
        bool ok = true;
        if (fm_stride > 0) {
          scalar_t* zi = zp + i * k;
          ok = csr_row_ok(row.cols, row.nnz, rows.in);
          for (int64_t p = 0; ok && p < row.nnz; ++p) {
            const scalar_t* w_j = wp + static_cast<int64_t>(row.cols[p]) * fm_stride;
            const scalar_t v = row.values[p];
            for (int64_t o = 0; o < k; ++o) zi[o] += v * w_j[o];
          }
          for (int64_t o = 0; ok && o < k; ++o) {
            zi[o] += bp[o];
            ok &= std::isfinite(zi[o]);
          }
        }
        for (int64_t o = 0; ok && fm_stride == 0 && o < k; ++o) {
          // The first output's dot checks the row (csr_online_loop.h).
          const scalar_t* w_o = wp + o * rows.in;
          const scalar_t dot =
              o == 0 ? csr_dot<true>(row, w_o, rows.in, ok) : csr_dot<false>(row, w_o, rows.in, ok);
          zp[i * k + o] = dot + bp[o];
          ok &= std::isfinite(zp[i * k + o]);
        }
        if (!ok) {
          int64_t seen = bad_row.load();
          while (i < seen && !bad_row.compare_exchange_weak(seen, i)) {}
          return;
        }
      }
    });
  });
  if (bad_row.load() < n) {
    check_params_finite(weight, bias);
    fail_csr_row(x, bad_row.load());
  }
  return z;
}

// The mini-batch steps after the forward (entries.h): the rows in order,
// each output's weights gaining lr * err * sample_weight * x_i, as the
// reference adds them, and the bias one step of the summed errors,
// (lr * sum_i err_i sample_weight_i) * bias_step, as the dense op takes it.
void batch_steps_csr(CsrOnlineOperands& call, const Tensor& z) {
  const int64_t n = call.n, k = call.k;
  const bool zero_is_mistake = call.zero_is_mistake;
  for_csr_rows(call.x, "the CSR mini-batch rule", [&](const auto& rows, auto tag, auto itag) {
    using scalar_t = decltype(tag);
    using index_t = decltype(itag);
    const scalar_t* zp = z.const_data_ptr<scalar_t>();
    const scalar_t* yp = call.y.const_data_ptr<scalar_t>();
    const scalar_t* sw = call.sw ? call.sw->const_data_ptr<scalar_t>() : nullptr;
    scalar_t* w = call.w.mutable_data_ptr<scalar_t>();
    scalar_t* b = call.b.mutable_data_ptr<scalar_t>();
    int64_t* mistakes = call.mistakes.mutable_data_ptr<int64_t>();
    const scalar_t lr_s = static_cast<scalar_t>(call.lr);
    const scalar_t bias_s = static_cast<scalar_t>(call.bias_step);
    std::vector<scalar_t> err_sum(k, scalar_t(0));
    for (int64_t i = 0; i < n; ++i) {
      const CsrRow<scalar_t, index_t> row = rows.row(i);
      for (int64_t o = 0; o < k; ++o) {
        const scalar_t zi = zp[i * k + o], t = yp[i * k + o];
        const bool wrong = ((zi > 0) != (t != 0)) || (zero_is_mistake && zi == 0);
        if (!wrong) continue;
        mistakes[o] += 1;
        const scalar_t err = t + t - 1;
        const scalar_t scale = sw != nullptr ? err * sw[i] : err;
        row.add_to(w + o * rows.in, lr_s * scale);
        err_sum[o] += scale;
      }
    }
    if (call.bias_step != 0) {
      for (int64_t o = 0; o < k; ++o) b[o] += (lr_s * err_sum[o]) * bias_s;
    }
  });
}

}  // namespace torch_perceptron::cpu
