#!/usr/bin/python3
"""Checks a synthetic corpus with independent Python tools (Debian's pydicom,
NumPy, OpenCV): every DICOM decodes with pydicom, carries the mammography tags
that tables/synth/images.csv promises, and the PNG release equals a NumPy
re-implementation of the Mammo-CLIP recipe (mammoclip.md 4.2) on the decoded
pixels, byte for byte. Prints a summary; exits 1 on the first mismatch.

With --log=FILE, also checks that no patient name, patient id or birth date
from the DICOM files appears in that log, in any table, or in any path.

Usage: check_corpus.py CORPUS_DIR [--log=FILE]
"""
import csv
import os
import sys

import cv2
import numpy as np
import pydicom


def count_up_continuing_ones(b):
    # The Kaggle notebook's np_CountUpContinuingOnes, as Mammo-CLIP uses it.
    left = np.arange(len(b))
    left[b > 0] = 0
    left = np.maximum.accumulate(left)
    rev = b[::-1]
    right = np.arange(len(rev))
    right[rev > 0] = 0
    right = np.maximum.accumulate(right)
    right = len(rev) - 1 - right[::-1]
    return right - left - 1


def mammoclip_png(stored, monochrome1, out_w, out_h):
    # The DICOM reader of the reference returns float32 pixels.
    x = stored[5:-5, 5:-5].astype(np.float32)
    if monochrome1:
        x = x.max() - x
    d = x - x.min()
    img = ((d / d.max()) * np.float32(255)).astype(np.uint8)
    thr = img.copy()
    thr[thr <= 40] = 0
    h, w = thr.shape
    band = thr[h // 2 - int(0.4 * h):h // 2 + int(0.4 * h), :]
    runs = count_up_continuing_ones(band.std(axis=0) != 0)
    cols = np.where(runs == runs.max())[0]
    thr_c = thr[:, cols]
    wc = thr_c.shape[1]
    band = thr_c[:, wc // 2 - int(0.4 * wc):wc // 2 + int(0.4 * wc)]
    runs = count_up_continuing_ones(band.std(axis=1) != 0)
    rows = np.where(runs == runs.max())[0]
    crop = img[rows][:, cols]
    return cv2.resize(crop, (out_w, out_h), interpolation=cv2.INTER_AREA)


def check_no_identifiers(root, identifiers, log_path):
    texts = []
    if log_path:
        with open(log_path, errors="replace") as f:
            texts.append(("log", f.read()))
    for dirpath, _, files in os.walk(root):
        for name in files:
            texts.append(("path", os.path.join(dirpath, name)))
            if name.endswith(".csv") or name.endswith(".pbtxt"):
                with open(os.path.join(dirpath, name), errors="replace") as f:
                    texts.append((name, f.read()))
    for ident in sorted(identifiers):
        for where, text in texts:
            if ident in text:
                print(f"FAIL: patient identifier {ident!r} found in {where}")
                return False
    return True


def main():
    root = sys.argv[1]
    log_path = None
    for arg in sys.argv[2:]:
        if arg.startswith("--log="):
            log_path = arg[len("--log="):]
    identifiers = set()
    with open(os.path.join(root, "tables", "synth", "images.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    syntaxes = {}
    png_checked = 0
    for r in rows:
        path = os.path.join(root, "dicom", r["dicom_path"])
        ds = pydicom.dcmread(path)
        pixels = ds.pixel_array
        identifiers.update({str(ds.PatientName), str(ds.PatientID), str(ds.PatientBirthDate),
                            str(ds.PatientName).split("^")[0]})
        ts = ds.file_meta.TransferSyntaxUID.name
        syntaxes[ts] = syntaxes.get(ts, 0) + 1
        expect = {
            "Modality": "MG",
            "ImageLaterality": r["laterality"],
            "ViewPosition": r["view"],
            "PhotometricInterpretation": r["photometric"],
        }
        for tag, value in expect.items():
            if str(getattr(ds, tag)) != value:
                print(f"FAIL {path}: {tag} is {getattr(ds, tag)!r}, expected {value!r}")
                return 1
        if int(ds.BitsStored) != int(r["bits_stored"]) or pixels.shape != (int(r["rows"]), int(r["columns"])):
            print(f"FAIL {path}: bits/shape {ds.BitsStored} {pixels.shape} vs {r}")
            return 1
        if pixels.max() >= (1 << int(ds.BitsStored)):
            print(f"FAIL {path}: value {pixels.max()} exceeds BitsStored")
            return 1
        png_path = os.path.join(root, "png", r["png_path"])
        if os.path.exists(png_path):
            png = cv2.imread(png_path, cv2.IMREAD_UNCHANGED)
            ref = mammoclip_png(pixels, r["photometric"] == "MONOCHROME1", png.shape[1], png.shape[0])
            if png.shape != ref.shape or not np.array_equal(png, ref):
                diff = np.abs(png.astype(int) - ref.astype(int))
                print(f"FAIL {png_path}: differs from the NumPy recipe (max diff {diff.max()}, "
                      f"{(diff > 0).sum()} pixels)")
                return 1
            png_checked += 1
    if not check_no_identifiers(root, identifiers, log_path):
        return 1
    print(f"OK: {len(rows)} DICOM files decoded by pydicom {pydicom.__version__} "
          f"({', '.join(f'{k}: {v}' for k, v in sorted(syntaxes.items()))}); "
          f"{png_checked} PNGs equal the NumPy recipe; {len(identifiers)} patient identifiers "
          f"absent from {'the log, ' if log_path else ''}tables and paths")
    return 0


if __name__ == "__main__":
    sys.exit(main())
