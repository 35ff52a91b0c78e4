#!/usr/bin/python3
"""Writes full-size synthetic mammograms for the preprocessing benchmark.

  make_bench_inputs.py OUT_DIR [--count=N]

Writes OUT_DIR/{raw,j2k}_{3328x2560,4096x3328}/img{k}.dcm: 16-bit words with
12 bits stored, MONOCHROME2, a breast-shaped region of smooth texture plus
sensor-like noise on a dark background (half of them right-sided, one in
four MONOCHROME1), uncompressed (explicit VR little endian) and JPEG 2000
lossless (compressed by python3-gdcm). Nothing is written to the repository.
"""
import argparse
import os

import sys

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
from dicom_compress import gdcm_compress  # noqa: E402

UID = "1.2.826.0.1.3680043.10.1157.8."


def image(h, w, k):
    rng = np.random.default_rng(k)
    yy, xx = np.ogrid[0:h, 0:w]
    right = k % 2 == 1
    cx = w - 1 if right else 0
    r = ((xx - cx) / (w * 0.62)) ** 2 + ((yy - h * 0.5) / (h * 0.44)) ** 2
    tissue = 1800 + 900 * (1 - r) + 250 * np.sin(xx / 41.0 + k) * np.cos(yy / 57.0)
    img = np.where(r < 1, tissue, 60.0)
    img = img + rng.normal(0, 12, (h, w))
    img[40:160, (w - 300 if not right else 100):(w - 100 if not right else 300)] = 4000  # a label
    return np.clip(np.round(img), 0, 4095).astype(np.uint16)


def write(path, arr, k, mono1):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.1.2"
    meta.MediaStorageSOPInstanceUID = UID + "1%05d%d" % (k, arr.shape[0])
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.preamble = b"\0" * 128
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = UID + "2%05d" % k
    ds.Modality = "MG"
    # Fixed, or GDCM fills in the current time when it compresses.
    ds.StudyDate = "20240102"
    ds.StudyTime = "120000"
    ds.PatientID = "BENCH%05d" % k
    ds.ImageLaterality = "R" if k % 2 else "L"
    ds.ViewPosition = "CC"
    ds.Rows, ds.Columns = arr.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME1" if mono1 else "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.PixelData = (4095 - arr if mono1 else arr).astype("<u2").tobytes()
    ds.is_little_endian, ds.is_implicit_VR = True, False
    ds.save_as(path, write_like_original=False)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--count", type=int, default=8)
    p.add_argument("--j2k_count", type=int, default=4)
    args = p.parse_args()
    for h, w in [(3328, 2560), (4096, 3328)]:
        raw_dir = os.path.join(args.out, "raw_%dx%d" % (h, w))
        j2k_dir = os.path.join(args.out, "j2k_%dx%d" % (h, w))
        os.makedirs(raw_dir, exist_ok=True)
        os.makedirs(j2k_dir, exist_ok=True)
        for k in range(args.count):
            path = os.path.join(raw_dir, "img%d.dcm" % k)
            write(path, image(h, w, k), k, mono1=(k % 4 == 3))
            if k < args.j2k_count:
                gdcm_compress(path, os.path.join(j2k_dir, "img%d.dcm" % k), "j2k_lossless")
    print("wrote benchmark inputs to", args.out)


if __name__ == "__main__":
    main()
