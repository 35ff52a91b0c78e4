#!/usr/bin/python3
"""Python reference of MammoVL's DICOM -> PNG presets (pydicom + OpenCV).

A re-implementation, written for MammoVL, of the recipes described in
shared/reference/mammoclip.md section 4.2 (Mammo-CLIP) and mama.md section
7.1 (MaMA); it is the independent side of preprocess_main's parity tests and
benchmarks. Pixels are decoded by pydicom's own handlers (numpy for native
data; GDCM through python3-gdcm for JPEG 2000, as pydicom chooses).

Mammo-CLIP, per image:
  x = pixel values as float32 (with Rescale Slope/Intercept when present,
      like dicomsdl's pixelData())
  x = x[5:-5, 5:-5];  if MONOCHROME1: x = max(x) - x
  x = x - min(x);  x = x / max(x);  x = (x * 255).astype(uint8)
  crop = ExtractBreast(x)  (threshold 40, central 80 % bands, longest runs)
  cv2.resize(crop, (912, 1520), INTER_AREA);  cv2.imwrite(png)
MaMA:
  y = cv2.convertScaleAbs(x, alpha=255/max(x));  if MONOCHROME1: y = 255 - y
  resize so the long side is 1024 (short = floor(short*1024/long)), INTER_AREA

Usage as a benchmark:
  preprocess_reference.py --preset=mammoclip --output_dir=OUT [--processes=N] FILE...
prints per-stage seconds and images/s as JSON on the last line.
"""
import argparse
import json
import multiprocessing
import os
import sys
import time

import cv2
import numpy as np
import pydicom

cv2.setNumThreads(1)


def count_up_continuing_ones(b_arr):
    left = np.arange(len(b_arr))
    left[b_arr > 0] = 0
    left = np.maximum.accumulate(left)
    rev_arr = b_arr[::-1]
    right = np.arange(len(rev_arr))
    right[rev_arr > 0] = 0
    right = np.maximum.accumulate(right)
    right = len(rev_arr) - 1 - right[::-1]
    return right - left - 1


def extract_breast_indices(img, threshold=40, band=0.4):
    """Returns (row_ind, col_ind) kept by Mammo-CLIP's ExtractBreast."""
    img = np.where(img <= threshold, 0, img)
    height, _ = img.shape
    y_a = height // 2 + int(height * band)
    y_b = height // 2 - int(height * band)
    with np.errstate(invalid="ignore", divide="ignore"):
        b_arr = img[y_b:y_a].std(axis=0) != 0
    ones = count_up_continuing_ones(b_arr)
    col_ind = np.where(ones == ones.max())[0]
    img = img[:, col_ind]
    _, width = img.shape
    x_a = width // 2 + int(width * band)
    x_b = width // 2 - int(width * band)
    with np.errstate(invalid="ignore", divide="ignore"):
        b_arr = img[:, x_b:x_a].std(axis=1) != 0
    ones = count_up_continuing_ones(b_arr)
    row_ind = np.where(ones == ones.max())[0]
    return row_ind, col_ind


def to_float32(ds, arr):
    """dicomsdl's pixelData(): float32, rescaled when slope/intercept exist."""
    if "RescaleSlope" in ds and "RescaleIntercept" in ds:
        slope, intercept = float(ds.RescaleSlope), float(ds.RescaleIntercept)
        if slope != 1.0 or intercept != 0.0:
            return (arr.astype(np.float64) * slope + intercept).astype(np.float32)
    return arr.astype(np.float32)


def mammoclip_normalize(x, monochrome1):
    """Mammo-CLIP's trim + inversion + min-max to uint8 on float32 values."""
    x = x[5:-5, 5:-5]
    if monochrome1:
        x = np.amax(x) - x
    x = x - np.min(x)
    with np.errstate(invalid="ignore", divide="ignore"):
        x = x / np.max(x)
        x = np.nan_to_num(x, nan=0.0)
    return (x * 255).astype(np.uint8)


def mama_normalize(arr, monochrome1):
    y = cv2.convertScaleAbs(arr, alpha=255 / np.max(arr))
    if monochrome1:
        y = 255 - y
    return y


def long_side_size(h, w, long_side):
    if w >= h:
        return long_side, max(1, h * long_side // w)
    return max(1, w * long_side // h), long_side


def process(path, preset, out_path=None, width=912, height=1520, long_side=1024, timings=None):
    """Runs one preset on one file; returns (png_bytes, info dict)."""
    t = [time.perf_counter()]
    ds = pydicom.dcmread(path)
    arr = ds.pixel_array
    if arr.ndim == 3:
        arr = arr[0]
    t.append(time.perf_counter())  # read + decode
    mono1 = str(ds.PhotometricInterpretation) == "MONOCHROME1"
    info = {"rows": int(arr.shape[0]), "cols": int(arr.shape[1])}
    if preset == "mammoclip":
        img = mammoclip_normalize(to_float32(ds, arr), mono1)
        t.append(time.perf_counter())  # intensity
        rows, cols = extract_breast_indices(img)
        crop = img[rows][:, cols]
        info.update(crop_x=int(cols[0]), crop_y=int(rows[0]), crop_w=len(cols), crop_h=len(rows))
        t.append(time.perf_counter())  # crop
        out = cv2.resize(crop, (width, height), interpolation=cv2.INTER_AREA)
    else:
        img = mama_normalize(arr, mono1)
        t.append(time.perf_counter())
        t.append(time.perf_counter())
        w, h = long_side_size(img.shape[0], img.shape[1], long_side)
        out = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)
    t.append(time.perf_counter())  # resize
    ok, png = cv2.imencode(".png", out)
    assert ok
    png = png.tobytes()
    t.append(time.perf_counter())  # encode
    if out_path:
        with open(out_path, "wb") as f:
            f.write(png)
    t.append(time.perf_counter())  # write
    if timings is not None:
        for name, a, b in zip(["decode", "intensity", "crop", "resize", "encode", "write"], t, t[1:]):
            timings[name] = timings.get(name, 0.0) + (b - a)
    return png, info


def _worker(args):
    path, preset, out_dir = args
    timings = {}
    out_path = os.path.join(out_dir, os.path.splitext(os.path.basename(path))[0] + ".png")
    process(path, preset, out_path, timings=timings)
    return timings


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--preset", default="mammoclip", choices=["mammoclip", "mama"])
    parser.add_argument("--output_dir", required=True)
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()
    os.makedirs(args.output_dir, exist_ok=True)
    jobs = [(f, args.preset, args.output_dir) for _ in range(args.repeat) for f in args.files]
    totals = {}
    start = time.perf_counter()
    if args.processes > 1:
        with multiprocessing.Pool(args.processes) as pool:
            results = pool.map(_worker, jobs, chunksize=1)
    else:
        results = [_worker(j) for j in jobs]
    wall = time.perf_counter() - start
    for r in results:
        for k, v in r.items():
            totals[k] = totals.get(k, 0.0) + v
    n = len(jobs)
    print(json.dumps({"images": n, "wall_s": wall, "images_per_s": n / wall,
                      "stage_s_per_image": {k: v / n for k, v in totals.items()}}))


if __name__ == "__main__":
    sys.exit(main())
