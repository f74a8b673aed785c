#!/usr/bin/env bash
# Witnesses the sample ledger: the two TEST witnesses of tests/testdata/witness/ cosign its
# latest checkpoint offline (`custody witness cosign`, each from a fresh state directory, old
# size 0), their lines are added to ledger/checkpoints/SIZE-ROOT.txt, keys/sample-policy.txt
# (2-of-2) and keys/sample-witness-{alpha,beta}.vkey are written, and the two bundles are
# re-exported under the policy (so they carry the cosigned checkpoint, the policy and the
# sample TSA's token) and checked with it. The cosignature time is frozen by faketime, and
# Ed25519 is deterministic, so a run on an unchanged ledger reproduces every byte.
#
# Run from the repository root after scripts/build-sample.sh and tests/testdata/tsa/make.sh
# (the token is over the note as the log signed it, so the order of stamping and cosigning
# does not matter; the export must come last): bash scripts/witness-sample.sh
# Needs faketime (Debian package) and a release build (`cargo build --release`; the binary is
# $CUSTODY, else $CARGO_TARGET_DIR/release/custody, else target/release/custody).
set -euo pipefail
cd "$(dirname "$0")/.."
custody=${CUSTODY:-${CARGO_TARGET_DIR:-target}/release/custody}
[ -x "$custody" ] || cargo build --release --quiet --bin custody
ORIGIN=example.org/nk-repatriation
WHEN='2026-01-15 12:30:00'
L=ledger
KEYS=tests/testdata/witness
checkpoint=$(ls "$L"/checkpoints/*.txt | tail -1)
log=$("$custody" key vkey keys/operator.pub --origin "$ORIGIN")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '# the sample ledger\n%s\n' "$log" > "$tmp/logs.txt"
# The note as the log signed it (any earlier cosignatures dropped), and the request: old 0,
# no proof, an empty line, the note (docs/WITNESS.md).
sed "/^— /{/^— ${ORIGIN//\//\\/} /!d}" "$checkpoint" > "$tmp/note.txt"
{ printf 'old 0\n\n'; cat "$tmp/note.txt"; } > "$tmp/request.txt"
cp "$tmp/note.txt" "$tmp/cosigned.txt"
declare -A vkey
for w in alpha beta; do
  # custody refuses secret keys that others can read; git does not keep modes.
  install -m 600 "$KEYS/sample-witness-$w.key" "$tmp/$w.key"
  vkey[$w]=$("$custody" witness init --state "$tmp/state-$w" --key "$tmp/$w.key" \
    --name "witness.example.org/sample-$w")
  printf '%s\n' "${vkey[$w]}" > "keys/sample-witness-$w.vkey"
  line=$(TZ=UTC faketime -f "$WHEN" "$custody" witness cosign "$tmp/request.txt" \
    --key "$tmp/$w.key" --logs "$tmp/logs.txt" --state "$tmp/state-$w")
  printf '%s\n' "$line" >> "$tmp/cosigned.txt"
done
cp "$tmp/cosigned.txt" "$checkpoint"
cat > keys/sample-policy.txt <<EOF
# The sample ledger's witness policy (docs/SAMPLE.md): both TEST witnesses must cosign.
# Their secret keys are test material in tests/testdata/witness/; trust them for nothing else.
log $log
witness alpha ${vkey[alpha]}
witness beta ${vkey[beta]}
group both all alpha beta
quorum both
EOF
for f in 27:figure-406 28:figure-1076; do
  "$custody" export "$L" --figure "${f%%:*}" --policy keys/sample-policy.txt \
    -o "$L/bundles/${f#*:}.json" --force
  "$custody" check "$L/bundles/${f#*:}.json" --policy keys/sample-policy.txt \
    --tsa-cert keys/sample-tsa-root.pem --document docs/sample/report-2025-10-15.txt
done
"$custody" verify "$L" --policy keys/sample-policy.txt --tsa-cert keys/sample-tsa-root.pem
