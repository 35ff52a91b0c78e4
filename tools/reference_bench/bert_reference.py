#!/usr/bin/python3
"""Times the reference BERT-base (the architecture of
tools/fixtures/make_text_model_fixtures.py, i.e. Hugging Face's BertModel
with eager attention) on the inputs of //text/bert:bert_benchmark: a
16 × 256 batch, all tokens real, and with report-like lengths (40–120 tokens)
padded to 256. Two threads, inference mode, one warm-up and two timed
forwards. Prints "<case> <milliseconds>" per line."""
import importlib.util
import os
import time

import torch

spec = importlib.util.spec_from_file_location(
    "fixtures", os.path.join(os.path.dirname(__file__), "../fixtures/make_text_model_fixtures.py"))
fixtures = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fixtures)


def main():
    torch.set_num_threads(2)
    torch.manual_seed(0)
    c = dict(vocab_size=28996, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
             intermediate_size=3072, max_position_embeddings=512, type_vocab_size=2,
             layer_norm_eps=1e-12)
    model = fixtures.Bert(c).eval()
    ids = torch.randint(1000, 28996, (16, 256))
    cases = {"BM_BertBaseForward16x256": torch.ones(16, 256, dtype=torch.long)}
    mask = torch.ones(16, 256, dtype=torch.long)
    for r in range(16):
        mask[r, 40 + (r * 37) % 81:] = 0
    cases["BM_BertBaseForwardReports"] = mask
    with torch.inference_mode():
        for name, m in cases.items():
            model(ids, m)
            start = time.perf_counter()
            for _ in range(2):
                model(ids, m)
            print(name, f"{(time.perf_counter() - start) / 2 * 1000:.1f}")


if __name__ == "__main__":
    main()
