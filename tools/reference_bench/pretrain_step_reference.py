#!/usr/bin/python3
"""Python reference timing of one pretraining step (Debian python3-torch).

The same step MammoVL's //train:pretrain_step_benchmark runs, built from the
reference layouts used by the parity fixtures (tools/fixtures/
vision_reference_models.py, make_text_model_fixtures.py, make_loss_fixtures.py):

  mammoclip_b5  EfficientNet-B5 on two views [B, 3, H, W] + BERT-base on two
                texts of 256 tokens, Linear heads to 512, the multi-view loss,
                backward, AdamW over every parameter.
  mama          DINOv2 ViT-B/14-reg4 on the image and its partner at S×S,
                GPT-2 (width 2560, --gpt2_layers blocks, frozen, LoRA r 8 on
                c_attn) on 144-token captions with 9 sentence separators,
                Linear and local heads, SimCLR head, the full MaMA loss (all
                late terms on), backward, AdamW.

Random weights and inputs; train mode. Prints one JSON line:
  {"recipe": ..., "seconds": [...], "process_cpu_s_per_iter": x, "peak_rss_mib": n}

  /usr/bin/python3 tools/reference_bench/pretrain_step_reference.py --recipe mammoclip_b5
"""
import argparse
import json
import math
import os
import resource
import sys
import time

import torch
from torch import nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fixtures"))
import make_loss_fixtures as losses  # noqa: E402
import make_text_model_fixtures as text  # noqa: E402
import vision_reference_models as vision  # noqa: E402

BERT = {"vocab_size": 28996, "hidden_size": 768, "num_hidden_layers": 12,
        "num_attention_heads": 12, "intermediate_size": 3072,
        "max_position_embeddings": 512, "type_vocab_size": 2, "layer_norm_eps": 1e-12}
GPT2 = {"vocab_size": 28902, "n_positions": 1024, "n_embd": 2560, "n_head": 20,
        "layer_norm_epsilon": 1e-5}
SEP = 28900  # <|separatetext|> on BioMedLM + MaMA's added tokens


class LocalEmbed(nn.Module):
    """MGCA/MaMA local_embed: Conv1d k1 → BN → ReLU → Conv1d k1 → BN(affine=False)."""

    def __init__(self, d_in, hidden, d_out):
        super().__init__()
        self.head = nn.Sequential(nn.Conv1d(d_in, hidden, 1), nn.BatchNorm1d(hidden),
                                  nn.ReLU(inplace=True), nn.Conv1d(hidden, d_out, 1),
                                  nn.BatchNorm1d(d_out, affine=False))

    def forward(self, x):  # [B, N, C]
        return self.head(x.permute(0, 2, 1)).permute(0, 2, 1)


class MammoClip(nn.Module):
    def __init__(self):
        super().__init__()
        self.image = vision.EfficientNet(vision.efficientnet_params("b5"))
        self.image_projection = nn.Linear(2048, 512)
        self.text = text.Bert(BERT)
        self.text_projection = nn.Linear(768, 512)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

    def encode_text(self, ids, mask):
        hidden = self.text(ids, mask)[0]
        eos = hidden[torch.arange(ids.shape[0]), mask.sum(1) - 1]
        return F.normalize(self.text_projection(eos), dim=-1)

    def loss(self, x1, x2, ids1, ids2, mask):
        i1 = F.normalize(self.image_projection(self.image(x1)), dim=-1)
        i2 = F.normalize(self.image_projection(self.image(x2)), dim=-1)
        t1, t2 = self.encode_text(ids1, mask), self.encode_text(ids2, mask)
        return losses.mammo_clip_loss(i1, i2, t1, t2, self.logit_scale, 1.0, 0.5)[0]


