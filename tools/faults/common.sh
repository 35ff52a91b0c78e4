# Shared by the fault-injection scripts: sourced from the runfiles root
# (binaries at tools/..., train/..., configs/...) after `set -euo pipefail`
# with NAME set. Makes a fresh $TMP and defines fail(), make_tiny_corpus and
# pretrain_args (the small pretraining run the scripts use: demo_mama on the
# TINY corpus, single thread, fixed seed).
TMP="${TEST_TMPDIR:-$(mktemp -d)}/$NAME"
rm -rf "$TMP"
mkdir -p "$TMP"

fail() {
  echo "FAIL ($NAME): $*" >&2
  exit 1
}

# TINY synthetic corpus (8 patients, 32 images of 256x152, DICOM + PNG) in $1.
make_tiny_corpus() {
  tools/synth_main --out_dir="$1" --set='preset: TINY' 2> "$TMP/synth.log" ||
    fail "synth_main failed: $(tail -3 "$TMP/synth.log")"
}

# Sets PRETRAIN=(pretrain_main --resume on corpus $1 ...); callers add --set overrides.
pretrain_args() {
  local e="$1/tables/embed"
  PRETRAIN=(train/pretrain_main --config=configs/demo_mama.pbtxt --resume
    --set="data.dataset.image_root: \"$1/png\""
    --set="data.dataset.embed.metadata_csv: \"$e/EMBED_OpenData_metadata.csv\""
    --set="data.dataset.embed.clinical_csv: \"$e/EMBED_OpenData_clinical.csv\""
    --set="data.dataset.embed.legend_csv: \"$e/AWS_Open_Data_Clinical_Legend.csv\""
    --set='data { loader { batch_size: 4 num_workers: 1 } }'
    --set='train { num_threads: 1 logging { tensorboard: false } }'
    --set='train.schedule: { warmup_cosine { warmup_steps: 2 min_lr: 1e-4 } }')
}
