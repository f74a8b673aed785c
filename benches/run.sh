#!/usr/bin/env bash
# Runs every benchmark and writes docs/BENCHMARKS.md.
# Usage: benches/run.sh [N ...]   (ledger sizes; default "1000000 10000000")
# Ledgers are built under target/bench-ledgers/ (10M entries: ~7 GB with the JSONL input);
# set CUSTODY_BENCH_REUSE=1 to keep existing ones (import is then not re-measured).
# Run it on an otherwise idle machine: the figures are ratios to primitives measured in the
# same run, but another process competing for the cores skews both sides differently.
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=${*:-"1000000 10000000"}
git_n=${CUSTODY_GIT_N:-300}
out=docs/BENCHMARKS.md
tmp=$(mktemp)
{
  echo "# custody benchmarks"
  echo
  echo "Written by \`benches/run.sh\` on $(date -u +%Y-%m-%d). Every ratio divides a custody figure by"
  echo "a raw primitive measured in the same run on the same machine."
  echo
  echo "- machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(free -g | awk '/Mem:/{print $2}') GiB"
  echo "- $(rustc --version); ed25519-dalek $(grep -A1 'name = "ed25519-dalek"' Cargo.lock | sed -n 's/version = "\(.*\)"/\1/p'), sha2 $(grep -A1 'name = "sha2"' Cargo.lock | sed -n 's/version = "\(.*\)"/\1/p' | head -1)"
  echo "- build: release profile, no target-cpu flags (sha2 uses SHA-NI by runtime detection)"
  echo
} > "$tmp"
for n in $sizes; do
  echo "## $n entries" >> "$tmp"
  echo >> "$tmp"
  CUSTODY_BENCH_N=$n cargo bench --quiet --bench bench 2>"$tmp.err" | grep -v '^# ' >> "$tmp"
  # The smallest ledger's import and verify rates are compared with git below.
  [ -n "${import_per_s:-}" ] || eval "$(sed -n 's/^metric //p' "$tmp.err")"
  echo >> "$tmp"
done
{
  echo "## Witness: add-checkpoint over loopback"
  echo
  echo "\`custody witness serve\` (release build) on 127.0.0.1, state durable before every answer;"
  echo "one keep-alive client thread per log on the same cores (\`benches/witness.rs\`):"
  echo
  CUSTODY_WITNESS_BENCH_LOGS=128 CUSTODY_WITNESS_BENCH_ROUNDS=60 cargo bench --quiet --bench witness 2>/dev/null
  echo
  echo "One log alone (each cosignature waits for the commit of the one before):"
  echo
  echo "| witness | figure | ratio to raw |"
  echo "|---|---|---|"
  CUSTODY_WITNESS_BENCH_LOGS=1 CUSTODY_WITNESS_BENCH_ROUNDS=300 cargo bench --quiet --bench witness 2>/dev/null | grep -E '^\| (.custody|group)'
  echo
} >> "$tmp"
{
  echo "## Checking the 406 bundle against the operator"
  echo
  echo "\`custody check ledger/bundles/figure-406.json\` with the sample's witness policy and TSA root"
  echo "(\`benches/check.rs\`): one process per run, spawn to exit, beside the spawn alone:"
  echo
  cargo bench --quiet --bench check 2>/dev/null
  echo
} >> "$tmp"
eval "$(benches/git_ssh.sh "$git_n")"
ratio() { python3 -c "print(f'{float(\"$1\")/float(\"$2\"):.0f}x')"; }
{
  echo "## Against git with SSH-signed commits"
  echo
  echo "One commit per entry signed with an Ed25519 SSH key (\`gpg.format ssh\`), then"
  echo "\`git verify-commit\` per commit, $git_n entries (\`benches/git_ssh.sh\`):"
  echo
  echo "| entries/s | git + SSH | custody (first size above) | custody / git (goal >= 500x) |"
  echo "|---|---|---|---|"
  echo "| append | $git_append_per_s | ${import_per_s:-n/a} | $(ratio "${import_per_s:-0}" "$git_append_per_s") |"
  echo "| verify | $git_verify_per_s | ${verify_per_s:-n/a} | $(ratio "${verify_per_s:-0}" "$git_verify_per_s") |"
} >> "$tmp"
{
  echo
  echo "## The submission server"
  echo
  cargo bench --quiet --bench serve 2>/dev/null | grep -v '^# '
} >> "$tmp"
rm -f "$tmp.err"
mv "$tmp" "$out"
echo "wrote $out"
