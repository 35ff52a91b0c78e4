#!/usr/bin/env bash
# The main job on the embedded synthetic default. Stages are added here as the
# libraries they need land; see README.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
cache="${MAMMOVL_DISK_CACHE:-$HOME/.cache/mammovl/bazel-disk}"
mkdir -p "$cache"
echo "demo: building and running the core smoke program"
(cd examples/consumer && bazel run //:consumer_main --disk_cache="$cache")
