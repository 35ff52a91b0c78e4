"""Checks an exported embedding matrix with NumPy and the csv module.

Usage: embedding_export_check.py DIR NAME ROWS COLS FIRST_VALUE
Exits non-zero (with a message) when numpy.load or the index disagree.
"""
import csv
import sys

import numpy as np


def main():
    folder, name, rows, cols, first = sys.argv[1:6]
    x = np.load(f"{folder}/{name}.npy")
    assert x.dtype == np.float32, x.dtype
    assert x.shape == (int(rows), int(cols)), x.shape
    assert abs(float(x[0, 0]) - float(first)) < 1e-6, (x[0, 0], first)
    with open(f"{folder}/{name}_index.csv", newline="") as f:
        index = list(csv.DictReader(f))
    assert len(index) == x.shape[0], len(index)
    assert [int(r["row"]) for r in index] == list(range(x.shape[0]))
    print("ok", x.shape)


if __name__ == "__main__":
    main()
