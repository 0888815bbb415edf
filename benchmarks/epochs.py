"""The epoch rows of BENCHMARKS.md in one short process, for a before/after
comparison of two builds (run it with each build's python, in turn):

    python -m benchmarks.epochs            # prints one JSON line of medians (ms)

K=1 online at 100,000 x 100 (the read-floor row), K=10 one-vs-rest and
multiclass at 100,000 x 100, and CSR epochs of 50,000 rows x 2^18 features
(56 non-zeros a row) at K=1 and K=20 one-vs-rest and the multiclass rule's
three CSR loops (K=10 on a feature-major copy and in place on feature-major
weights, K=80 row by row over 10,000 rows): float32, each repeat from zero
weights, the ops called directly with torch's default threads.
"""

import json
import statistics
import time

import torch


def _median_ms(run, setup, repeats: int) -> float:
    setup()
    run()
    times = []
    for _ in range(repeats):
        setup()
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def main(repeats: int = 9) -> dict:
    from torch_perceptron import ops

    g = torch.Generator().manual_seed(0)
    out = {}
    n, d = 100_000, 100
    x = torch.randn(n, d, generator=g)
    z = x @ torch.randn(d, 10, generator=g)
    w1, b1 = torch.zeros(1, d), torch.zeros(1)
    w10, b10 = torch.zeros(10, d), torch.zeros(10)

    def zero(*ts):
        return lambda: [t.zero_() for t in ts]

    y1 = (z[:, 0] > 0).float()
    out["K=1 online, 100000x100"] = _median_ms(lambda: ops.online_update(w1, b1, x, y1), zero(w1, b1), repeats)
    y10 = torch.nn.functional.one_hot(z.argmax(1), 10).float()
    out["K=10 one-vs-rest, 100000x100"] = _median_ms(
        lambda: ops.online_update(w10, b10, x, y10), zero(w10, b10), repeats
    )
    c10 = z.argmax(1)
    out["K=10 multiclass, 100000x100"] = _median_ms(
        lambda: ops.multiclass_update(w10, b10, x, c10), zero(w10, b10), repeats
    )

    rows, f, nnz = 50_000, 1 << 18, 56
    cols = torch.argsort(torch.rand(rows, 4096, generator=g), dim=1)[:, :nnz] * 64
    cols = (cols + torch.randint(0, 64, (rows, nnz), generator=g)).sort(dim=1).values
    crow = torch.arange(0, (rows + 1) * nnz, nnz)
    col, val = cols.reshape(-1).contiguous(), torch.rand(rows * nnz, generator=g)
    wf1, bf1 = torch.zeros(1, f), torch.zeros(1)
    ys1 = (torch.rand(rows, generator=g) < 0.3).float()
    out["CSR K=1, 50000x2^18"] = _median_ms(
        lambda: ops.online_update_csr(wf1, bf1, crow, col, val, f, ys1), zero(wf1, bf1), repeats
    )
    w20, b20 = torch.zeros(20, f), torch.zeros(20)
    ys20 = torch.nn.functional.one_hot(torch.randint(0, 20, (rows,), generator=g), 20).float()
    out["CSR K=20 one-vs-rest, 50000x2^18"] = _median_ms(
        lambda: ops.online_update_csr(w20, b20, crow, col, val, f, ys20), zero(w20, b20), repeats
    )

    # The CSR multiclass rule's three loops: on a feature-major copy of
    # weights [K, 2^18] (K fits the copy's vectors), in place on the layer's
    # feature-major weights (a [2^18, K] tensor's transpose), and row by row
    # (K too wide for the copy: 80 classes, over the first 10,000 rows).
    mc = torch.randint(0, 80, (rows,), generator=g)
    m10 = mc % 10
    wc, bc = torch.zeros(10, f), torch.zeros(10)
    out["CSR K=10 multiclass, 50000x2^18"] = _median_ms(
        lambda: ops.multiclass_update_csr(wc, bc, crow, col, val, f, m10), zero(wc, bc), repeats
    )
    wt, bt = torch.zeros(f, 10).t(), torch.zeros(10)
    out["CSR K=10 multiclass, feature-major weights, 50000x2^18"] = _median_ms(
        lambda: ops.multiclass_update_csr(wt, bt, crow, col, val, f, m10), zero(wt, bt), repeats
    )
    r = 10_000
    wr, br = torch.zeros(80, f), torch.zeros(80)
    out["CSR K=80 multiclass, 10000x2^18"] = _median_ms(
        lambda: ops.multiclass_update_csr(wr, br, crow[: r + 1], col[: r * nnz], val[: r * nnz], f, mc[:r]),
        zero(wr, br),
        repeats,
    )
    return out


if __name__ == "__main__":
    print(json.dumps(main()))
