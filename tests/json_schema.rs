//! The one JSON model (docs/JSON.md) against the binary. Every `--json` output, of the bundled
//! sample ledger and of a ledger built here with every kind of entry, must match its schema in
//! docs/schemas/; every schema must refuse each deliberately broken copy of those outputs (an
//! uppercase or short hash, an extra field, a missing field, a number as a string, an unknown
//! kind), so no test passes vacuously; the examples in docs/JSON.md must match their schemas,
//! those marked as sample output must equal what the binary prints, and the import examples
//! must be accepted by `custody import` and shown back with the schema's defaults filled in.

mod common;

use common::{
    checkpoint_files, claim_args, figure_args, informant_args, init_ledger, key_args, run, run_ok,
    source_args, TestWitness, Work, OPERATOR_KEY, RESEARCHER_KEY,
};
use custody_core::entry::{Named, Qualifier, Role, SourceKind};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

const ORIGIN: &str = "example.org/test";

const ALL_KINDS: [&str; 13] = [
    "genesis",
    "key-grant",
    "key-revoke",
    "source",
    "informant",
    "claim",
    "figure",
    "correction",
    "retraction",
    "redaction",
    "cite",
    "state-commitment",
    "review",
];

/// The names of a closed set, in tag order.
fn all<T: Named>() -> Vec<String> {
    T::ALL.iter().map(|v| v.name().to_string()).collect()
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn schema_dir() -> PathBuf {
    repo().join("docs/schemas")
}

/// The URI a schema file is known by: its own path, so relative `$ref`s resolve as they would
/// for any reader of the directory.
fn schema_uri(name: &str) -> String {
    format!("file://{}/{name}", schema_dir().display())
}

/// Every schema file, parsed, and a validator for each, built offline: the only documents
/// references may reach are the files of docs/schemas/.
struct Schemas {
    raw: BTreeMap<String, Value>,
    validators: BTreeMap<String, jsonschema::Validator>,
}

fn schemas() -> &'static Schemas {
    static SCHEMAS: OnceLock<Schemas> = OnceLock::new();
    SCHEMAS.get_or_init(|| {
        let mut raw = BTreeMap::new();
        for e in fs::read_dir(schema_dir()).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            assert!(
                name.ends_with(".schema.json"),
                "docs/schemas/{name}: only *.schema.json files belong there"
            );
            let v: Value = serde_json::from_slice(&fs::read(&p).unwrap())
                .unwrap_or_else(|e| panic!("docs/schemas/{name} is not JSON: {e}"));
            raw.insert(name, v);
        }
        let registry = jsonschema::Registry::new()
            .extend(raw.iter().map(|(n, v)| (schema_uri(n), v.clone())))
            .unwrap()
            .prepare()
            .unwrap();
        let validators = raw
            .iter()
            .map(|(n, v)| {
                let val = jsonschema::draft202012::options()
                    .with_registry(&registry)
                    .with_base_uri(schema_uri(n))
                    .build(v)
                    .unwrap_or_else(|e| panic!("docs/schemas/{n} does not compile: {e}"));
                (n.clone(), val)
            })
            .collect();
        Schemas { raw, validators }
    })
}

fn validator(schema: &str) -> &'static jsonschema::Validator {
    schemas()
        .validators
        .get(schema)
        .unwrap_or_else(|| panic!("no schema docs/schemas/{schema}"))
}

