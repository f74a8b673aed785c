#!/usr/bin/env bash
# Regenerates the sample ledger (./ledger) and its public keys (./keys) from
# docs/sample/, with FRESH keys, as described in docs/SAMPLE.md.
#
#   bash scripts/build-sample.sh [OUTDIR]
#
# OUTDIR (default: $TMPDIR or /tmp) must lie outside the repository. The script
# builds the sample in a new private directory OUTDIR/custody-sample.XXXXXX and
# leaves there (mode 0700) the secret keys and the informant's seal file; only
# the ledger and the *.pub files are copied into the repository. Every run
# makes new keys, so every run gives a different (equally valid) ledger.
#
# Every custody command runs under faketime (Debian package faketime) on a
# clock that starts at 2026-01-15T09:01:00Z and advances 60 s per command, so
# the entries' claimed times are the same on every run and all precede the
# sample's test TSA token (12:00) and witness cosignatures (12:30): a sample
# whose entries claimed later times than its stamp would look tampered with.
set -euo pipefail

die() { echo "build-sample: $*" >&2; exit 2; }

# --- where we are -----------------------------------------------------------
[[ -f Cargo.toml && -f scripts/build-sample.sh && -d docs/sample ]] \
  && grep -q '^name = "custody"' Cargo.toml \
  || die "run this from the custody repository root: bash scripts/build-sample.sh [OUTDIR]"
ROOT=$(pwd -P)
SAMPLE=docs/sample

OUT=${1:-${TMPDIR:-/tmp}}
OUT=$(realpath -m -- "$OUT")
case "$OUT/" in "$ROOT"/*) die "OUTDIR ($OUT) must be outside the repository: it receives secret keys" ;; esac
mkdir -p -- "$OUT"

umask 077
WORK=$(mktemp -d "$OUT/custody-sample.XXXXXX")
PRIV=$WORK/private    # secret keys and the seal: never copied into the repository
L=$WORK/ledger
mkdir -p "$PRIV"

# --- build ------------------------------------------------------------------
cargo build --release --quiet --bin custody
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/custody
[[ -x $BIN ]] || die "no binary at $BIN"
command -v faketime >/dev/null || die "faketime is needed (Debian package faketime)"
# The clock lives in a file, because add() runs custody in a subshell.
CLOCK=$WORK/clock
date -u -d 2026-01-15T09:01:00Z +%s >"$CLOCK"
custody() {
  local t
  t=$(<"$CLOCK")
  echo $((t + 60)) >"$CLOCK"
  TZ=UTC faketime -f "@$(date -u -d "@$t" '+%Y-%m-%d %H:%M:%S')" "$BIN" "$@"
}

# add KIND ARGS...: appends one entry and prints its index (the command's own
# output goes to stderr, so the log of the run stays readable).
add() {
  local out
  out=$(custody add "$1" "$L" "${@:2}")
  printf '%s\n' "$out" >&2
  sed -n 's/^entry \([0-9][0-9]*\) .*/\1/p' <<<"$out" | head -n 1 | grep . \
    || die "could not read the entry index from: $out"
}

# --- keys and ledger ----------------------------------------------------------
ORIGIN=example.org/nk-repatriation
for k in operator researcher reviewer; do custody key new "$k" --dir "$PRIV" >&2; done
OP=$PRIV/operator.key
R=(--key "$PRIV/researcher.key")
V=(--key "$PRIV/reviewer.key")

custody init "$L" --origin "$ORIGIN" --key "$OP" >&2
custody key grant "$L" --key "$OP" --pub "$PRIV/researcher.pub" --role researcher >&2
custody key grant "$L" --key "$OP" --pub "$PRIV/reviewer.pub" --role reviewer >&2

# --- sources ----------------------------------------------------------------
REPORT=$(add source "${R[@]}" --store "$SAMPLE/report-2025-10-15.txt" \
  --title "North Koreans forcibly returned by China: account of Human Rights Watch findings of 15 October 2025" \
  --publisher "Human Rights Watch" --date 2025-10-15 --kind ngo-report \
  --locator "docs/sample/report-2025-10-15.txt (text as supplied to the project)")
