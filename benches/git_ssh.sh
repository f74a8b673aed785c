#!/usr/bin/env bash
# What researchers use today: one git commit per entry, signed with an SSH key
# (gpg.format ssh), and `git verify-commit` per commit. Prints entries/s for append and verify.
# Usage: benches/git_ssh.sh [N]   (default 300; git is ~1000x slower, so N stays small)
set -euo pipefail
n=${1:-300}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
ssh-keygen -q -t ed25519 -N '' -C bench@custody -f "$work/key" >/dev/null
echo "bench@custody $(cat "$work/key.pub")" > "$work/allowed"
git init -q "$work/repo"
cd "$work/repo"
git config user.name bench; git config user.email bench@custody
git config gpg.format ssh; git config user.signingkey "$work/key"
git config gpg.ssh.allowedSignersFile "$work/allowed"; git config commit.gpgsign true
start=$(date +%s.%N)
for i in $(seq 1 "$n"); do
  printf '{"kind":"claim","statement":"case %d: one person returned","count":1,"cites":[2]}\n' "$i" > "entry-$i.json"
  git add "entry-$i.json"
  git commit -q -m "entry $i"
done
mid=$(date +%s.%N)
git rev-list HEAD | while read -r c; do git verify-commit "$c" 2>/dev/null; done
end=$(date +%s.%N)
python3 - "$n" "$start" "$mid" "$end" <<'PY'
import sys
n, s, m, e = int(sys.argv[1]), *map(float, sys.argv[2:])
print(f"git_append_per_s={n/(m-s):.1f}")
print(f"git_verify_per_s={n/(e-m):.1f}")
PY
