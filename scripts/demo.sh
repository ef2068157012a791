#!/usr/bin/env bash
# One command from a fresh clone to a running Alpine container (as root):
#   installs Bun from npm when missing, the dependencies, builds dist/bunc, unpacks the
#   Alpine minirootfs into a bundle and runs a command in it (default: a greeting).
#   Usage: bash scripts/demo.sh [command args...]
set -euo pipefail
cd "$(dirname "$0")/.."
command -v bun >/dev/null || npm install -g bun@1.4.5
bun install --frozen-lockfile >/dev/null
bun scripts/build.ts >/dev/null
tarball=$(bun -e 'import { alpineTarball } from "./scripts/alpine-tarball"; console.log(alpineTarball())' 2>/dev/null || bun scripts/fetch-alpine.ts)
work=$(mktemp -d /tmp/bunc-demo-XXXXXX)
trap 'rm -rf "$work"' EXIT
[ $# -gt 0 ] || set -- sh -c 'echo "hello from Alpine $(cat /etc/alpine-release): PID $$, hostname $(hostname), user $(id -un)"'
./dist/bunc bundle "$tarball" "$work/bundle" -- "$@"
./dist/bunc --root "$work/state" run --bundle "$work/bundle" "demo-$$"
