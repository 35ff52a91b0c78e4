#!/usr/bin/python3
"""Python PyTorch timings of the cases of //losses:losses_benchmark.

Each loss is written the way the reference repositories compute it (Mammo-CLIP
breast_clip loss, MaMA's per-caption SLA loop, MGCA's bmm + per-sample
quantile loop + multiplicative Sinkhorn, torchvision-style focal), forward +
backward, $MVL_BENCH_THREADS threads (default 2). Prints "<case> <wall ms> <process CPU ms>" per line
(medians of the runs after two warm-up runs). Run from the repository root:
  /usr/bin/python3 tools/reference_bench/losses_reference.py
"""
import math
import os
import statistics
import time

import torch
import torch.nn.functional as F

torch.set_num_threads(int(os.environ.get("MVL_BENCH_THREADS", "2")))
torch.manual_seed(0)


def leaf(*shape):
    return torch.randn(*shape, requires_grad=True)


def logit_scale():
    return torch.tensor(math.log(1 / 0.07), requires_grad=True)


def ce(x, y, s):
    logits = s * x @ y.t()
    return F.cross_entropy(logits, torch.arange(x.shape[0]))


def clip_case():
    img, txt, ls = leaf(64, 512), leaf(64, 512), logit_scale()

    def run():
        v, t = F.normalize(img, dim=-1), F.normalize(txt, dim=-1)
        s = ls.exp()
        loss = 0.5 * ce(v, t, s) + 0.5 * ce(t, v, s)
        loss.backward()
    return run, [img, txt, ls]


def mammo_clip_case():
    x = [leaf(16, 512) for _ in range(4)]
    ls = logit_scale()

    def run():
        i1, i2, t1, t2 = [F.normalize(a, dim=-1) for a in x]
        s = ls.exp()
        i2t = (ce(i1, t1, s) + ce(i2, t1, s) + ce(i1, t2, s) + ce(i2, t2, s)) / 4
        t2i = (ce(t1, i1, s) + ce(t1, i2, s) + ce(t2, i1, s) + ce(t2, i2, s)) / 4
        i2i = (ce(i1, i2, s) + ce(i2, i1, s)) / 2
        t2t = (ce(t2, t1, s) + ce(t1, t2, s)) / 2
        ((i2t + t2i) / 2 + i2i + 0.5 * t2t).backward()
    return run, x + [ls]


def ntxent_case():
    a, b = leaf(36, 512), leaf(36, 512)

    def run():
        z0, z1 = F.normalize(a, dim=1), F.normalize(b, dim=1)
        n = z0.shape[0]
        diag = torch.eye(n, dtype=torch.bool)
        l00 = (z0 @ z0.t() / 0.5)[~diag].view(n, -1)
        l01 = z0 @ z1.t() / 0.5
        l10 = z1 @ z0.t() / 0.5
        l11 = (z1 @ z1.t() / 0.5)[~diag].view(n, -1)
        logits = torch.cat([torch.cat([l01, l00], 1), torch.cat([l10, l11], 1)], 0)
        F.cross_entropy(logits, torch.arange(n).repeat(2)).backward()
    return run, [a, b]


def sla_case():
    patches, sents, ls = leaf(16, 1369, 512), leaf(16, 12, 512), logit_scale()
    counts = [6 + (i % 7) for i in range(16)]

    def run():
        p = F.normalize(patches, dim=-1)
        t2i_rows, i2t_rows = [], []
        for i, n in enumerate(counts):  # ragged captions, one at a time
            e = F.normalize(sents[i, :n], dim=-1)
            a = torch.einsum("jpc,sc->jps", p, e)
            t2i_rows.append(a.max(dim=1).values.mean(dim=-1))
            i2t_rows.append(a.max(dim=2).values.mean(dim=-1))
        t2i, i2t = torch.stack(t2i_rows), torch.stack(i2t_rows)
        s = ls.exp()
        y = torch.arange(16)
        loss = (F.cross_entropy(s * t2i, y) + F.cross_entropy(s * t2i.t(), y) +
                F.cross_entropy(s * i2t, y) + F.cross_entropy(s * i2t.t(), y))
        loss.backward()
    return run, [patches, sents, ls]


def sinkhorn(q, iters):
    with torch.no_grad():
        q = q / q.sum()
        k, b = q.shape
        r, c = torch.ones(k) / k, torch.ones(b) / b
        for _ in range(iters):
            q *= (r / q.sum(dim=1)).unsqueeze(1)
            q *= (c / q.sum(dim=0)).unsqueeze(0)
        return (q / q.sum(dim=0, keepdim=True)).t()


