#!/usr/bin/env bash
# `npm run demo`: installs what it needs, builds the .deb, brings up the two-node lab, installs the
# package on both nodes and shows what pgduplex can do so far. PGDX_LAB_KEEP=1 leaves the lab running.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
  echo "pgduplex demo: the lab boots containers and creates network namespaces; run it as root" >&2
  exit 1
fi
[ -f node_modules/.package-lock.json ] || npm ci --no-audit --no-fund
bash scripts/host-deps.sh
npm run --silent package
exec npx tsx scripts/demo.ts
