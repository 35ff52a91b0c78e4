#!/usr/bin/env bash
# MammoVL quick start on a fresh Debian 12 machine (as root, or with sudo):
#   ./quickstart.sh demo   installs dependencies, builds, runs the main job
#   ./quickstart.sh test   installs dependencies, runs the whole test suite
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

usage() {
  echo "usage: $0 demo|test" >&2
  exit 2
}
[ $# -eq 1 ] || usage

tools/setup/install_deps.sh
case "$1" in
  demo) exec tools/demo/run_demo.sh ;;
  test) exec tools/setup/run_tests.sh ;;
  *) usage ;;
esac
