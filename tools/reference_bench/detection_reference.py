#!/usr/bin/python3
"""Python timing of the work in detection/detection_benchmark.cc, same inputs.

/usr/bin/python3 tools/reference_bench/detection_reference.py
Prints one line per case: name, milliseconds per call (best of several runs).
The reference implementations are those of the fixture generator
(tools/fixtures/make_detection_fixtures.py): NumPy anchors as
pytorch-retinanet builds them on every forward, torchvision's nms, the
PyTorch loss loop, csv_eval-style VOC AP and a COCOeval-style AP.
"""
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
import make_detection_fixtures as ref  # noqa: E402


def best_ms(fn, repeats):
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best * 1e3


def nms_inputs(n):
    i = np.arange(n, dtype=np.int64)
    cx = (i * 37) % 500 + (i * 13) % 7
    cy = (i * 91) % 500 + (i * 5) % 11
    w = 20.0 + i % 30
    h = 20.0 + (i * 7) % 30
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1).astype(np.float32)
    scores = (((i * 2654435761) % 1000) / 1000.0).astype(np.float32)
    return torch.from_numpy(boxes), torch.from_numpy(scores)


def loss_inputs():
    anchors = torch.from_numpy(ref.image_anchors(512, 512))
    a = anchors.shape[0]
    idx = torch.arange(4 * a).reshape(4, a, 1)
    cls = torch.sigmoid(-4.0 + (idx * 31 % 100).float() / 25.0)
    reg = ((torch.arange(4 * a * 4) * 13 % 100).float() / 100.0 - 0.5).reshape(4, a, 4)
    targets = []
    for i in range(4):
        o = 20.0 * i
        b = torch.tensor([100 + o, 120 + o, 180 + o, 200 + o, 300 - o, 50 + o, 340 - o,
                          110 + o, 30 + o, 400 - o, 90 + o, 470 - o]).reshape(3, 4)
        targets.append((b, torch.zeros(3, dtype=torch.int64)))
    return anchors, cls, reg, targets


def loss_step(anchors, cls0, reg0, targets):
    cls = cls0.clone().requires_grad_(True)
    reg = reg0.clone().requires_grad_(True)
    lc, lr = ref.retinanet_loss(cls, reg, anchors, targets)
    (lc + lr).backward()


def eval_inputs():
    dets, gts = [], []
    for i in range(1000):
        g = []
        for k in range(2):
            x, y = float((i * 53 + k * 211) % 400), float((i * 97 + k * 131) % 400)
            g.append([0, x, y, x + 40, y + 50])
        d = []
        for j in range(20):
            t = g[j % 2]
            dx = float((i * 7 + j * 11) % 41) - 20
            dy = float((i * 3 + j * 17) % 41) - 20
            d.append([0, float(np.float32(((i * 31 + j * 7919) % 1000) / 1000.0)),
                      t[1] + dx, t[2] + dy, t[3] + dx, t[4] + dy])
        dets.append(ref.filter_detections([np.array(d)], -1.0, 0)[0])
        gts.append(np.array(g, dtype=np.float64))
    return dets, gts


def main():
    torch.set_num_threads(2)
    print("BM_Anchors512", best_ms(lambda: ref.image_anchors(512, 512), 10))
    boxes, scores = nms_inputs(5000)
    print("BM_Nms/5000", best_ms(lambda: ref.nms(boxes, scores, 0.5), 10))
    anchors, cls, reg, targets = loss_inputs()
    print("BM_RetinaLossForwardBackward", best_ms(lambda: loss_step(anchors, cls, reg, targets), 5))
    a = anchors.shape[0]
    pidx = torch.arange(a).reshape(a, 1)
    pcls = torch.sigmoid(-6.0 + (pidx * 31 % 100).float() / 20.0)
    preg = ((torch.arange(a * 4) * 13 % 100).float() / 100.0 - 0.5).reshape(a, 4)
    print("BM_Postprocess512", best_ms(lambda: ref.postprocess(pcls, preg, anchors, 512, 512), 5))
    dets, gts = eval_inputs()
    print("BM_VocAp", best_ms(lambda: ref.voc_ap(dets, gts, 0, 0.5), 3))
    print("BM_CocoAp", best_ms(lambda: ref.coco_ap(dets, gts, 0), 1))


if __name__ == "__main__":
    main()
