#!/usr/bin/python3
"""scikit-learn timing of the work in eval/metrics_benchmark.cc, same inputs.

/usr/bin/python3 tools/reference_bench/metrics_reference.py
Prints one line per case: name, milliseconds per call (best of several runs).
"""
import time

import numpy as np
from sklearn import metrics


def binary(n):
    i = np.arange(n, dtype=np.uint64)
    y = (i % 7 == 0).astype(int)
    s = ((i * np.uint64(2654435761)) % np.uint64(1000)).astype(float) / 1000.0 + 0.2 * y
    return y, s


def multiclass(n, k=7):
    i = np.arange(n)[:, None]
    c = np.arange(k)[None, :]
    y = np.arange(n) % k
    p = 1.0 + ((i * 31 + c * 17) % 10) + 5.0 * (c == y[:, None])
    return y, p / p.sum(axis=1, keepdims=True)


def best_ms(fn, repeats):
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best * 1e3


def bootstrap(y, s, resamples=200, seed=0):
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(resamples):
        idx = rng.integers(0, len(y), len(y))
        try:
            values.append(metrics.roc_auc_score(y[idx], s[idx]))
        except ValueError:
            pass
    return np.quantile(values, [0.025, 0.975])


def main():
    y, s = binary(13682)
    print("BM_RocAuc/13682 %.3f" % best_ms(lambda: metrics.roc_auc_score(y, s), 20))
    ym, p = multiclass(5000)
    print("BM_MulticlassRocAucOvr/5000 %.3f" % best_ms(
        lambda: metrics.roc_auc_score(ym, p, multi_class="ovr"), 20))
    yb, sb = binary(5956)
    print("BM_BootstrapRocAuc/5956 %.3f" % best_ms(lambda: bootstrap(yb, sb), 3))


if __name__ == "__main__":
    main()
