#!/usr/bin/env bash
# Regenerates the test Time-Stamping Authority and its tokens in this folder with OpenSSL and
# faketime (Debian packages openssl, faketime). The keys here belong to a TEST TSA only: they
# are committed on purpose, so the tokens below can be reproduced and re-signed in tests.
#
# Outputs (all committed):
#   root.pem root.key                 the test root CA (P-256); also keys/sample-tsa-root.pem
#   other-root.pem other-root.key     a second root that trusts nothing here ("untrusted root")
#   tsa-ec256.{pem,key}               TSA certificate, EKU critical timeStamping, P-256
#   tsa-ec384.{pem,key} tsa-rsa.{pem,key} tsa-p521.{pem,key}   the same with P-384, RSA 2048, P-521
#   tsa-expired.pem                   tsa-ec256.key, valid 2025-01-01 to 2025-06-01 only
#   tsa-noeku.pem tsa-eku-noncrit.pem tsa-ec256.key without EKU / with a non-critical EKU
#                                     (OpenSSL refuses to sign with these; tests re-sign with them)
#   note.txt                          the sample ledger's checkpoint as the log signed it
#   note.tsq                          TimeStampReq over note.txt with the fixed nonce below
#   <tsa>.tsr                         bare TimeStampTokens (ContentInfo) answering note.tsq,
#                                     genTime frozen at 2026-01-15T12:00:00Z by faketime
#   ../../../ledger/checkpoints/*.tsr ec256.tsr, the sample ledger's token (docs/TIMESTAMPS.md)
# After a run, docs/TIMESTAMPS.md must quote the new values (its test says which).
# Run from anywhere: bash tests/testdata/tsa/make.sh
set -euo pipefail
cd "$(dirname "$0")"
here=$(pwd)
export TZ=UTC
at() { local t=$1; shift; faketime -f "$t" "$@"; }
MINT='2025-01-01 00:00:00'
STAMP='2026-01-15 12:00:00'

checkpoint=$(ls ../../../ledger/checkpoints/*.txt | tail -1)
# The note as the log signed it: witness cosignature lines (scripts/witness-sample.sh) dropped.
sed '/^— /{/^— example.org\/nk-repatriation /!d}' "$checkpoint" > note.txt

cat > ext.cnf <<'X'
[ root ]
basicConstraints = critical,CA:true
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[ tsa ]
basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature
extendedKeyUsage = critical,timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ noeku ]
basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ noncrit ]
basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature
extendedKeyUsage = timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
X

root() { # name subject
    openssl ecparam -name prime256v1 -genkey -noout -out "$1.key"
    at "$MINT" openssl req -new -x509 -key "$1.key" -sha256 -days 7300 -subj "$2" \
        -set_serial 1 -extensions root -config <(cat /etc/ssl/openssl.cnf ext.cnf) -out "$1.pem"
}
leaf() { # name key subject serial days section [start]
    at "${7:-$MINT}" openssl req -new -key "$2" -subj "$3" -out "$1.csr"
    at "${7:-$MINT}" openssl x509 -req -in "$1.csr" -CA root.pem -CAkey root.key -set_serial "$4" \
        -days "$5" -sha256 -extfile ext.cnf -extensions "$6" -out "$1.pem"
    rm "$1.csr"
}
root root "/O=custody test TSA/CN=custody test TSA root"
root other-root "/O=custody test TSA/CN=custody untrusted root"
openssl ecparam -name prime256v1 -genkey -noout -out tsa-ec256.key
openssl ecparam -name secp384r1 -genkey -noout -out tsa-ec384.key
openssl ecparam -name secp521r1 -genkey -noout -out tsa-p521.key
openssl genrsa -out tsa-rsa.key 2048 2>/dev/null
leaf tsa-ec256 tsa-ec256.key "/O=custody test TSA/CN=custody test TSA P-256" 16 3650 tsa
leaf tsa-ec384 tsa-ec384.key "/O=custody test TSA/CN=custody test TSA P-384" 17 3650 tsa
leaf tsa-rsa tsa-rsa.key "/O=custody test TSA/CN=custody test TSA RSA" 18 3650 tsa
leaf tsa-p521 tsa-p521.key "/O=custody test TSA/CN=custody test TSA P-521" 19 3650 tsa
leaf tsa-expired tsa-ec256.key "/O=custody test TSA/CN=custody test TSA expired" 20 151 tsa
leaf tsa-noeku tsa-ec256.key "/O=custody test TSA/CN=custody test TSA no EKU" 21 3650 noeku
leaf tsa-eku-noncrit tsa-ec256.key "/O=custody test TSA/CN=custody test TSA EKU not critical" 22 3650 noncrit

# The request: SHA-256 of the log-signed note (note.txt, without the witnesses' lines),
# nonce = the first 16 bytes of SHA-256("custody TIMESTAMPS.md example nonce"),
# certReq true. Encoded by OpenSSL's own DER generator, so custody's encoder is checked against it.
imprint=$(openssl dgst -sha256 -r note.txt | cut -d' ' -f1)
nonce=$(printf '%s' 'custody TIMESTAMPS.md example nonce' | openssl dgst -sha256 -r | cut -c1-32)
cat > tsq.cnf <<X
asn1 = SEQUENCE:req
[ req ]
version = INTEGER:1
imprint = SEQUENCE:imprint
nonce = INTEGER:0x$nonce
certReq = BOOLEAN:true
[ imprint ]
alg = SEQUENCE:alg
hash = FORMAT:HEX,OCTETSTRING:$imprint
[ alg ]
oid = OID:sha256
null = NULL
X
openssl asn1parse -genconf tsq.cnf -noout -out note.tsq
rm tsq.cnf

token() { # out cert key digest ess-alg serial
    local d
    d=$(mktemp -d)
    cat > "$d/tsa.cnf" <<X
[ tsa ]
default_tsa = tsa_config1
[ tsa_config1 ]
dir = $d
serial = \$dir/tsaserial
crypto_device = builtin
signer_cert = $here/$2
signer_key = $here/$3
signer_digest = $4
default_policy = 1.3.6.1.4.1.99999.1.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = $5
X
    echo "$6" > "$d/tsaserial"
    at "$STAMP" openssl ts -reply -config "$d/tsa.cnf" -queryfile note.tsq -token_out -out "$1" 2>/dev/null
    rm -r "$d"
}
token ec256.tsr tsa-ec256.pem tsa-ec256.key sha256 sha256 0101
token ec256-ess1.tsr tsa-ec256.pem tsa-ec256.key sha256 sha1 0102
token ec384.tsr tsa-ec384.pem tsa-ec384.key sha384 sha256 0103
token rsa.tsr tsa-rsa.pem tsa-rsa.key sha256 sha256 0104
token p521.tsr tsa-p521.pem tsa-p521.key sha512 sha256 0105
token expired.tsr tsa-expired.pem tsa-ec256.key sha256 sha256 0106
rm ext.cnf
# OpenSSL's own verdict on every token it should accept.
for t in ec256 ec256-ess1 ec384 rsa; do
    at "$STAMP" openssl ts -verify -queryfile note.tsq -in "$t.tsr" -token_in -CAfile root.pem >/dev/null
done
cp root.pem ../../../keys/sample-tsa-root.pem
# The sample ledger's token: ec256.tsr beside its checkpoint, named SIZE-ROOT.HASH.tsr.
rm -f ../../../ledger/checkpoints/*.tsr
h=$(openssl dgst -sha256 -r ec256.tsr | cut -c1-16)
cp ec256.tsr "${checkpoint%.txt}.$h.tsr"
echo "made the test TSA in $here"
