#!/usr/bin/env bash
# Fuzzes each target for SECONDS (default 60; CI runs `fuzz/run.sh 30`),
# seeded with the project's fixtures and the public dumps
# (fixtures/public), and copies anything it finds into
# fuzz/regressions/TARGET/ (replayed by `cargo test -p parser-wasm`:
# parser-wasm/src/check/regressions.rs, which counts each folder's inputs,
# so a new one must be added there too). Exits non-zero if a target found
# a crash.
#   fuzz/run.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true
targets=("$@")
[ "${#targets[@]}" -gt 0 ] || targets=(parse render chunks nft ipset)

command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
# cargo-fuzz needs nightly flags; the machine image has a nightly toolchain,
# and stable accepts the flags with RUSTC_BOOTSTRAP where it does not.
if rustup run nightly rustc --version >/dev/null 2>&1; then
  fuzz=(cargo +nightly fuzz)
else
  export RUSTC_BOOTSTRAP=1
  fuzz=(cargo fuzz)
fi

"${fuzz[@]}" build --release 2>&1 | tail -n 3

status=0
for target in "${targets[@]}"; do
  corpus="fuzz/corpus/$target"
  mkdir -p "$corpus" "fuzz/artifacts/$target" "fuzz/regressions/$target"
  if [ "$target" = nft ]; then
    cp fixtures/nftables/*.json fixtures/nftables/*.txt fixtures/nftables/drift/*.json "$corpus/"
  elif [ "$target" = ipset ]; then
    for listing in fixtures/ipset/*.txt fixtures/ipset/*.members/*.txt; do
      cp "$listing" "$corpus/$(echo "$listing" | tr / _)"
    done
  else
    cp fixtures/*.rules fixtures/bad/*.rules fixtures/public/*/*.save "$corpus/"
  fi
  cp "fuzz/regressions/$target/"* "$corpus/" 2>/dev/null || true
  echo "fuzzing $target for ${seconds}s"
  if ! "${fuzz[@]}" run --release "$target" "$corpus" -- \
      -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="fuzz/artifacts/$target/" 2>&1 | tail -n 12; then
    status=1
  fi
  for found in "fuzz/artifacts/$target/"*; do
    [ -e "$found" ] || continue
    echo "found: $found (kept in fuzz/regressions/$target/)"
    cp "$found" "fuzz/regressions/$target/"
    status=1
  done
done
exit "$status"
