#!/usr/bin/python3
"""Python reference of the MammoVL loader benchmark: a torch DataLoader with
worker processes running the same OpenCV/NumPy operations as the references'
training augmentations, on the PNGs of a synthetic corpus.

  mammoclip: 1520x912 input; HorizontalFlip, VerticalFlip, Affine (the
      albumentations 1.4.7 matrix), ElasticTransform (control-point affine,
      Gaussian-smoothed noise, remap), per-image min-max + mean/std.
  mama: 518x518; long-side resize + pad, OtsuCut, resize, RandomResizedCrop,
      flips, brightness/contrast jitter, 7x7 Gaussian blur, Normalize(0.5, 0.5).

Prints one line: images/s, and peak RSS of the main process and of the
largest worker. Usage:
  loader_reference.py --png_dir DIR --pipeline mammoclip --batches 20
"""
import argparse
import glob
import math
import os
import random
import resource
import time

import cv2
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

MEAN, STD = 0.3089279, 0.25053555408335154


def affine_matrix(h, w, sx, sy):
    def sk(scale=(1, 1), rot=0.0, shear=0.0, t=(0, 0)):
        a0 = scale[0] * math.cos(rot)
        a1 = -scale[1] * (math.tan(shear) * math.cos(rot) + math.sin(rot))
        b0 = scale[0] * math.sin(rot)
        b1 = -scale[1] * (math.tan(shear) * math.sin(rot) - math.cos(rot))
        return np.array([[a0, a1, t[0]], [b0, b1, t[1]], [0, 0, 1]])
    cx, cy = w / 2 - 0.5, h / 2 - 0.5
    m = np.eye(3)
    for s in [np.array([[1, 0, -cx], [0, 1, -cy], [0, 0, 1]]), sk(rot=-np.pi / 2),
              sk(shear=np.deg2rad(-20)), sk(rot=np.pi / 2),
              sk(scale=(sx, sy), t=(0.1 * w, 0.1 * h), rot=np.deg2rad(-20), shear=np.deg2rad(-20)),
              np.array([[1, 0, cx], [0, 1, cy], [0, 0, 1]])]:
        m = s @ m
    return m[:2]


def mammoclip(img):
    h, w = img.shape
    if random.random() < 0.5:
        img = cv2.flip(img, 1)
    if random.random() < 0.5:
        img = cv2.flip(img, 0)
    if random.random() < 0.5:
        m = affine_matrix(h, w, random.uniform(0.8, 1.2), random.uniform(0.8, 1.2))
        img = cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    if random.random() < 0.5:
        c = np.array((h, w), dtype=np.float32) // 2
        s = min(h, w) // 3
        pts1 = np.array([c + s, [c[0] + s, c[1] - s], c - s], dtype=np.float32)
        pts2 = pts1 + np.random.uniform(-50, 50, size=pts1.shape).astype(np.float32)
        img = cv2.warpAffine(img, cv2.getAffineTransform(pts1, pts2), (w, h),
                             flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
        k = 2 * int(4 * 15 + 0.5) + 1
        dx = cv2.GaussianBlur(np.random.rand(h, w).astype(np.float32) * 2 - 1, (k, k), 15) * 10
        dy = cv2.GaussianBlur(np.random.rand(h, w).astype(np.float32) * 2 - 1, (k, k), 15) * 10
        x, y = np.meshgrid(np.arange(w), np.arange(h))
        img = cv2.remap(img, (x + dx).astype(np.float32), (y + dy).astype(np.float32),
                        interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
    f = img.astype(np.float32)
    f -= f.min()
    f /= max(f.max(), 1e-6)
    return (f - MEAN) / STD


def mama(img, size=518):
    h, w = img.shape
    if h >= w:
        nh, nw = size, int(w * size / h)
    else:
        nh, nw = int(h * size / w), size
    img = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_AREA)
    ph, pw = size - nh, size - nw
    img = np.pad(img, ((ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2)))
    _, mask = cv2.threshold(img, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    x, y, bw, bh = cv2.boundingRect(mask)
    if bw > 0 and bh > 0:
        img = img[y:y + bh, x:x + bw]
    img = cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)
    area = size * size
    for _ in range(10):
        ta = area * random.uniform(0.1, 1.0)
        ar = math.exp(random.uniform(math.log(3 / 4), math.log(4 / 3)))
        cw, ch = int(round(math.sqrt(ta * ar))), int(round(math.sqrt(ta / ar)))
        if 0 < cw <= size and 0 < ch <= size:
            i, j = random.randint(0, size - ch), random.randint(0, size - cw)
            img = img[i:i + ch, j:j + cw]
            break
    img = cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)
    if random.random() < 0.5:
        img = cv2.flip(img, 1)
    if random.random() < 0.5:
        img = cv2.flip(img, 0)
    if random.random() < 0.8:
        ops = [0, 1]
        random.shuffle(ops)
        for op in ops:
            f = random.uniform(0.2, 1.8)
            base = 0.0 if op == 0 else float(int(img.mean() + 0.5))
            img = np.clip(base + f * (img.astype(np.float32) - base), 0, 255).astype(np.uint8)
    if random.random() < 0.4:
        img = cv2.GaussianBlur(img, (7, 7), random.uniform(0.1, 2.0))
    return (img.astype(np.float32) / 255.0 - 0.5) / 0.5


class PngDataset(Dataset):
    def __init__(self, files, pipeline, height, width):
        self.files, self.pipeline, self.size = files, pipeline, (width, height)

    def __len__(self):
        return len(self.files)

    def __getitem__(self, i):
        img = cv2.imread(self.files[i], cv2.IMREAD_GRAYSCALE)
        if self.pipeline == "mammoclip":
            if (img.shape[1], img.shape[0]) != self.size:
                img = cv2.resize(img, self.size, interpolation=cv2.INTER_AREA)
            out = mammoclip(img)
        else:
            out = mama(img)
        return torch.from_numpy(out).unsqueeze(0)


def worker_init(worker_id):
    seed = torch.initial_seed() % 2**32
    random.seed(seed)
    np.random.seed(seed)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--png_dir", required=True)
    p.add_argument("--pipeline", choices=["mammoclip", "mama"], default="mammoclip")
    p.add_argument("--height", type=int, default=1520)
    p.add_argument("--width", type=int, default=912)
    p.add_argument("--batch_size", type=int, default=8)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--batches", type=int, default=20)
    p.add_argument("--warmup", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(1)
    files = sorted(glob.glob(os.path.join(a.png_dir, "*", "*.png")))
    reps = (a.batch_size * (a.batches + a.warmup)) // max(1, len(files)) + 1
    ds = PngDataset(files * reps, a.pipeline, a.height, a.width)
    loader = DataLoader(ds, batch_size=a.batch_size, shuffle=True, num_workers=a.workers,
                        worker_init_fn=worker_init, drop_last=True, persistent_workers=False)
    it = iter(loader)
    for _ in range(a.warmup):
        next(it)
    start = time.time()
    n = 0
    for _ in range(a.batches):
        batch = next(it)
        n += batch.shape[0]
    elapsed = time.time() - start
    del it  # joins the workers, so their peak RSS is counted below
    time.sleep(0.5)
    main_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"python {a.pipeline}: {n / elapsed:.2f} img/s ({n} images in {elapsed:.2f} s, "
          f"{a.workers} workers), peak RSS main {main_rss:.0f} MiB, largest worker {child_rss:.0f} MiB")


if __name__ == "__main__":
    main()