COI=$(add source "${R[@]}" "$SAMPLE/un-coi-2014-report.stub.txt" \
  --title "Report of the commission of inquiry on human rights in the DPRK (reference stub)" \
  --publisher "UN Human Rights Council, Commission of Inquiry on Human Rights in the DPRK" \
  --date 2014-02 --kind un-document --locator "UN doc. A/HRC/25/63")
OHCHR=$(add source "${R[@]}" "$SAMPLE/ohchr-2025-09-report.stub.txt" \
  --title "OHCHR report on human rights in the DPRK, September 2025 (reference stub)" \
  --publisher "Office of the UN High Commissioner for Human Rights" \
  --date 2025-09 --kind un-document --locator "symbol not given by the report (report-2025-10-15.txt para. 7)")
EXPERTS=$(add source "${R[@]}" "$SAMPLE/un-experts-2024-11-letter.stub.txt" \
  --title "Letter of UN human rights experts to the DPRK and China, November 2024 (reference stub)" \
  --publisher "UN human rights experts (special procedures)" \
  --date 2024-11 --kind un-document --locator "reference not given by the report (report-2025-10-15.txt para. 9)")
HRC=$(add source "${R[@]}" "$SAMPLE/hrc-2023-07-document.stub.txt" \
  --title "UN Human Rights Council document of July 2023 on repatriated North Koreans (reference stub)" \
  --publisher "UN Human Rights Council" \
  --date 2023-07 --kind un-document --locator "symbol not given by the report (report-2025-10-15.txt para. 10)")
EARLIER=$(add source "${R[@]}" "$SAMPLE/hrw-earlier-findings-2020-2023.stub.txt" \
  --title "Human Rights Watch earlier findings on forced returns, 2020-2023 (reference stub)" \
  --publisher "Human Rights Watch" --date 2023 --kind ngo-report \
  --locator "implied by report-2025-10-15.txt para. 4 (1,076 since 2020 less 406 since 2024)")

# The informant: alias in the ledger, a fictional placeholder identity sealed
# in $PRIV (outside the repository).
INFORMANT=$(add informant "${R[@]}" --alias "Jin Shiping (informed source named in the report)" \
  --identity-file "$SAMPLE/informant-identity.placeholder.txt" --seal "$PRIV/informant.seal")

# --- counted claims -------------------------------------------------------------
FR=(--unit people --category forced-repatriation)
C2020=$(add claim "${R[@]}" "${FR[@]}" --count 670 --period 2020..2023 --place "China" \
  --statement "Human Rights Watch's earlier findings count 670 North Koreans forcibly returned by China from 2020 to 2023 (the report's total since 2020, at least 1,076, less the 406 since 2024)." \
  --source "$EARLIER,$REPORT")
C108=$(add claim "${R[@]}" "${FR[@]}" --count 108 --period 2024-01 \
  --place "Yanbian Korean Autonomous Prefecture and Long City, Jilin, China" \
  --statement "In January 2024, 108 North Korean overseas labourers, who had been involved in a protest over unpaid wages that turned violent, were forcibly repatriated from Yanbian and Long City, Jilin." \
  --source "$REPORT,$INFORMANT")
C60=$(add claim "${R[@]}" "${FR[@]}" --count 60 --period 2024-04 \
  --place "Jilin and Liaoning provinces, China" \
  --statement "In April 2024, 60 North Korean citizens were repatriated from Jilin and Liaoning provinces." \
  --source "$REPORT,$INFORMANT")
C212=$(add claim "${R[@]}" "${FR[@]}" --count 212 --period 2024 \
  --place "Kunming (Yunnan), Nanning (Guangxi Zhuang Autonomous Region) and Poyang (Jiangxi), China" \
  --statement "In 2024, 212 trafficked North Korean women were detained in Kunming, Nanning and Poyang and then forcibly repatriated." \
  --source "$REPORT,$INFORMANT")
C1=$(add claim "${R[@]}" "${FR[@]}" --count 1 --period 2025 --place "China (place not given)" \
  --statement "In early 2025, a 36-year-old North Korean overseas labourer, a computer hacker by profession detained in early 2024 for attempting to escape, was repatriated." \
  --source "$REPORT,$INFORMANT")
