#!/usr/bin/env bash
# Sizes of completeness-proven bundles in a ledger of a million claims (docs/PROOFS.md,
# "Completeness"): 1,000,000 claims, 100,000 of them corrected (a state tree of 100,000
# leaves), a figure over 1,200 uncorrected claims and one over 1,200 corrected ones; then
# checkpoint, export, check and verify, timed with /usr/bin/time. Needs
# `cargo build --release` first (or CUSTODY_BIN); about 2 minutes and 1 GB of scratch space
# on 2 cores. Prints what it measured; writes nothing into the repository.
set -euo pipefail
BIN=${CUSTODY_BIN:-$(cd "$(dirname "$0")/.." && pwd)/target/release/custody}
W=$(mktemp -d "${TMPDIR:-/tmp}/bundle-sizes.XXXX"); cd "$W"
export CUSTODY_CACHE_DIR=$W/cache
$BIN key new operator >/dev/null; $BIN key new researcher >/dev/null
$BIN init L --origin example.org/m --key keys/operator.key >/dev/null
$BIN key grant L --key keys/operator.key --pub keys/researcher.pub --role researcher >/dev/null
echo report > r.txt
$BIN add source L --key keys/researcher.key r.txt --title R --publisher P --date 2025 --kind ngo-report >/dev/null
python3 - <<'PY'
with open('claims.jsonl','w') as f:
    for k in range(1000000):
        f.write('{"kind":"claim","statement":"case %d: one person returned","count":1,"category":"forced-repatriation","period":"2024","cites":[2]}\n' % k)
with open('corr.jsonl','w') as f:
    for k in range(3, 100003):
        f.write('{"kind":"correction","target":%d,"count":2,"reason":"recounted"}\n' % k)
PY
/usr/bin/time -f "import 1M: %e s, %M KB" $BIN import L --key keys/researcher.key claims.jsonl | tail -1
/usr/bin/time -f "import 100k corrections: %e s" $BIN import L --key keys/researcher.key corr.jsonl | tail -1
A=$(python3 -c "print(','.join(str(i) for i in range(500000,501200)))")
B=$(python3 -c "print(','.join(str(i) for i in range(3,1203)))")
$BIN add figure L --key keys/researcher.key --label A --value 1200 --sum $A | tail -1
$BIN add figure L --key keys/researcher.key --label B --value 2400 --sum $B | tail -1
/usr/bin/time -f "checkpoint (state tree of 100k amended entries): %e s" $BIN checkpoint L --key keys/operator.key >/dev/null
N=$($BIN log L | wc -l)
echo "entries: $N"
for f in $((N-3)) $((N-2)); do
  /usr/bin/time -f "export figure $f: %e s" $BIN export L --figure $f -o f$f.json | head -1
  /usr/bin/time -f "check figure $f: %e s" $BIN check f$f.json --trust "$($BIN key vkey keys/operator.pub --origin example.org/m)" | grep -E "^VERIFIED|complete|checked"
  python3 -c "
import json; b=json.load(open('f$f.json')); c=b['completeness']
print('bundle', '$f', 'bytes', len(open('f$f.json','rb').read()), 'entries', len(b['entries']), 'state leaves opened', len(c['leaves']), 'completeness bytes', len(json.dumps(c, indent=2)))"
done
/usr/bin/time -f "verify: %e s, %M KB" $BIN verify L | head -2
rm -rf $W