fn assert_valid(schema: &str, v: &Value, what: &str) {
    let errors: Vec<String> = validator(schema)
        .iter_errors(v)
        .map(|e| format!("at {:?}: {e}", e.instance_path().to_string()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what} does not match {schema}:\n  {}\n{v:#}",
        errors.join("\n  ")
    );
}

/// `v` matches `schema`, and every broken copy of it (see [`broken`]) does not.
fn assert_output(schema: &str, v: &Value, what: &str) {
    assert_valid(schema, v, what);
    let broken = broken(v, &|_| false);
    assert!(broken.len() >= 3, "{what}: too few broken copies to test");
    for (defect, b) in broken {
        assert!(
            !validator(schema).is_valid(&b),
            "{schema} accepts {what} with {defect}:\n{b:#}"
        );
    }
}

/// Copies of `v`, each with one defect, named: an extra member in any object, any member
/// removed (unless `optional` says the member at that pointer may be left out, or it is an
/// entry of the `kinds` map), a hex hash in uppercase or one digit short, a number written as
/// a string, an unknown `kind`, `ok` flipped.
fn broken(v: &Value, optional: &dyn Fn(&str) -> bool) -> Vec<(String, Value)> {
    let mut nodes = Vec::new();
    pointers(v, String::new(), &mut nodes);
    let mut out = Vec::new();
    for (at, node) in &nodes {
        let mut with = |defect: String, edit: &dyn Fn(&mut Value)| {
            let mut b = v.clone();
            edit(b.pointer_mut(at).unwrap());
            out.push((defect, b));
        };
        match node {
            Value::Object(m) => {
                with(format!("an extra member at {at:?}"), &|b| {
                    object(b).insert("unexpected".into(), Value::Bool(true));
                });
                if at.ends_with("/kinds") {
                    continue;
                }
                for k in m.keys() {
                    let member = format!("{at}/{k}");
                    if !optional(&member) {
                        with(format!("{member:?} missing"), &|b| {
                            object(b).remove(k);
                        });
                    }
                }
            }
            Value::String(s) if is_hex_hash(s) => {
                if s.bytes().any(|b| b.is_ascii_lowercase()) {
                    let upper = Value::String(s.to_ascii_uppercase());
                    with(format!("uppercase hex at {at:?}"), &|b| *b = upper.clone());
                }
                let short = Value::String(s[1..].to_string());
                with(format!("a short hex at {at:?}"), &|b| *b = short.clone());
            }
            Value::String(_) if at.ends_with("/kind") => {
                with(format!("an unknown kind at {at:?}"), &|b| {
                    *b = "bogus".into()
                });
            }
            Value::Number(n) => {
                let s = Value::String(n.to_string());
                with(format!("a number as a string at {at:?}"), &|b| {
                    *b = s.clone()
                });
            }
            Value::Bool(ok) if at == "/ok" => {
                with("ok flipped".into(), &|b| *b = Value::Bool(!ok));
            }
            _ => {}
        }
    }
    out
}

fn object(v: &mut Value) -> &mut Map<String, Value> {
    v.as_object_mut().unwrap()
}

/// Every node of `v` with its JSON pointer.
fn pointers<'a>(v: &'a Value, at: String, out: &mut Vec<(String, &'a Value)>) {
    match v {
        Value::Object(m) => {
            for (k, c) in m {
                pointers(c, format!("{at}/{k}"), out);
            }
        }
        Value::Array(a) => {
            for (i, c) in a.iter().enumerate() {
                pointers(c, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
    out.push((at, v));
}

fn is_hex_hash(s: &str) -> bool {
    (s.len() == 64 || s.len() == 128)
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Runs a `--json` command: stdout parsed as one value. The exit code must agree with `ok`
/// where there is one (0 for true, 1 for false), and be 0 otherwise.
fn json(cwd: &Path, args: &[&str]) -> Value {
    let out = run(cwd, args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let v: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "custody {args:?}: stdout is not one JSON value ({e}):\n{stdout}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let want = match v.get("ok") {
        Some(Value::Bool(false)) => 1,
        _ => 0,
    };
    assert_eq!(
        out.status.code(),
        Some(want),
        "custody {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    v
}

/// `log --json`: one object per line.
fn log_lines(cwd: &Path, ledger: &str) -> Vec<Value> {
    run_ok(cwd, &["log", ledger, "--json"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("log line {l:?}: {e}")))
        .collect()
}

use common::sample_copy as sample;

/// What every ledger test checks: each line of `log --json`, `show --json` of every entry,
/// `figure --json` of every figure, `verify --json` (with and without `--documents`), and
/// inclusion and consistency proofs. Returns the log lines and the kinds of the bodies shown.
fn check_ledger(cwd: &Path, ledger: &str) -> (Vec<Value>, BTreeSet<String>) {
    let lines = log_lines(cwd, ledger);
    assert!(!lines.is_empty());
    let n = lines.len();
    let mut kinds = BTreeSet::new();
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(line["index"], i);
        assert_output("log-line.schema.json", line, &format!("log line {i}"));
        let idx = i.to_string();
        let entry = json(cwd, &["show", ledger, &idx, "--json"]);
        assert_output("entry.schema.json", &entry, &format!("show {i}"));
        assert_eq!(entry["leaf_hash"], line["leaf_hash"]);
        assert_eq!(entry["signer"], line["signer"], "one signer shape");
        kinds.insert(entry["body"]["kind"].as_str().unwrap().to_string());
        if entry["kind"] == "figure" {
            let f = json(cwd, &["figure", ledger, &idx, "--json"]);
            assert_output("figure.schema.json", &f, &format!("figure {i}"));
            assert_eq!(f["signer"], entry["signer"]);
        }
        let inc = json(cwd, &["prove", "inclusion", ledger, &idx, "--json"]);
        assert_output("inclusion.schema.json", &inc, &format!("inclusion of {i}"));
        assert_eq!(inc["leaf_hash"], line["leaf_hash"]);
    }
    let first = json(
        cwd,
        &["prove", "inclusion", ledger, "0", "--size", "1", "--json"],
    );
    assert_eq!(first["inclusion_path"], Value::Array(vec![]));
    assert_valid(
        "inclusion.schema.json",
        &first,
        "inclusion in a tree of one",
    );
    for (old, new) in [(0, n), (1, n), (n / 2, n), (n - 1, n), (n, n)] {
        let (o, w) = (old.to_string(), new.to_string());
        let c = json(cwd, &["prove", "consistency", ledger, &o, &w, "--json"]);
        assert_output(
            "consistency.schema.json",
            &c,
            &format!("consistency {o} {w}"),
        );
    }
    for extra in [None, Some("--documents")] {
        let mut args = vec!["verify", ledger, "--json"];
        args.extend(extra);
        let v = json(cwd, &args);
        assert_eq!(v["ok"], true, "{v:#}");
        assert_output("verify.schema.json", &v, &format!("{args:?}"));
        assert_eq!(v["entries"], n);
        if extra.is_some() {
            assert!(!v["documents"].as_array().unwrap().is_empty());
        }
    }
    (lines, kinds)
}

#[test]
fn every_schema_is_a_valid_strict_draft_2020_12_schema() {
    let s = schemas();
    let want: BTreeSet<&str> = [
        "common.schema.json",
        "log-line.schema.json",
        "entry.schema.json",
        "submission.schema.json",
        "figure.schema.json",
        "verify.schema.json",
        "check.schema.json",
        "inclusion.schema.json",
        "consistency.schema.json",
        "import-line.schema.json",
        "add.schema.json",
    ]
    .into();
    let have: BTreeSet<&str> = s.raw.keys().map(String::as_str).collect();
    assert_eq!(have, want);
    for (name, schema) in &s.raw {
        assert_eq!(
            schema["$schema"], "https://json-schema.org/draft/2020-12/schema",
            "{name}"
        );
        if let Err(e) = jsonschema::draft202012::meta::validate(schema) {
            panic!("{name} is not a valid draft 2020-12 schema: {e}");
        }
        assert!(
            schema["title"]
                .as_str()
                .is_some_and(|t| t.starts_with("custody-json/v1: ")),
            "{name}: the title names the model's version"
        );
        let mut nodes = Vec::new();
        pointers(schema, String::new(), &mut nodes);
        for (at, node) in nodes {
            let Some(m) = node.as_object() else { continue };
            if m.get("type") == Some(&Value::String("object".into())) {
                let closed = m.get("additionalProperties") == Some(&Value::Bool(false))
                    || m.get("unevaluatedProperties") == Some(&Value::Bool(false))
                    || (m.get("additionalProperties").is_some_and(Value::is_object)
                        && m.contains_key("propertyNames"));
                assert!(closed, "{name}#{at}: an object schema must be closed");
            }
            // Outputs print every field, so every listed property is required.
            let output = name != "import-line.schema.json";
            if let (true, Some(Value::Object(props)), Some(false)) = (
                output,
                m.get("properties"),
                m.get("additionalProperties").and_then(Value::as_bool),
            ) {
                let required: BTreeSet<&str> = m["required"]
                    .as_array()
                    .unwrap_or_else(|| panic!("{name}#{at}: no required list"))
                    .iter()
                    .map(|r| r.as_str().unwrap())
                    .collect();
                let listed: BTreeSet<&str> = props.keys().map(String::as_str).collect();
                assert_eq!(
                    required, listed,
                    "{name}#{at}: every output field is required"
                );
            }
        }
    }
    // The closed sets are entry.rs's names, no more, no fewer.
    let common = &s.raw["common.schema.json"]["$defs"];
    let names = |def: &str| -> Vec<String> {
        common[def]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names("kind"), ALL_KINDS);
    assert_eq!(names("role"), all::<Role>());
    assert_eq!(names("source-kind"), all::<SourceKind>());
    assert_eq!(names("qualifier"), all::<Qualifier>());
    let mut signer_roles = vec!["operator".to_string()];
    signer_roles.extend(all::<Role>());
    assert_eq!(names("signer-role"), signer_roles);
}

#[test]
fn hand_broken_instances_are_refused() {
    let signer = serde_json::json!({
        "key_id": "fb65a858480678e9261f431e5274094f35f4974be39d28f7698430f49b0db002",
        "name": "operator",
        "role": "operator",
    });
    let line = serde_json::json!({
        "index": 0, "kind": "genesis", "signer": signer,
        "claimed_time": "2026-11-29T14:44:19Z",
        "leaf_hash": "2fdb2372715d63c5afb9de162abd828fb3ef6d6b508c5bf928e1317517b6aab7",
        "summary": "ledger created",
    });
    assert_valid("log-line.schema.json", &line, "a hand-made log line");
    let cases: [(&str, &str, Value); 7] = [
        ("/signer/role", "a role that is no role", "owner".into()),
        ("/signer/name", "a name without its role", Value::Null),
        (
            "/claimed_time",
            "a time with an offset",
            "2026-11-29T14:44:19+01:00".into(),
        ),
        (
            "/claimed_time",
            "a time with fractions",
            "2026-11-29T14:44:19.5Z".into(),
        ),
        (
            "/leaf_hash",
            "a hash as a list of numbers",
            serde_json::json!([47, 219]),
        ),
        ("/leaf_hash", "a base64 hash", "L9sjcnFdY/va".into()),
        ("/index", "a negative index", (-1).into()),
    ];
    for (at, defect, value) in cases {
        let mut b = line.clone();
        *b.pointer_mut(at).unwrap() = value;
        assert!(
            !validator("log-line.schema.json").is_valid(&b),
            "log-line.schema.json accepts {defect}: {b}"
        );
    }
    let failure = serde_json::json!({"ok": false, "error": {"entry": null, "reason": "r"}});
    assert_output("verify.schema.json", &failure, "a failure");
    assert_output("check.schema.json", &failure, "a failure");
    let no_error = serde_json::json!({"ok": false});
    assert!(!validator("verify.schema.json").is_valid(&no_error));
    // A time the calendar cannot write prints as its number of seconds (json::rfc3339).
    let mut early = line.clone();
    early["claimed_time"] = custody_core::json::rfc3339(-1).into();
    assert_valid("log-line.schema.json", &early, "a time before 1970");
}

#[test]
fn the_sample_ledger_outputs_match_their_schemas() {
    let tmp = sample();
    let cwd = tmp.path();
    let (lines, _) = check_ledger(cwd, "ledger");
    let v = json(cwd, &["verify", "ledger", "--json"]);
    let vkey = v["vkey"].as_str().unwrap();
    let wrong = run_ok(
        cwd,
        &[
            "key",
            "vkey",
            repo().join("keys/reviewer.pub").to_str().unwrap(),
            "--origin",
            v["origin"].as_str().unwrap(),
        ],
    );
    let mut bundles = 0;
    for b in fs::read_dir(cwd.join("ledger/bundles")).unwrap() {
        let p = b.unwrap().path();
        let p = p.to_str().unwrap();
        let ok = json(cwd, &["check", p, "--trust", vkey, "--json"]);
        assert_eq!(ok["ok"], true, "{ok:#}");
        assert_output("check.schema.json", &ok, &format!("check {p}"));
        for e in ok["entries"].as_array().unwrap() {
            let i = e["index"].as_u64().unwrap() as usize;
            assert_eq!(e["leaf_hash"], lines[i]["leaf_hash"]);
            assert_eq!(e["signer"], lines[i]["signer"]);
        }
        let bad = json(cwd, &["check", p, "--trust", wrong.trim(), "--json"]);
        assert_eq!(bad["ok"], false);
        assert_eq!(bad["error"]["entry"], Value::Null);
        assert_output("check.schema.json", &bad, &format!("check {p} (wrong key)"));
        bundles += 1;
    }
    assert_eq!(bundles, 2);

    // The sample's time-stamp token, checked against the sample TSA's root, and carried by a
    // fresh export (docs/TIMESTAMPS.md): the checked timestamp object matches its schema.
    let root = repo().join("keys/sample-tsa-root.pem");
    let root = root.to_str().unwrap();
    let v = json(cwd, &["verify", "ledger", "--json", "--tsa-cert", root]);
    assert_eq!(v["timestamps"][0]["checked"], true, "{v:#}");
    assert_output("verify.schema.json", &v, "verify --tsa-cert");
    run_ok(
        cwd,
        &["export", "ledger", "--figure", "27", "-o", "stamped.json"],
    );
    for extra in [&["--tsa-cert", root][..], &[]] {
        let mut args = vec!["check", "stamped.json", "--trust", vkey, "--json"];
        args.extend_from_slice(extra);
        let c = json(cwd, &args);
        assert_eq!(c["timestamps"].as_array().unwrap().len(), 1, "{c:#}");
        assert_eq!(c["timestamps"][0]["checked"], !extra.is_empty());
        assert_output(
            "check.schema.json",
            &c,
            &format!("check stamped.json {extra:?}"),
        );
    }
    // A shipped bundle under the shipped witness policy and TSA root (docs/SAMPLE.md): both
    // test witnesses cosigned, the token checked.
    let policy = repo().join("keys/sample-policy.txt");
    let c = json(
        cwd,
        &[
            "check",
            "ledger/bundles/figure-406.json",
            "--policy",
            policy.to_str().unwrap(),
            "--tsa-cert",
            root,
            "--json",
        ],
    );
    assert_eq!(c["witnessed"]["quorum_met"], true, "{c:#}");
    let ws = c["witnessed"]["witnesses"].as_array().unwrap();
    assert_eq!(ws.len(), 2, "{c:#}");
    assert!(ws.iter().all(|w| w["status"] == "cosigned"), "{c:#}");
    assert_eq!(c["timestamps"][0]["checked"], true, "{c:#}");
    assert_output("check.schema.json", &c, "check figure-406.json --policy");
}

/// A work dir with a `reviewer` key too, and ledger `L`: 0 genesis, 1 grant (researcher),
/// 2 grant (reviewer), 3 source (stored), 4 informant, 5 claim 108 (cites 3,4), 6 claim 60
/// (cites 3), 7 claim without a count (cites 4), 8 figure 168 = 5 + 6 (by the reviewer),
/// 9 figure 168 = 8, 10 correction of 5 to 107, 11 retraction of 6, 12 redaction of 3,
/// 13 revocation of the reviewer, 14 re-sourcing of 7 (citing 3 too), 15 figure 107 = 5
/// superseding 8, 16 claim 5 again, a deliberate repeat of 5, then a checkpoint: 17 the state
/// commitment.
fn built() -> Work {
    let w = Work::keyed();
    w.ok(&["key", "new", "reviewer"]);
    init_ledger(w.cwd(), "L", ORIGIN);
    let (re, rv, op) = (RESEARCHER_KEY, "keys/reviewer.key", OPERATOR_KEY);
    w.ok(&key_args("grant", "L", op, "keys/reviewer.pub", "reviewer"));
    fs::write(w.path("report.txt"), "A report on forced repatriation.\n").unwrap();
    fs::write(w.path("who.txt"), "Kim Chol-su, born 1980\n").unwrap();
    let mut source = source_args("L", re, "2025-10-15", "ngo-report");
    source.push("--store");
    w.ok(&source);
    w.ok(&informant_args("L", re, "Source A", "sealed/a.seal"));
    let mut claim = claim_args("L", re, "108 returned", "108", "f-r", "2024-01", "3,4");
    claim.extend(["--place", "X"]);
    w.ok(&claim);
    let range = "2024-01..2024-03";
    w.ok(&claim_args("L", re, "60 returned", "60", "f-r", range, "3"));
    let mut uncounted = claim_args("L", re, "context", "0", "c", "2024", "4");
    uncounted.drain(7..9); // drop `--count 0`: a claim without a count
    w.ok(&uncounted);
    for (key, label, sum, qualifier) in [
        (re, "Since 2024", "5,6", "at-least"),
        (rv, "All", "8", "exactly"),
    ] {
        let mut figure = figure_args("L", key, label, "168", sum);
        figure.extend(["--qualifier", qualifier]);
        w.ok(&figure);
    }
    w.ok(&[
        "correct", "L", "--key", re, "5", "--count", "107", "--reason", "dup",
    ]);
    w.ok(&["retract", "L", "--key", re, "6", "--reason", "unsupported"]);
    w.ok(&["redact", "L", "--key", re, "3", "--reason", "a witness"]);
    w.ok(&key_args("revoke", "L", op, "keys/reviewer.pub", "left"));
    w.ok(&[
        "cite",
        "L",
        "--key",
        re,
        "7",
        "--source",
        "3",
        "--reason",
        "the report says so too",
    ]);
    let mut successor = figure_args("L", re, "Since 2024, republished", "107", "5");
    successor.extend(["--qualifier", "at-least", "--supersedes", "8"]);
    w.ok(&successor);
    let mut again = claim_args("L", re, "108 returned", "108", "f-r", "2024-01", "3,4");
    again.extend(["--place", "X", "--allow-duplicate"]);
    w.ok(&again);
    // A second reviewer (the first was revoked) reviews the republished figure.
    w.ok(&["key", "new", "reviewer2"]);
    w.ok(&key_args(
        "grant",
        "L",
        op,
        "keys/reviewer2.pub",
        "reviewer",
    ));
    w.ok(&[
        "review",
        "L",
        "--key",
        "keys/reviewer2.key",
        "15",
        "--note",
        "terms checked",
    ]);
    w.ok(&["checkpoint", "L", "--key", op]);
    w
}

#[test]
fn a_ledger_with_every_kind_of_entry_matches_the_schemas() {
    let w = built();
    let cwd = w.cwd();
    let (lines, kinds) = check_ledger(cwd, "L");
    assert_eq!(lines.len(), 20);
    let again = json(cwd, &["show", "L", "16", "--json"]);
    assert_eq!(again["body"]["repeats"], 5);
    let all: BTreeSet<String> = ALL_KINDS.iter().map(ToString::to_string).collect();
    assert_eq!(kinds, all, "every kind of body was shown");

    // The figure beneath the correction and the retraction changed; 15 supersedes it, so
    // --strict fails on 9, which sums it and is not superseded.
    let f = json(cwd, &["figure", "L", "8", "--json"]);
    assert_eq!(f["current"], 107);
    assert_eq!(f["changed_by"], serde_json::json!([10, 11]));
    assert_eq!(f["superseded_by"], 15);
    let successor = json(cwd, &["show", "L", "15", "--json"]);
    assert_eq!(successor["body"]["supersedes"], 8);
    let strict = json(cwd, &["verify", "L", "--strict", "--json"]);
    assert_eq!(strict["ok"], false);
    assert_eq!(strict["error"]["entry"], 9);
    assert_output("verify.schema.json", &strict, "verify --strict");
    let v = json(cwd, &["verify", "L", "--json"]);
    assert_eq!(v["signers"][2]["revoked_at"], 13);
    assert_eq!(v["signers"][2]["signer"], lines[9]["signer"]);
    assert_eq!(
        json(cwd, &["figure", "L", "15", "--json"])["reviewed_by"],
        serde_json::json!([18])
    );

    // Bundles: the nested figure (with --document), an informant (no standing), a claim
    // without a count, the corrected claim; checked with the log's key and with another.
    let vkey = v["vkey"].as_str().unwrap();
    let wrong = w.ok(&["key", "vkey", "keys/researcher.pub", "--origin", ORIGIN]);
    for (how, n, extra) in [
        ("--figure", "9", Some("report.txt")),
        ("--entry", "4", None),
        ("--entry", "7", None),
        ("--entry", "5", None),
    ] {
        let out = format!("b{n}.json");
        w.ok(&["export", "L", how, n, "-o", &out, "--key", OPERATOR_KEY]);
        let mut args = vec!["check", out.as_str(), "--trust", vkey, "--json"];
        if let Some(doc) = extra {
            args.extend(["--document", doc]);
        }
        let ok = json(cwd, &args);
        assert_eq!(ok["ok"], true, "{ok:#}");
        assert_output("check.schema.json", &ok, &format!("{args:?}"));
        match n {
            "9" => assert_eq!(ok["document"]["sources"], serde_json::json!([3])),
            "4" => assert_eq!(ok["standing"], Value::Null),
            "7" => assert_eq!(ok["standing"]["published"], Value::Null),
            _ => assert_eq!(ok["standing"]["changed_by"], serde_json::json!([10])),
        }
        let bad = json(cwd, &["check", &out, "--trust", wrong.trim(), "--json"]);
        assert_eq!(bad["ok"], false);
        assert_output(
            "check.schema.json",
            &bad,
            &format!("check {out} (wrong key)"),
        );
    }
    // A file larger than any bundle is a failed check too, with the same verdict shape.
    let big = fs::File::create(w.path("big.json")).unwrap();
    big.set_len(custody_core::bundle::MAX_BUNDLE_BYTES as u64 + 1)
        .unwrap();
    let bad = json(cwd, &["check", "big.json", "--trust", vkey, "--json"]);
    assert_eq!(bad["ok"], false);
    assert_output("check.schema.json", &bad, "check of a file too large");
}

/// One example of docs/JSON.md: the block after an `<!-- example: SCHEMA[; sample: ARGS]
/// [; import: KEY] -->` comment.
struct Example {
    line: usize,
    schema: String,
    /// Arguments whose output, on the sample ledger, the example must equal.
    sample: Option<Vec<String>>,
    /// The key to import the example's lines with.
    import: Option<String>,
    /// JSON Lines (one value per line) rather than one value.
    jsonl: bool,
    text: String,
}

impl Example {
    fn values(&self) -> Vec<Value> {
        let parse = |t: &str| {
            serde_json::from_str(t)
                .unwrap_or_else(|e| panic!("docs/JSON.md:{}: not JSON: {e}\n{t}", self.line))
        };
        if self.jsonl {
            self.text.lines().map(parse).collect()
        } else {
            vec![parse(&self.text)]
        }
    }
}

fn examples() -> Vec<Example> {
    let doc = fs::read_to_string(repo().join("docs/JSON.md")).unwrap();
    let lines: Vec<&str> = doc.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let Some(attrs) = lines[i]
            .strip_prefix("<!-- example: ")
            .and_then(|s| s.strip_suffix(" -->"))
        else {
            i += 1;
            continue;
        };
        let mut parts = attrs.split("; ");
        let schema = parts.next().unwrap().to_string();
        let (mut sample, mut import) = (None, None);
        for p in parts {
            if let Some(args) = p.strip_prefix("sample: ") {
                sample = Some(args.split_whitespace().map(String::from).collect());
            } else if let Some(key) = p.strip_prefix("import: ") {
                import = Some(key.to_string());
            } else {
                panic!("docs/JSON.md:{}: unknown attribute {p:?}", i + 1);
            }
        }
        let fence = lines[i + 1];
        assert!(
            fence == "```json" || fence == "```jsonl",
            "docs/JSON.md:{}: an example comment must be followed by a json or jsonl block",
            i + 1
        );
        let end = (i + 2..lines.len())
            .find(|&j| lines[j] == "```")
            .unwrap_or_else(|| panic!("docs/JSON.md:{}: unclosed block", i + 2));
        out.push(Example {
            line: i + 3,
            schema,
            sample,
            import,
            jsonl: fence == "```jsonl",
            text: lines[i + 2..end].join("\n"),
        });
        i = end + 1;
    }
    out
}

#[test]
fn the_examples_in_json_md_match_their_schemas_and_the_sample() {
    let tmp = sample();
    let examples = examples();
    let mut covered = BTreeSet::new();
    for ex in &examples {
        covered.insert(ex.schema.clone());
        for v in ex.values() {
            assert_valid(&ex.schema, &v, &format!("docs/JSON.md:{}", ex.line));
        }
        let Some(args) = &ex.sample else { continue };
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        if ex.jsonl {
            let real: Vec<String> = run_ok(tmp.path(), &args)
                .lines()
                .map(String::from)
                .collect();
            for l in ex.text.lines() {
                assert!(
                    real.iter().any(|r| r == l),
                    "docs/JSON.md:{}: `custody {}` prints no line\n{l}",
                    ex.line,
                    args.join(" ")
                );
            }
        } else {
            let real = json(tmp.path(), &args);
            assert_eq!(
                ex.values()[0],
                real,
                "docs/JSON.md:{}: `custody {}` now prints\n{real:#}",
                ex.line,
                args.join(" ")
            );
        }
    }
    assert!(examples.iter().any(|e| e.sample.is_some()));
    let outputs: BTreeSet<String> = schemas()
        .raw
        .keys()
        .filter(|n| *n != "common.schema.json")
        .cloned()
        .collect();
    assert_eq!(
        covered, outputs,
        "every schema has an example in docs/JSON.md"
    );
    // Both verdicts of verify and check are shown.
    for schema in ["verify.schema.json", "check.schema.json"] {
        let oks: BTreeSet<bool> = examples
            .iter()
            .filter(|e| e.schema == schema)
            .map(|e| e.values()[0]["ok"].as_bool().unwrap())
            .collect();
        assert_eq!(
            oks.len(),
            2,
            "{schema}: an example of success and of failure"
        );
    }
}

/// The defaults of each import kind, from the schema's `default` annotations; every field a
/// kind does not require must have one.
fn import_defaults() -> BTreeMap<String, Map<String, Value>> {
    let schema = &schemas().raw["import-line.schema.json"];
    let mut out = BTreeMap::new();
    for branch in schema["oneOf"].as_array().unwrap() {
        let kind = branch["properties"]["kind"]["const"].as_str().unwrap();
        let required: BTreeSet<&str> = branch["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap())
            .collect();
        let mut d = Map::new();
        for (field, p) in branch["properties"].as_object().unwrap() {
            if required.contains(field.as_str()) {
                continue;
            }
            let default = p
                .get("default")
                .unwrap_or_else(|| panic!("{kind}.{field} is optional but has no default"));
            d.insert(field.clone(), default.clone());
        }
        out.insert(kind.to_string(), d);
    }
    out
}

#[test]
fn the_import_examples_are_accepted_and_shown_back_with_their_defaults() {
    let w = Work::keyed();
    let cwd = w.cwd();
    init_ledger(cwd, "I", ORIGIN);
    let defaults = import_defaults();
    let mut imported: Vec<Value> = Vec::new();
    for ex in examples().iter().filter(|e| e.import.is_some()) {
        assert_eq!(ex.schema, "import-line.schema.json");
        let file = format!("example-{}.jsonl", ex.line);
        fs::write(w.path(&file), format!("{}\n", ex.text)).unwrap();
        w.ok(&["import", "I", "--key", ex.import.as_ref().unwrap(), &file]);
        imported.extend(ex.values());
    }
    assert!(imported.len() >= 10, "the doc shows an import of each kind");
    let kinds: BTreeSet<&str> = imported
        .iter()
        .map(|l| l["kind"].as_str().unwrap())
        .collect();
    // Genesis and state commitments are the operator's record of the log itself (`init`,
    // `checkpoint`); the import schema leaves them out. A review needs a reviewer's key, which
    // these examples' ledger does not grant: tests/roles.rs imports one.
    let importable: BTreeSet<&str> = ALL_KINDS
        .iter()
        .copied()
        .filter(|k| !matches!(*k, "genesis" | "state-commitment" | "review"))
        .collect();
    assert_eq!(
        kinds, importable,
        "an import example of every kind but genesis, state-commitment and review"
    );
    for (i, line) in imported.iter().enumerate() {
        let index = (i + 2).to_string();
        let entry = json(cwd, &["show", "I", &index, "--json"]);
        assert_output(
            "entry.schema.json",
            &entry,
            &format!("imported entry {index}"),
        );
        let mut want = line.as_object().unwrap().clone();
        for (k, d) in &defaults[line["kind"].as_str().unwrap()] {
            want.entry(k.clone()).or_insert_with(|| d.clone());
        }
        assert_eq!(entry["body"], Value::Object(want), "entry {index}");
    }
    let v = json(cwd, &["verify", "I", "--json"]);
    assert_eq!(v["ok"], true);
    assert_eq!(v["entries"], imported.len() + 2);

    // Each broken copy of an example line is refused by the schema and by `custody import`,
    // for the schema's reason (not a rule of the ledger); a line without a defaulted field
    // still matches.
    let before = log_lines(cwd, "I").len();
    let mut refused = 0;
    for line in &imported {
        let kind = line["kind"].as_str().unwrap();
        let optional = |at: &str| {
            at.strip_prefix('/')
                .is_some_and(|f| defaults[kind].contains_key(f))
        };
        for f in defaults[kind].keys() {
            let mut lean = line.clone();
            lean.as_object_mut().unwrap().remove(f);
            assert_valid(
                "import-line.schema.json",
                &lean,
                &format!("{kind} without {f}"),
            );
        }
        for (defect, b) in broken(line, &optional) {
            assert!(
                !validator("import-line.schema.json").is_valid(&b),
                "import-line.schema.json accepts a {kind} line with {defect}: {b}"
            );
            // Uppercase hex decodes (the schema asks for the canonical lowercase form).
            if defect.starts_with("uppercase") {
                continue;
            }
            fs::write(w.path("bad.jsonl"), format!("{b}\n")).unwrap();
            let err = w.fails(2, &["import", "I", "--key", RESEARCHER_KEY, "bad.jsonl"]);
            let parse_error = [
                "unknown field",
                "missing field",
                "unknown variant",
                "invalid type",
                "not 64 hex digits",
                "invalid length",
            ];
            assert!(
                err.contains("line 1: ") && parse_error.iter().any(|p| err.contains(p)),
                "a {kind} line with {defect}: custody import did not refuse it as malformed: {err}"
            );
            refused += 1;
        }
    }
    assert!(refused > 50, "{refused}");
    assert_eq!(log_lines(cwd, "I").len(), before, "nothing was appended");
}

#[test]
fn a_submission_file_shows_as_its_schema_says() {
    let w = tempfile::tempdir().unwrap();
    let cwd = w.path();
    common::make_keys(cwd);
    run_ok(
        cwd,
        &[
            "sign",
            "claim",
            "--key",
            "keys/researcher.key",
            "--origin",
            "example.org/s",
            "-o",
            "c.cust",
            "--statement",
            "3 seen",
            "--count",
            "3",
            "--category",
            "c",
            "--period",
            "2024",
            "--source",
            "2",
        ],
    );
    let v = json(cwd, &["show", "c.cust", "--json"]);
    assert_output("submission.schema.json", &v, "show c.cust");
    assert_eq!(v["signer"]["name"], Value::Null);
    assert_eq!(v["body"]["count"], 3);
}

#[test]
fn witnessed_reports_match_their_schemas() {
    let w = Work::keyed();
    let cwd = w.cwd();
    init_ledger(cwd, "L", ORIGIN);
    fs::write(w.path("report.txt"), "report").unwrap();
    run_ok(cwd, &source_args("L", RESEARCHER_KEY, "2025", "ngo-report"));
    run_ok(
        cwd,
        &claim_args("L", RESEARCHER_KEY, "12 returned", "12", "c", "2024", "2"),
    );
    run_ok(cwd, &["checkpoint", "L", "--key", OPERATOR_KEY]);
    let (alpha, beta) = (
        TestWitness::new("witness.example.com/alpha", 7),
        TestWitness::new("witness.example.net/beta", 8),
    );
    let cp = checkpoint_files(&w.path("L")).pop().unwrap();
    alpha.cosign_file(&cp, 1_760_486_400);
    let log = run_ok(
        cwd,
        &["key", "vkey", "keys/operator.pub", "--origin", ORIGIN],
    );
    fs::write(
        w.path("policy.txt"),
        format!(
            "log {}\nwitness alpha {}\nwitness beta {}\ngroup g any alpha beta\nquorum g\n",
            log.trim(),
            alpha.vkey(),
            beta.vkey()
        ),
    )
    .unwrap();
    let v = json(cwd, &["verify", "L", "--policy", "policy.txt", "--json"]);
    assert_eq!(
        v["witnessed"]["witnesses"][0]["status"], "cosigned",
        "{v:#}"
    );
    assert_eq!(v["witnessed"]["witnesses"][1]["status"], "absent");
    assert_eq!(v["trust"]["anchor"], "policy");
    assert_output("verify.schema.json", &v, "verify --policy");
    run_ok(
        cwd,
        &[
            "export",
            "L",
            "--entry",
            "3",
            "--policy",
            "policy.txt",
            "-o",
            "b.json",
        ],
    );
    let c = json(
        cwd,
        &["check", "b.json", "--policy", "policy.txt", "--json"],
    );
    assert_eq!(c["witnessed"]["witnesses"][0]["time_unix"], 1_760_486_400);
    assert_output("check.schema.json", &c, "check --policy");
    // Without a policy the member is null; a quorum that fails is a failure, not a report.
    let c = json(cwd, &["check", "b.json", "--trust", log.trim(), "--json"]);
    assert_eq!(c["witnessed"], Value::Null);
    fs::write(
        w.path("strict.txt"),
        format!(
            "log {}\nwitness alpha {}\nwitness beta {}\ngroup g all alpha beta\nquorum g\n",
            log.trim(),
            alpha.vkey(),
            beta.vkey()
        ),
    )
    .unwrap();
    for args in [
        vec!["check", "b.json", "--policy", "strict.txt", "--json"],
        vec!["verify", "L", "--policy", "strict.txt", "--json"],
    ] {
        let out = run(cwd, &args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let f: Value = serde_json::from_slice(&out.stdout).unwrap();
        let schema = format!("{}.schema.json", args[0]);
        assert_output(&schema, &f, &format!("{args:?}"));
        assert!(
            f["error"]["reason"].as_str().unwrap().contains("quorum"),
            "{f:#}"
        );
    }
}