C5=$(add claim "${R[@]}" "${FR[@]}" --count 5 --period 2024 \
  --place "Jilin and Heilongjiang provinces, China" \
  --statement "In mid-2024, five North Korean women subjected to forced marriage in Jilin and Heilongjiang provinces were repatriated." \
  --source "$REPORT,$INFORMANT")
C20=$(add claim "${R[@]}" "${FR[@]}" --count 20 --period 2024-12..2025-07 \
  --place "Inner Mongolia, China" \
  --statement "From December 2024 to July 2025, China forcibly repatriated 20 of 22 North Korean women detained in Inner Mongolia; the other two had been sold into forced marriage and were sent back to their forced-marriage partners' homes." \
  --source "$REPORT,$INFORMANT")

# --- other facts of the report (no counts unless the fact is a count) -------------------
add claim "${R[@]}" --category crimes-against-humanity --period 2014 --place "DPRK; China" \
  --statement "The 2014 UN Commission of Inquiry found that North Korean authorities commit systematic crimes against humanity against defectors (torture, sexual violence, forced labour, enforced disappearance, inhumane detention) and warned that China's cooperation could amount to complicity." \
  --source "$COI,$REPORT" >/dev/null
add claim "${R[@]}" --category treatment-after-return --period 2025-09 --place "DPRK" \
  --statement "OHCHR reported in September 2025 that in the past decade repatriated North Korean defectors commonly suffered arbitrary detention, torture, abuse, enforced disappearance and sexual violence, and called on all states to respect non-refoulement." \
  --source "$OHCHR,$REPORT" >/dev/null
add claim "${R[@]}" --category legal-framework --period 2010 --place "DPRK" \
  --statement "In 2010 North Korean authorities designated defection a 'treason offence' punishable by death; any unauthorised departure counts as defection." \
  --source "$REPORT" >/dev/null
add claim "${R[@]}" --count 2 --unit people --category reported-execution --period 2024-08 --place "DPRK" \
  --statement "In November 2024 UN human rights experts wrote to the DPRK and China about reports that two women repatriated in October 2023 were executed in August 2024, and asked about others still forcibly disappeared; neither state replied." \
  --source "$EXPERTS,$REPORT" >/dev/null
add claim "${R[@]}" --category asylum-access --period 2023-07 --place "China" \
  --statement "In a document of July 2023 the UN Human Rights Council urged China to acknowledge the persecution faced by some repatriated North Koreans and to ensure access to asylum procedures and legal residence documents." \
  --source "$HRC,$REPORT" >/dev/null
add claim "${R[@]}" --category enforced-disappearance --period 2024..2025 --place "DPRK" \
  --statement "Human Rights Watch verified multiple cases of forced repatriation since 2024; most of those repatriated remain missing." \
  --source "$REPORT,$INFORMANT" >/dev/null
add claim "${R[@]}" --category treatment-after-return --period 2025 --place "DPRK" \
  --statement "Three former North Korean officials told Human Rights Watch that women coerced into pregnancy by Chinese men face particularly harsh treatment on return; the 2014 UN inquiry found forced abortion and infanticide imposed on such women." \
  --source "$REPORT,$COI" >/dev/null
add claim "${R[@]}" --category detention --period 2025-07 --place "southern Chinese provinces" \
  --statement "As of July 2025, over a hundred trafficked North Korean women seeking refuge in a third country were held in detention centres in southern China, with plans to send them to their forced-marriage partners' homes before Kim Jong Un's September visit to China." \
  --source "$REPORT" >/dev/null
add claim "${R[@]}" --category policy --period 1986..2025 --place "China" \
  --statement "China treats undocumented North Koreans as illegal 'economic migrants' and returns them under a 1986 border agreement." \
  --source "$REPORT" >/dev/null
add claim "${R[@]}" --category policy --period 2024 --place "China" \
  --statement "At its 2024 universal periodic review before the UN Human Rights Council, China explicitly rejected recommendations to stop forcibly repatriating North Koreans." \
  --source "$REPORT" >/dev/null

# --- figures (signed by the researcher) ---------------------------------------------
F2024=$(add figure "${R[@]}" --label "Forcibly returned since 2024" --value 406 --qualifier at-least \
  --unit people --sum "$C108,$C60,$C212,$C1,$C5,$C20")