def mgca_case():
    b, npatch, nw, d = 72, 361, 111, 128
    img, txt = leaf(b, d), leaf(b, d)
    patches, words = leaf(b, npatch, d), leaf(b, nw, d)
    protos = F.normalize(torch.randn(500, d), dim=1).requires_grad_()
    nwords = torch.arange(b) % 60 + 20
    pad = torch.arange(nw).unsqueeze(0) >= nwords.unsqueeze(1)
    importance = torch.rand(b, nw).masked_fill(pad, 0)

    def two_way(sim, w):
        n = sim.shape[1]
        t = torch.arange(n).repeat(b)
        l1 = (F.cross_entropy(sim.reshape(b * n, n), t, reduction="none") * w.view(-1)).sum() / b
        l2 = (F.cross_entropy(sim.transpose(1, 2).reshape(b * n, n), t, reduction="none") *
              w.view(-1)).sum() / b
        return (l1 + l2) / 2

    def run():
        v, t = F.normalize(img, dim=-1), F.normalize(txt, dim=-1)
        p, w = F.normalize(patches, dim=-1), F.normalize(words, dim=-1)
        sim = v @ t.t() / 0.07
        y = torch.arange(b)
        ita = F.cross_entropy(sim, y) + F.cross_entropy(sim.t(), y)
        attn = F.softmax(torch.bmm(w, p.transpose(1, 2)) / 0.1, dim=-1)
        ctx = F.normalize(torch.bmm(attn, p), dim=-1)
        word_sim = torch.bmm(w, ctx.transpose(1, 2)) / 0.1
        with torch.no_grad():
            ws = []
            for i in range(b):
                a = importance[i].clone()
                nz = a.nonzero().squeeze()
                a[nz] = a[nz].clip(torch.quantile(a[nz], 0.1), torch.quantile(a[nz], 0.9))
                ws.append(a)
            ww = torch.stack(ws)
            ww = ww / ww.sum(dim=1, keepdim=True)
        l_word = two_way(word_sim, ww)
        s2 = torch.bmm(p, w.transpose(1, 2)).masked_fill(pad.unsqueeze(1), float("-inf"))
        ctx_p = F.normalize(torch.bmm(F.softmax(s2 / 0.1, dim=-1), w), dim=-1)
        patch_sim = torch.bmm(p, ctx_p.transpose(1, 2)) / 0.1
        l_patch = two_way(patch_sim, torch.full((b, npatch), 1.0 / npatch))
        zv, zt = v @ protos.t(), t @ protos.t()
        qv = sinkhorn(torch.exp(zv.detach() / 0.05).t(), 3)
        qt = sinkhorn(torch.exp(zt.detach() / 0.05).t(), 3)
        cpa = -0.5 * ((qv * F.log_softmax(zt / 0.2, 1)).sum(1).mean() +
                      (qt * F.log_softmax(zv / 0.2, 1)).sum(1).mean())
        (ita + l_word + l_patch + cpa).backward()
    return run, [img, txt, patches, words, protos]


def focal_case():
    x = leaf(49104, 1)
    y = (torch.rand(49104, 1) < 0.001).float()

    def run():
        p = torch.sigmoid(x).clamp(1e-4, 1 - 1e-4)
        bce = -(y * torch.log(p) + (1 - y) * torch.log(1 - p))
        fw = torch.where(y == 1, 1 - p, p)
        af = torch.where(y == 1, torch.full_like(y, 0.25), torch.full_like(y, 0.75))
        loss = (af * fw.pow(2) * bce).sum() / max(1.0, float((y == 1).any(-1).sum()))
        loss.backward()
    return run, [x]


CASES = [
    ("BM_clip_b64_d512", clip_case),
    ("BM_mammo_clip_b16_d512", mammo_clip_case),
    ("BM_ntxent_b36_d512", ntxent_case),
    ("BM_sla_b16_p1369_s12_c512", sla_case),
    ("BM_mgca_b72", mgca_case),
    ("BM_focal_anchors49104", focal_case),
]


def main():
    for name, make in CASES:
        run, leaves = make()
        wall, cpu = [], []
        start = time.perf_counter()
        while len(wall) < 5 or (time.perf_counter() - start < 1.0 and len(wall) < 2000):
            t0, c0 = time.perf_counter(), time.process_time()
            run()
            wall.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
            for leaf_tensor in leaves:
                leaf_tensor.grad = None
        print(name, "%.4f %.4f" % (1e3 * statistics.median(wall[2:]),
                                   1e3 * statistics.median(cpu[2:])))


if __name__ == "__main__":
    main()
