#!/usr/bin/python3
"""PyTorch timing of the work in train/optimizer_benchmark.cc, same shapes.

/usr/bin/python3 tools/reference_bench/optimizer_reference.py
Prints one line per case: name, milliseconds per call (best of several runs).
"""
import time

import torch


def transformer_layers(layers):
    torch.manual_seed(0)
    params = []
    for _ in range(layers):
        shapes = []
        for _ in range(4):
            shapes += [(768, 768), (768,)]
        shapes += [(768,), (768,), (3072, 768), (3072,), (768, 3072), (768,), (768,), (768,)]
        for shape in shapes:
            p = torch.nn.Parameter(torch.randn(shape))
            p.grad = torch.randn(shape) * 1e-3
            params.append(p)
    return params


def best_ms(fn, repeats, warmup=3):
    for _ in range(warmup):
        fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best * 1e3


def main():
    torch.set_num_threads(2)
    params = transformer_layers(6)
    opt = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.05)
    print("BM_AdamWStep", best_ms(opt.step, 10))
    print("BM_ClipGradNorm", best_ms(lambda: torch.nn.utils.clip_grad_norm_(params, 1e9), 10))


if __name__ == "__main__":
    main()
