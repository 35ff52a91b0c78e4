#!/usr/bin/python3
"""Python reference timings for the image encoders (Debian python3-torch).

Builds the same architecture MammoVL's vision_benchmark runs (the reference
layouts in tools/fixtures/vision_reference_models.py), feeds a fixed random
batch and prints one JSON line per case:
  {"model": "b2", "mode": "infer", "batch": 1, "seconds": [...], "images_per_s": x}

Inference runs in eval mode under torch.inference_mode(); a training step is
forward + sum of the pooled features as loss + backward + AdamW step, in train
mode (dropout, drop-connect and BatchNorm batch statistics active), exactly as
the C++ benchmark does.

  /usr/bin/python3 tools/reference_bench/vision_reference.py --model b2 --mode infer --batch 1
"""
import argparse
import json
import os
import resource
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
import vision_reference_models as ref  # noqa: E402

SIZES = {"b2": (1520, 912), "b5": (1520, 912), "vit": (518, 518)}


def build(name):
    if name in ("b2", "b5"):
        return ref.EfficientNet(ref.efficientnet_params(name))
    return ref.DinoVisionTransformer()


def pooled(model, x):
    if isinstance(model, ref.EfficientNet):
        return model(x)
    return model.forward_features(x)["x_prenorm"].mean(dim=1)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", choices=sorted(SIZES), required=True)
    p.add_argument("--mode", choices=["infer", "train"], required=True)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--iters", type=int, default=2)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--channels_last", action="store_true",
                   help="also convert model and input to channels_last")
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = build(a.model)
    h, w = SIZES[a.model]
    x = torch.randn(a.batch, 3, h, w)
    if a.channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)

    if a.mode == "infer":
        model.eval()

        def step():
            with torch.inference_mode():
                pooled(model, x)
    else:
        model.train()
        opt = torch.optim.AdamW(model.parameters(), lr=1e-5)

        def step():
            opt.zero_grad(set_to_none=True)
            pooled(model, x).sum().backward()
            opt.step()

    for _ in range(a.warmup):
        step()
    seconds = []
    cpu0 = time.process_time()
    for _ in range(a.iters):
        t0 = time.perf_counter()
        step()
        seconds.append(time.perf_counter() - t0)
    cpu = (time.process_time() - cpu0) / a.iters
    best = min(seconds)
    print(json.dumps({
        "impl": "python", "model": a.model, "mode": a.mode, "batch": a.batch,
        "threads": a.threads, "seconds": [round(s, 4) for s in seconds],
        "images_per_s": round(a.batch / best, 4),
        "process_cpu_s_per_iter": round(cpu, 4),
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
    }))


if __name__ == "__main__":
    main()