class Mama(nn.Module):
    def __init__(self, gpt2_layers):
        super().__init__()
        self.image = vision.DinoVisionTransformer()
        self.global_embed = nn.Linear(768, 512)
        self.local_embed = LocalEmbed(768, 2048, 512)
        self.simclr = nn.Sequential(nn.Linear(768, 768, bias=False), nn.BatchNorm1d(768),
                                    nn.ReLU(), nn.Linear(768, 512, bias=False),
                                    nn.BatchNorm1d(512))
        self.text = text.Gpt2(dict(GPT2, n_layer=gpt2_layers))
        for p in self.text.parameters():
            p.requires_grad_(False)
        for block in self.text.h:
            block.attn["c_attn"].add_lora(8, 32)
        self.text_global = nn.Linear(2560, 512)
        self.text_local = LocalEmbed(2560, 2048, 512)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))
        self.local_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

    def loss(self, x, xp, ids, mask):
        f = self.image.forward_features(x)
        fp = self.image.forward_features(xp)
        pooled, pooled_p = f["x_prenorm"].mean(1), fp["x_prenorm"].mean(1)
        v = F.normalize(self.global_embed(pooled), dim=-1)
        vp = F.normalize(self.global_embed(pooled_p), dim=-1)
        patches = F.normalize(self.local_embed(f["x_norm_patchtokens"]), dim=-1)
        z, zp = self.simclr(pooled_p), self.simclr(pooled)
        hidden = self.text(ids, mask)
        t = F.normalize(self.text_global(hidden.mean(1)), dim=-1)
        counts = (ids == SEP).sum(1).tolist()
        most = max(counts)
        sentences = []
        for i in range(ids.shape[0]):
            e = F.normalize(self.text_local(hidden[i][ids[i] == SEP][None])[0], dim=-1)
            sentences.append(F.pad(e, (0, 0, 0, most - e.shape[0])))
        sentences = torch.stack(sentences)
        return losses.mama_loss(v, vp, t, z, zp, patches, sentences, counts, self.logit_scale,
                                self.local_scale, 8000, 8000, 1.0, 1.0, 1.0, 0.5)[0]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--recipe", choices=["mammoclip_b5", "mama"], required=True)
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--height", type=int, default=1520)
    p.add_argument("--width", type=int, default=912)
    p.add_argument("--size", type=int, default=518)
    p.add_argument("--gpt2_layers", type=int, default=2)
    p.add_argument("--iters", type=int, default=2)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    b = a.batch
    if a.recipe == "mammoclip_b5":
        model = MammoClip()
        x1 = torch.randn(b, 3, a.height, a.width)
        x2 = torch.randn(b, 3, a.height, a.width)
        ids1 = torch.randint(1000, 28000, (b, 256))
        ids2 = torch.randint(1000, 28000, (b, 256))
        mask = torch.ones(b, 256, dtype=torch.long)

        def loss():
            return model.loss(x1, x2, ids1, ids2, mask)
    else:
        model = Mama(a.gpt2_layers)
        x = torch.randn(b, 3, a.size, a.size)
        xp = torch.randn(b, 3, a.size, a.size)
        ids = torch.randint(1000, 28000, (b, 144))
        ids[:, 10:100:10] = SEP  # 9 sentences
        mask = torch.ones(b, 144, dtype=torch.long)

        def loss():
            return model.loss(x, xp, ids, mask)

    model.train()
    opt = torch.optim.AdamW([q for q in model.parameters() if q.requires_grad], lr=1e-5)

    def step():
        opt.zero_grad(set_to_none=True)
        loss().backward()
        opt.step()

    for _ in range(a.warmup):
        step()
    seconds = []
    cpu0 = time.process_time()
    for _ in range(a.iters):
        t0 = time.perf_counter()
        step()
        seconds.append(time.perf_counter() - t0)
    print(json.dumps({
        "impl": "python", "recipe": a.recipe, "batch": b, "threads": a.threads,
        "seconds": [round(s, 3) for s in seconds],
        "process_cpu_s_per_iter": round((time.process_time() - cpu0) / a.iters, 3),
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
    }))


if __name__ == "__main__":
    main()
