#!/usr/bin/python3
"""Python reference of MammoVL's embedding extraction benchmark
(eval/embedding_benchmark): PNG files -> torch DataLoader (2 worker
processes: cv2.imread, Mammo-CLIP evaluation transform = per-image min-max,
mean/std, 3 channels) -> EfficientNet (lukemelas layout, the reference model
of tools/fixtures/vision_reference_models.py) at 1520x912 -> Linear(-> 512)
-> L2 normalisation, under torch.inference_mode(). One warm-up batch, then one
timed pass over all files. Prints one JSON line with images/s.

  /usr/bin/python3 tools/reference_bench/embedding_reference.py --png_dir DIR --model b5
"""
import argparse
import glob
import json
import os
import sys
import time

import cv2
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
import vision_reference_models as ref  # noqa: E402

MEAN, STD = 0.3089279, 0.25053555408335154


class Pngs(Dataset):
    def __init__(self, paths):
        self.paths = paths

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        img = cv2.imread(self.paths[i], cv2.IMREAD_GRAYSCALE)
        if img.shape != (1520, 912):
            img = cv2.resize(img, (912, 1520), interpolation=cv2.INTER_LINEAR)
        x = img.astype(np.float32)
        x = (x - x.min()) / max(float(x.max() - x.min()), 1e-12)
        x = (x - MEAN) / STD
        return torch.from_numpy(np.repeat(x[None], 3, axis=0))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--png_dir", required=True)
    p.add_argument("--model", choices=["b2", "b5"], default="b5")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    encoder = ref.EfficientNet(ref.efficientnet_params(a.model)).eval()
    with torch.inference_mode():
        width = encoder(torch.zeros(1, 3, 64, 64)).shape[1]
    proj = torch.nn.Linear(width, 512).eval()
    paths = sorted(glob.glob(os.path.join(a.png_dir, "*.png")))

    def run(files):
        out = []
        loader = DataLoader(Pngs(files), batch_size=a.batch, num_workers=a.workers)
        with torch.inference_mode():
            for x in loader:
                e = proj(encoder(x))
                out.append(torch.nn.functional.normalize(e, dim=1))
        return torch.cat(out)

    run(paths[:a.batch])
    t0 = time.perf_counter()
    e = run(paths)
    seconds = time.perf_counter() - t0
    print(json.dumps({"model": a.model, "images": len(paths), "batch": a.batch,
                      "seconds": seconds, "images_per_s": len(paths) / seconds,
                      "dim": int(e.shape[1])}))


if __name__ == "__main__":
    main()
