#!/usr/bin/env bash
# Runs the cargo-fuzz targets in fuzz/ one after another, each for N
# minutes, at the lowest CPU priority, and prints a summary table. Not run
# by CI (it needs nightly Rust and takes hours); see fuzz/README.md.
#
#   scripts/fuzz.sh [-m MINUTES] [-c] [TARGET...]
#
#   -m MINUTES  wall-clock minutes per target (default 10, or $FUZZ_MINUTES)
#   -c          also merge inputs that add coverage into the committed seed
#               corpus fuzz/corpus/<target>/, while it stays under 300 KB
#   TARGET      targets to run (default: all, as `cargo fuzz list` has them)
#
# Environment: CARGO_TARGET_DIR (build directory, default fuzz/target),
# FUZZ_SCRATCH (scratch corpora and logs, default fuzz/scratch),
# FUZZ_SANITIZER (cargo-fuzz -s, default none: the code is safe Rust, and
# without ASan a target runs about twice as many inputs).
#
# Per target: new inputs go to $FUZZ_SCRATCH/<target>/ (the committed corpus
# is read as seeds, never written while fuzzing); afterwards that scratch
# corpus is minimised with `cargo fuzz cmin`. Crashes, timeouts and
# out-of-memory inputs land in fuzz/artifacts/<target>/ (libFuzzer's
# artifact directory under cargo-fuzz); a crash stops that target's run.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

minutes=${FUZZ_MINUTES:-10}
commit=false
while getopts m:c opt; do
  case $opt in
    m) minutes=$OPTARG ;;
    c) commit=true ;;
    *) sed -n '6,11p' "$0" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))

scratch=${FUZZ_SCRATCH:-$PWD/scratch}
sanitizer=${FUZZ_SANITIZER:-none}
fuzz=(nice -n 19 cargo +nightly fuzz)
build_opts=(-s "$sanitizer")
if [ -n "${CARGO_TARGET_DIR:-}" ]; then
  build_opts+=(--target-dir "$CARGO_TARGET_DIR")
fi
# Committed corpora stay small enough to read and to replay in `cargo test`.
corpus_budget=$((300 * 1024))

# Longest input per target: a few lines or one record for the line-based
# formats, more for whole messages and sessions.
max_len() {
  case $1 in
    imap_utf7 | maildir_names) echo 512 ;;
    proxy_header | scram_messages) echo 1024 ;;
    imap_command | pop3_framer | maildir_quota | sasl_server) echo 2048 ;;
    mime_message | auth_wire) echo 16384 ;;
    mime_section) echo 8192 ;;
    *) echo 4096 ;;
  esac
}

count_files() { find "$1" -maxdepth 1 -type f 2>/dev/null | wc -l; }
stat_of() { sed -n "s/^stat::$1: *//p" "$2" | tail -n 1; }

if [ $# -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo +nightly fuzz list)
fi

echo "building the targets (sanitizer: $sanitizer)" >&2
"${fuzz[@]}" build "${build_opts[@]}" >&2

mkdir -p "$scratch"
rows=()
found=0
for t in "${targets[@]}"; do
  len=$(max_len "$t")
  dir=$scratch/$t
  log=$scratch/$t.log
  mkdir -p "$dir" "artifacts/$t"
  crashes_before=$(count_files "artifacts/$t")
  echo "== $t: $minutes min, -max_len=$len, log $log" >&2
  start=$(date +%s)
  status=ok
  "${fuzz[@]}" run "${build_opts[@]}" "$t" "$dir" "corpus/$t" -- \
    -max_total_time=$((minutes * 60)) -max_len="$len" -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1 || status=failed
  ran=$(( ($(date +%s) - start + 30) / 60 ))
  execs=$(stat_of number_of_executed_units "$log")
  added=$(stat_of new_units_added "$log")
  crashes=$(( $(count_files "artifacts/$t") - crashes_before ))
  found=$((found + crashes))
  if [ "$status" = failed ]; then
    tail -n 30 "$log" >&2
  fi
  "${fuzz[@]}" cmin "${build_opts[@]}" "$t" "$dir" -- -max_len="$len" >>"$log" 2>&1 ||
    echo "cmin failed for $t (see $log)" >&2
  kept=$(count_files "$dir")
  committed=-
  if $commit; then
    before=$(count_files "corpus/$t")
    merged=$scratch/$t.merge
    rm -rf "$merged" && cp -r "corpus/$t" "$merged"
    "${fuzz[@]}" run "${build_opts[@]}" "$t" "$merged" "$dir" -- \
      -merge=1 -max_len="$len" >>"$log" 2>&1
    if [ "$(du -sb "$merged" | cut -f1)" -le "$corpus_budget" ]; then
      cp -n "$merged"/* "corpus/$t/"
      committed=$(( $(count_files "corpus/$t") - before ))
    else
      echo "$t: merged corpus over 300 KB, left in $merged" >&2
    fi
    rm -rf "$merged"
  fi
  rows+=("$(printf '%-18s %7s %12s %8s %7s %9s %8s' "$t" "$ran" "${execs:-?}" \
    "${added:-?}" "$kept" "$committed" "$crashes")")
done

printf '\n%-18s %7s %12s %8s %7s %9s %8s\n' target minutes executions new \
  scratch committed crashes
printf '%s\n' "${rows[@]}"
echo "(new: inputs libFuzzer added this run; scratch: $scratch/<target> after cmin;"
echo " committed: added to fuzz/corpus/<target> with -c; crashes: new files in fuzz/artifacts/<target>)"
[ "$found" -eq 0 ]