F2020=$(add figure "${R[@]}" --label "Forcibly returned since 2020" --value 1076 --qualifier at-least \
  --unit people --sum "$C2020,$F2024")

# --- a correction that keeps both figures, the reviewer's endorsements, the checkpoint -------
# Claim 10's statement is restated (its count, 670, is kept): the figures stay 406 and 1,076
# (figure 28, which sums claim 10, is amended beneath but unchanged: docs/FORMAT.md "Changed
# and amended"), and --strict passes.
# appended() reads "entry N" from a command's output, as add() does.
appended() {
  local out
  out=$("$@")
  printf '%s\n' "$out" >&2
  sed -n 's/^entry \([0-9][0-9]*\) .*/\1/p' <<<"$out" | head -n 1 | grep . \
    || die "could not read the entry index from: $out"
}
FIX=$(appended custody correct "$L" "${R[@]}" "$C2020" \
  --statement "The report does not print 670: it is the difference between the report's two totals, at least 1,076 North Koreans forcibly returned by China since 2020 less the at least 406 since 2024, and is counted here as the returns of 2020 to 2023 that Human Rights Watch's earlier findings account for." \
  --reason "the statement attributed the count 670 to the earlier findings as if they printed it; the report gives only the two totals")
REV1=$(appended custody review "$L" "${V[@]}" "$F2024" \
  --note "checked each of the six terms against the report's paragraphs on each incident: they sum to 406, as the report states")
REV2=$(appended custody review "$L" "${V[@]}" "$F2020" \
  --note "checked that 670 is 1,076 less 406 and that the report gives at least 1,076 since 2020")
echo "correction $FIX, reviews $REV1 and $REV2" >&2
custody checkpoint "$L" --key "$OP" >&2
custody verify "$L" --strict >/dev/null

# --- proof bundles of the two figures (docs/PROOFS.md), checked against the operator's vkey ---
mkdir -p "$L/bundles"
custody export "$L" --figure "$F2024" -o "$L/bundles/figure-406.json" >&2
custody export "$L" --figure "$F2020" -o "$L/bundles/figure-1076.json" >&2
VKEY=$(custody key vkey "$PRIV/operator.pub" --origin "$ORIGIN")
for b in figure-406 figure-1076; do
  custody check "$L/bundles/$b.json" --trust "$VKEY" --document "$SAMPLE/report-2025-10-15.txt" >&2
done

# --- copy the public parts into the repository -------------------------------------------
STAGE=$WORK/stage
mkdir -p "$STAGE/ledger" "$STAGE/keys"
cp -R "$L/entries" "$L/checkpoints" "$L/documents" "$L/bundles" "$STAGE/ledger/"
cat >"$STAGE/ledger/.gitignore" <<'EOF'
# Derived files: rebuilt from `entries` when missing, never trusted. Not committed.
/index
/hashes
/state.json
/dedup
/lock
EOF
cp "$PRIV"/*.pub "$STAGE/keys/"
cat >"$STAGE/keys/.gitignore" <<'EOF'
# Only public keys belong here. `custody key new` writes secret keys to keys/ by default.
*
!.gitignore
!*.pub
# The sample TSA's root certificate (public; tests/testdata/tsa/README.md).
!sample-tsa-root.pem
# The sample's test witnesses (public vkeys) and its witness policy (docs/SAMPLE.md).
!sample-witness-*.vkey
!sample-policy.txt
EOF
if find "$STAGE" -name '*.key' -o -name '*.seal' | grep -q .; then die "a secret file reached the stage"; fi
chmod -R u=rwX,go=rX "$STAGE"

rm -rf -- "$ROOT/ledger" "$ROOT/keys"
mv "$STAGE/ledger" "$ROOT/ledger"
mv "$STAGE/keys" "$ROOT/keys"
rmdir "$STAGE"

custody verify ledger --strict
echo
echo "sample rebuilt: ./ledger and ./keys (public keys only)"
echo "secret keys and the informant's seal were left in $PRIV (outside the repository)."
echo "They are not needed to verify the sample; delete them with: rm -rf -- '$WORK'"
