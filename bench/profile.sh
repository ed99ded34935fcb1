#!/usr/bin/env bash
# Profiles agent9 with daemon, client and baselines pinned to one core: `bash bench/pinned.sh`
# with PROFILE=only (no table rows). Writes bench/results/profile-<load>.txt and prints the
# per-operation table. Knobs as pinned.sh's: PROF_SECS [5], PROF_LOADS ["stat read get_c2
# get_c64"], PERF_FREQ [2000], PIN_CPU [0], AGENT9_BIN, BUILD_DIR, OUT_DIR, KEEP_TMP.
# See bench/README.md, "Pinned, one core".
set -euo pipefail
PROFILE=only exec bash "$(dirname "${BASH_SOURCE[0]}")/pinned.sh" "$@"
