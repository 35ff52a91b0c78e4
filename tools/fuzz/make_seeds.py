#!/usr/bin/python3
"""Writes the small seed corpora of the fuzz targets that cannot use a
testdata file as it is (the other targets list their testdata folders):

  core/testdata/fuzz/pickle/          data.pkl of every checkpoint fixture
  text/tokenizer/testdata/fuzz/encode options byte + texts of corpus.jsonl
  text/tokenizer/testdata/fuzz/load   loader byte + cut-down vocabularies
  data/datasets/testdata/fuzz         adapter byte + first rows of each table

Usage (from the workspace root; the tables come from a TINY synthetic corpus):
  bazel build //tools:synth_main
  bazel-bin/tools/synth_main --set='preset: TINY' --set='num_patients: 6' \
      --set='outputs { write_dicom: false }' --out_dir=/tmp/tiny
  /usr/bin/python3 tools/fuzz/make_seeds.py --tables=/tmp/tiny/tables
"""
import argparse
import glob
import json
import os
import shutil
import zipfile

SEPARATOR = b"\n=====\n"


def reset(folder):
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def pickle_seeds():
    out = "core/testdata/fuzz/pickle"
    reset(out)
    for path in sorted(glob.glob("core/testdata/*")):
        if not zipfile.is_zipfile(path):
            continue
        with zipfile.ZipFile(path) as z:
            for name in z.namelist():
                if name.endswith("/data.pkl"):
                    write(os.path.join(out, os.path.basename(path) + ".pkl"), z.read(name))


def tokenizer_seeds():
    src = "text/tokenizer/testdata"
    out = os.path.join(src, "fuzz/encode")
    reset(out)
    with open(os.path.join(src, "corpus.jsonl"), encoding="utf-8") as f:
        texts = [json.loads(line) for line in f if line.strip()][:48]
    for i, text in enumerate(texts):
        # Options byte: cycles through max_length, specials, truncation, padding.
        write(os.path.join(out, "%02d.txt" % i), bytes([(i * 37) & 0x3F]) + text.encode("utf-8"))

    out = os.path.join(src, "fuzz/load")
    reset(out)
    with open(os.path.join(src, "bert_uncased_vocab.txt"), "rb") as f:
        write(os.path.join(out, "wordpiece_vocab.txt"), b"\x00" + b"".join(f.readlines()[:400]))

    with open(os.path.join(src, "gpt2_vocab.json"), encoding="utf-8") as f:
        vocab = json.load(f)
    kept = {t: i for t, i in vocab.items() if i < 400}
    with open(os.path.join(src, "gpt2_merges.txt"), encoding="utf-8") as f:
        lines = f.read().split("\n")
    merges = [lines[0]] + [m for m in lines[1:] if m and all(p in kept for p in m.split(" ")) and
                           m.replace(" ", "") in kept]
    write(os.path.join(out, "bpe_vocab_merges.txt"),
          b"\x01" + json.dumps(kept, ensure_ascii=False).encode("utf-8") + SEPARATOR +
          "\n".join(merges).encode("utf-8") + b"\n")

    for name, limit in (("bert_cased_tokenizer.json", 400), ("gpt2_mama_tokenizer.json", 400)):
        with open(os.path.join(src, name), encoding="utf-8") as f:
            config = json.load(f)
        model = config["model"]
        model["vocab"] = {t: i for t, i in model["vocab"].items() if i < limit}
        if "merges" in model:
            def ok(m):
                parts = m if isinstance(m, list) else m.split(" ")
                return all(p in model["vocab"] for p in parts) and "".join(parts) in model["vocab"]
            model["merges"] = [m for m in model["merges"] if ok(m)]
        # Added tokens keep their ids above the cut vocabulary.
        for j, token in enumerate(config.get("added_tokens", [])):
            if token["content"] not in model["vocab"]:
                token["id"] = limit + j
        write(os.path.join(out, name), b"\x02" + json.dumps(config, ensure_ascii=False).encode("utf-8"))


def csv_seeds(tables):
    out = "data/datasets/testdata/fuzz"
    reset(out)

    def head(relative, rows=8):
        with open(os.path.join(tables, relative), "rb") as f:
            return b"".join(f.readlines()[:rows + 1])

    # Adapter byte as in data/datasets/csv_adapters_fuzzer.cc.
    singles = [
        (0, "mammoclip/clip_pretrain.csv"),
        (1, "vindr/clip_vindr_final.csv"),
        (2, "vindr/finding_annotations.csv"),
        (2, "vindr/vindr_detection_v1_folds.csv"),
        (2 | 16, "vindr/breast-level_annotations.csv"),
        (3, "rsna/train.csv"),
        (3 | 16, "rsna/train_folds.csv"),
        (4, "cbis/mass_case_description_train_set.csv"),
        (4 | 8, "cbis/calc_case_description_train_set.csv"),
        (5, "vindr/vindrmammo_grouped_df.csv"),
    ]
    for selector, relative in singles:
        name = "%02x_%s" % (selector, relative.replace("/", "_"))
        write(os.path.join(out, name), bytes([selector]) + head(relative))
    embed = SEPARATOR.join([head("embed/EMBED_OpenData_metadata.csv", 12),
                            head("embed/EMBED_OpenData_clinical.csv", 12),
                            head("embed/AWS_Open_Data_Clinical_Legend.csv", 40)])
    write(os.path.join(out, "06_embed.csv"), b"\x06" + embed)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tables", required=True, help="tables/ folder of a TINY synthetic corpus")
    args = parser.parse_args()
    pickle_seeds()
    tokenizer_seeds()
    csv_seeds(args.tables)


if __name__ == "__main__":
    main()
