#!/usr/bin/env python3
"""Writes seed corpora for the fuzz targets into fuzz/corpus/TARGET/ from the repository's
real files: the sample ledger's frames, keys/*.pub, the test vectors, and a generated opening
and secret key files. Run from the repository root: python3 fuzz/seeds.py"""

import base64, glob, hashlib, os, re, shutil, struct, subprocess, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "fuzz", "corpus")
SUBMISSION_MAGIC = b"custody-submission-v1\n"
INFORMANT_CONTEXT = b"custody/v1/informant-commitment\0"


def put(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def read(path):
    with open(os.path.join(ROOT, path), "rb") as f:
        return f.read()


entries = read("ledger/entries")
body = entries[16:]
put("frames", "sample-ledger", body)
put("ledger", "sample-ledger", body)
off, i = 0, 0
while off < len(body):
    (n,) = struct.unpack("<I", body[off : off + 4])
    frame = body[off : off + 4 + n + 32]
    entry = frame[4 : 4 + n]
    put("entry", f"entry-{i:02}", entry)
    # A submission is the entry without its index (8) and prev (32).
    put("submission", f"sub-{i:02}.cust", SUBMISSION_MAGIC + entry[40:])
    put("frames", f"frame-{i:02}", frame)
    if i < 4:
        put("ledger", f"first-{i + 1}", body[: off + len(frame)])
    off += len(frame)
    i += 1

for p in glob.glob(os.path.join(ROOT, "keys", "*.pub")):
    put("public_key", os.path.basename(p), read(p))

proof = read("tests/vectors/example.tlog-proof")
put("tlog_proof", "example.tlog-proof", proof)
note = proof.split(b"\n\n", 1)[1]
put("checkpoint", "example-note", note)
for p in glob.glob(os.path.join(ROOT, "ledger", "checkpoints", "*.txt")):
    put("checkpoint", os.path.basename(p), read(p))
    put("tlog_proof", "ledger-" + os.path.basename(p), b"c2sp.org/tlog-proof@v1\nextra AA==\nindex 0\n\n" + read(p))

for p in glob.glob(os.path.join(ROOT, "tests", "testdata", "tsa", "*.tsr")) + glob.glob(
    os.path.join(ROOT, "tests", "testdata", "tsa", "*.tsq")
):
    put("timestamp_token", os.path.basename(p), read(p))

vkeys = {"example": "example.com/evidence-ledger-test+0051744f+AczXONUCJ9wNmQ2x5/usUQuQRlvVihJCqsjrYJK42AOl"}
kat = read("tests/vectors/signed-note-kat.json").decode()
for j, m in enumerate(sorted(set(re.findall(r'"([^"\s+]+\+[0-9a-f]{8}\+[A-Za-z0-9+/=]+)"', kat)))):
    vkeys[f"kat-{j}"] = m
for name, v in vkeys.items():
    put("vkey", name, v)

seed = bytes(range(32))
put("secret_key", "plain.key", "custody-secret-key-v1\nname fuzz\ned25519 " + base64.b64encode(seed).decode() + "\n")
# The shape of an encrypted key: an age header under base64 (never decrypted by the target).
age = b"age-encryption.org/v1\n-> scrypt c2FsdHNhbHRzYWx0c2FsdA 18\nAAAA\n--- AAAA\n" + bytes(48)
put("secret_key", "encrypted.key", "custody-secret-key-v1\nname fuzz\ned25519-scrypt " + base64.b64encode(age).decode() + "\n")

salt = bytes(range(100, 132))
identity = b"Kim, Pyongyang, +82 ..."
commitment = hashlib.sha256(INFORMANT_CONTEXT + salt + identity).hexdigest()
put("opening", "opening", "custody-informant-opening-v1\nalias Source A\nsalt " + salt.hex() + "\nidentity "
    + base64.b64encode(identity).decode() + "\ncommitment " + commitment + "\n")
# Proof bundles exported from a copy of the sample ledger, if the binary is built.
builds = [b for b in (os.path.join(ROOT, "target", d, "custody") for d in ("release", "debug")) if os.path.exists(b)]
binary = max(builds, key=os.path.getmtime) if builds else None  # the newest build
if binary:
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(os.path.join(ROOT, "ledger"), os.path.join(tmp, "ledger"))
        for what, n in (("--figure", 27), ("--figure", 28), ("--entry", 11), ("--entry", 9), ("--entry", 3)):
            out = os.path.join(tmp, f"{what[2:]}-{n}.json")
            subprocess.run([binary, "export", os.path.join(tmp, "ledger"), what, str(n), "-o", out], check=True, capture_output=True)
            put("proof_bundle", os.path.basename(out), open(out, "rb").read())
else:
    print("no target/*/custody binary: build it first for proof_bundle seeds")
print("seeds written under", OUT)

# Witness, policy, fork, tiles and state seeds (the targets added with the hostile-input review).
import json

cv = json.loads(read("tests/vectors/checkpoint-cosignature-derived.json"))
signed = cv["signed_checkpoint"]
put("cosigned_note", "vector-signed", signed)
put("add_checkpoint", "vector-request", cv["tlog_witness_add_checkpoint_request"])
put("witness_request", "vector-request", cv["tlog_witness_add_checkpoint_request"])
put("witness_request", "vector-request-old0", "old 0\n\n" + cv["tlog_witness_add_checkpoint_request"].split("\n\n", 1)[1])

doc = read("docs/POLICY.md").decode()
blocks = re.findall(r"```\n(.*?)```\n", doc, re.S)
for j, b in enumerate(blocks):
    if re.search(r"^(log|witness|group|quorum) ", b, re.M):
        put("policy", f"policy-md-{j}", b)
    elif "\n\n\u2014 " in b:
        put("cosigned_note", f"policy-md-{j}", b)
for j, b in enumerate(re.findall(r"```json\n(.*?)```\n", read("docs/FORKS.md").decode(), re.S)):
    put("fork_evidence", f"forks-md-{j}", b)

tp = json.loads(read("tests/vectors/tlog-tiles-paths.json"))
paths = set(re.findall(r'"(tile/[^"]+)"', json.dumps(tp)))
for j, p in enumerate(sorted(paths)):
    put("tiles", f"path-{j}", b"\x00" + p.replace("tile/8/", "tile/").replace("/data/", "/entries/").encode())
frames, off = [], 0
while off < len(body):
    (n,) = struct.unpack("<I", body[off : off + 4])
    frames.append(body[off + 4 : off + 4 + n])
    off += 4 + n + 32
bundle = b"".join(struct.pack(">H", len(e)) + e for e in frames)
put("tiles", "bundle-sample", bytes([1, len(frames) - 1]) + bundle)
for mode in (2, 3, 4, 5, 6, 7):
    put("tiles", f"tree-{mode}-true", bytes([mode, 77]) + bytes(60))
    put("tiles", f"tree-{mode}-flip", bytes([mode, 200]) + bytes([2, 5, 1]) * 20)

wkey = base64.b64decode(cv["witness"]["verifier_key"].rsplit("+", 1)[1])[1:]
root = cv["checkpoint_body"].split("\n")[2]
put("witness_state", "empty", "custody-witness-state v1\nname example.com/test-witness\nkey " + base64.b64encode(wkey).decode() + "\n")
put("witness_state", "one-log", "custody-witness-state v1\nname example.com/test-witness\nkey " + base64.b64encode(wkey).decode()
    + f"\nlog example.com/evidence-ledger-test 8 {root} {cv['cosignature_timestamp']} " + base64.b64encode(signed.encode()).decode() + "\n")
line = cv["cosignature_line"]
put("witness_answer", "ok-200", bytes([0, 200, 0]) + line.encode())
put("witness_answer", "ok-200-two-lines", bytes([0, 200, 0]) + b"\u2014 other.example/w AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n".decode("unicode_escape").encode() + line.encode())
put("witness_answer", "conflict", bytes([1, 153, 1]) + b"6\n")
put("witness_answer", "refused", bytes([0, 0, 3]) + b"unknown log\n")
print("review seeds written")
