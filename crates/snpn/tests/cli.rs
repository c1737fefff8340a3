//! The `snpn` binary: key calculator outputs (JSON keys and values), bad input handling and
//! the demo, run as a user would run them.

use std::process::{Command, Output};

use serde_json::Value;

fn snpn(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_snpn"))
        .args(args)
        .output()
        .expect("run snpn")
}

fn json(args: &[&str]) -> serde_json::Map<String, Value> {
    let mut a = args.to_vec();
    a.push("--json");
    let out = snpn(&a);
    assert!(
        out.status.success(),
        "snpn {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    match serde_json::from_slice(&out.stdout).expect("one JSON object") {
        Value::Object(m) => m,
        other => panic!("not an object: {other}"),
    }
}

fn keys_of(m: &serde_json::Map<String, Value>) -> Vec<&str> {
    m.keys().map(String::as_str).collect()
}

const SET1: &[&str] = &[
    "--k",
    "465b5ce8b199b49faa5f0a2ee238a6bc",
    "--rand",
    "23553cbe9637a89d218ae64dae47bf35",
    "--sqn",
    "ff9bb4d0b607",
    "--amf",
    "b9b9",
];

#[test]
fn milenage_json_keys_and_values_ts_35_208_set_1() {
    for op in [
        ["--op", "cdc202d5123e20f62b6d676ac72cb318"],
        ["--opc", "cd63cb71954a9f4e48a5994e37a02baf"],
    ] {
        let mut args = vec!["keys", "milenage"];
        args.extend_from_slice(SET1);
        args.extend_from_slice(&op);
        let m = json(&args);
        assert_eq!(
            keys_of(&m),
            ["opc", "mac_a", "mac_s", "res", "ck", "ik", "ak", "ak_star"]
        );
        assert_eq!(m["opc"], "cd63cb71954a9f4e48a5994e37a02baf");
        assert_eq!(m["mac_a"], "4a9ffac354dfafb3");
        assert_eq!(m["mac_s"], "01cfaf9ec4e871e9");
        assert_eq!(m["res"], "a54211d5e3ba50bf");
        assert_eq!(m["ck"], "b40ba9a3c58b2a05bbf0d987b21bf8cb");
        assert_eq!(m["ik"], "f769bcd751044604127672711c6d3441");
        assert_eq!(m["ak"], "aa689c648370");
        assert_eq!(m["ak_star"], "451e8beca43b");
    }
}

#[test]
fn five_g_aka_json_matches_an_independently_published_vector() {
    // wmnsk/milenage: K = OP = RAND = 00112233…ff, SQN 1, AMF 8000, SNN of 001/01.
    let m = json(&[
        "keys",
        "5g-aka",
        "--k",
        "00112233445566778899AABBCCDDEEFF",
        "--op",
        "00112233445566778899aabbccddeeff",
        "--rand",
        "00112233445566778899aabbccddeeff",
        "--sqn",
        "000000000001",
        "--amf",
        "8000",
        "--snn",
        "5G:mnc001.mcc001.3gppnetwork.org",
        "--supi",
        "imsi-001010123456789",
    ]);
    assert_eq!(
        keys_of(&m),
        [
            "opc",
            "mac_a",
            "mac_s",
            "res",
            "ck",
            "ik",
            "ak",
            "ak_star",
            "autn",
            "xres_star",
            "hxres_star",
            "kausf",
            "kseaf",
            "kamf"
        ]
    );
    assert_eq!(m["opc"], "62e75b8d6fa5bf46ec87a9276f9df54d");
    assert_eq!(m["autn"], "de656c8b0bcf80004af30b82a8531115");
    assert_eq!(m["xres_star"], "31b6d938a5290ccc65bc829f9820a8d9");
    assert_eq!(m["hxres_star"], "3308fb7cf06a35f1cd086b904ce82ecf");
    for k in ["kausf", "kseaf", "kamf"] {
        let v = m[k].as_str().unwrap();
        assert_eq!(v.len(), 64);
        assert!(v
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    }
}

#[test]
fn five_g_aka_abba_changes_only_kamf() {
    let base = [
        "keys",
        "5g-aka",
        "--k",
        "465b5ce8b199b49faa5f0a2ee238a6bc",
        "--opc",
        "cd63cb71954a9f4e48a5994e37a02baf",
        "--rand",
        "23553cbe9637a89d218ae64dae47bf35",
        "--sqn",
        "ff9bb4d0b607",
        "--amf",
        "b9b9",
        "--snn",
        "5G:mnc001.mcc001.3gppnetwork.org",
        "--supi",
        "nai-dev1@snpn.example",
    ];
    let a = json(&base);
    let mut with_abba = base.to_vec();
    with_abba.extend_from_slice(&["--abba", "0001"]);
    let b = json(&with_abba);
    assert_eq!(a["kseaf"], b["kseaf"]);
    assert_ne!(a["kamf"], b["kamf"]);
}

#[test]
fn eap_aka_prime_rfc_9048_case_2() {
    let m = json(&[
        "keys",
        "eap-aka-prime",
        "--ck",
        "5349fbe098649f948f5d2e973a81c00f",
        "--ik",
        "9744871ad32bf9bbd1dd5ce54e3e2e5a",
        "--network-name",
        "HRPD",
        "--sqn-xor-ak",
        "bb52e91c747a",
        "--identity",
        "0555444333222111",
    ]);
    assert_eq!(
        keys_of(&m),
        ["ck_prime", "ik_prime", "k_encr", "k_aut", "k_re", "msk", "emsk", "kausf"]
    );
    assert_eq!(m["ck_prime"], "3820f0277fa5f77732b1fb1d90c1a0da");
    assert_eq!(m["ik_prime"], "db94a0ab557ef6c9ab48619ca05b9a9f");
    assert_eq!(m["k_encr"], "05ad73ac915fce89ac77e1520d82187b");
    assert_eq!(m["emsk"], "c891d5f20f148a1007553e2dea555c9cb672e9675f4a66b4bafa027379f93aee539a5979d0a0042b9d2ae28bed3b17a31dc8ab75072b80bd0c1da612466e402c");
    assert_eq!(
        m["kausf"],
        "c891d5f20f148a1007553e2dea555c9cb672e9675f4a66b4bafa027379f93aee"
    );
}

#[test]
fn akma_json_keys_and_a_kid_form() {
    let m = json(&[
        "keys",
        "akma",
        "--kausf",
        "20de4eb2b75c8dac301ad52773e2e37bd7b4b0c2fdb1c3751b98dd0df846aed5",
        "--supi",
        "imsi-001010123456789",
        "--af-fqdn",
        "pvs.snpn.example",
        "--ua-protocol",
        "0100000007",
        "--routing-indicator",
        "17",
        "--hnid",
        "5gc.mnc001.mcc001.3gppnetwork.org",
    ]);
    assert_eq!(keys_of(&m), ["kakma", "a_tid", "a_kid", "kaf"]);
    let a_tid = m["a_tid"].as_str().unwrap();
    assert_eq!(a_tid.len(), 64);
    assert_eq!(
        m["a_kid"].as_str().unwrap(),
        format!("17{a_tid}@5gc.mnc001.mcc001.3gppnetwork.org")
    );
    // A different Ua* protocol gives a different K_AF but the same K_AKMA.
    let m2 = json(&[
        "keys",
        "akma",
        "--kausf",
        "20de4eb2b75c8dac301ad52773e2e37bd7b4b0c2fdb1c3751b98dd0df846aed5",
        "--supi",
        "imsi-001010123456789",
        "--af-fqdn",
        "pvs.snpn.example",
        "--ua-protocol",
        "01000100a8",
    ]);
    assert_eq!(m["kakma"], m2["kakma"]);
    assert_ne!(m["kaf"], m2["kaf"]);
    assert_eq!(
        m2["a_kid"].as_str().unwrap(),
        format!("0{a_tid}@5gc.mnc001.mcc001.3gppnetwork.org")
    );
}

#[test]
fn suci_conceal_then_deconceal_with_both_profiles() {
    let cases = [
        (
            "a",
            "5a8d38864820197c3394b92613b20b91633cbd897119273bf8e4a6f4eec0a650",
            "c53c22208b61860b06c62e5406a7b330c2b577aa5558981510d128247d38bd1d",
        ),
        (
            "b",
            "0272da71976234ce833a6907425867b82e074d44ef907dfb4b3e21c1c2256ebcd1",
            "f1ab1074477ebcc7f554ea1c5fc368b1616730155e0041ac447d6301975fecda",
        ),
    ];
    for (scheme, pk, sk) in cases {
        for supi in [
            "imsi-310260123456789",
            "imsi-20893001002086",
            "nai-sensor-7@factory.example",
        ] {
            let c = json(&[
                "keys",
                "suci",
                "conceal",
                "--supi",
                supi,
                "--scheme",
                scheme,
                "--hn-pubkey",
                pk,
                "--hn-key-id",
                "5",
                "--routing-indicator",
                "42",
            ]);
            assert_eq!(keys_of(&c), ["suci"]);
            let suci = c["suci"].as_str().unwrap();
            assert!(
                suci.contains(&format!("-42-{}-5-", if scheme == "a" { 1 } else { 2 })),
                "{suci}"
            );
            let d = json(&[
                "keys",
                "suci",
                "deconceal",
                "--suci",
                suci,
                "--hn-privkey",
                sk,
            ]);
            assert_eq!(keys_of(&d), ["supi"]);
            assert_eq!(d["supi"], supi);
        }
    }
    // MNC length: 310 uses 3-digit MNCs by default; --mnc-len overrides.
    let c = json(&[
        "keys",
        "suci",
        "conceal",
        "--supi",
        "imsi-310260123456789",
        "--scheme",
        "null",
    ]);
    assert_eq!(c["suci"], "suci-0-310-260-0-0-0-123456789");
    let c = json(&[
        "keys",
        "suci",
        "conceal",
        "--supi",
        "imsi-310260123456789",
        "--scheme",
        "null",
        "--mnc-len",
        "2",
    ]);
    assert_eq!(c["suci"], "suci-0-310-26-0-0-0-0123456789");
}

#[test]
fn suci_shared_vectors_deconceal() {
    let d = json(&[
        "keys",
        "suci",
        "deconceal",
        "--suci",
        "suci-0-208-93-0-0-0-00007487",
    ]);
    assert_eq!(d["supi"], "imsi-2089300007487");
    let d = json(&[
        "keys", "suci", "deconceal", "--suci",
        "suci-0-208-93-0-1-1-b2e92f836055a255837debf850b528997ce0201cb82adfe4be1f587d07d8457dcb02352410cddd9e730ef3fa87",
        "--hn-privkey", "c53c22208b61860b06c62e5406a7b330c2b577aa5558981510d128247d38bd1d",
    ]);
    assert_eq!(d["supi"], "imsi-20893001002086");
}

/// Bad input: exit code 2, exactly one line on stderr, naming the field.
#[test]
fn bad_input_exits_2_with_one_line_naming_the_field() {
    let k = "465b5ce8b199b49faa5f0a2ee238a6bc";
    let opc = "cd63cb71954a9f4e48a5994e37a02baf";
    let rand = "23553cbe9637a89d218ae64dae47bf35";
    let key32 = "ab".repeat(32);
    let key32 = key32.as_str();
    let bad_point = format!("02{}", "ff".repeat(32));
    let ones = "11".repeat(32);
    let twelve = "12".repeat(32);
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["keys", "milenage", "--k", "465", "--opc", opc, "--rand", rand, "--sqn", "ff9bb4d0b607", "--amf", "b9b9"], "--k"),
        (vec!["keys", "milenage", "--k", k, "--opc", "zz63cb71954a9f4e48a5994e37a02baf", "--rand", rand, "--sqn", "ff9bb4d0b607", "--amf", "b9b9"], "--opc"),
        (vec!["keys", "milenage", "--k", k, "--opc", opc, "--rand", "2355", "--sqn", "ff9bb4d0b607", "--amf", "b9b9"], "--rand"),
        (vec!["keys", "milenage", "--k", k, "--opc", opc, "--rand", rand, "--sqn", "ff9bb4d0b6", "--amf", "b9b9"], "--sqn"),
        (vec!["keys", "milenage", "--k", k, "--opc", opc, "--rand", rand, "--sqn", "ff9bb4d0b607", "--amf", "b9"], "--amf"),
        (vec!["keys", "milenage", "--k", k, "--rand", rand, "--sqn", "ff9bb4d0b607", "--amf", "b9b9"], "--op"),
        (vec!["keys", "5g-aka", "--k", k, "--opc", opc, "--rand", rand, "--sqn", "ff9bb4d0b607", "--amf", "b9b9", "--snn", "mnc001", "--supi", "imsi-001010000000001"], "--snn"),
        (vec!["keys", "5g-aka", "--k", k, "--opc", opc, "--rand", rand, "--sqn", "ff9bb4d0b607", "--amf", "b9b9", "--snn", "5G:x", "--supi", "001010000000001"], "--supi"),
        (vec!["keys", "5g-aka", "--k", k, "--opc", opc, "--rand", rand, "--sqn", "ff9bb4d0b607", "--amf", "b9b9", "--snn", "5G:x", "--supi", "nai-nobody"], "--supi"),
        (vec!["keys", "5g-aka", "--k", k, "--opc", opc, "--rand", rand, "--sqn", "ff9bb4d0b607", "--amf", "b9b9", "--snn", "5G:x", "--supi", "imsi-001010000000001", "--abba", "00"], "--abba"),
        (vec!["keys", "eap-aka-prime", "--ck", k, "--ik", k, "--network-name", "WLAN", "--sqn-xor-ak", "bb52e91c747", "--identity", "x"], "--sqn-xor-ak"),
        (vec!["keys", "akma", "--kausf", k, "--supi", "imsi-001010000000001", "--af-fqdn", "a.b", "--ua-protocol", "0100000007"], "--kausf"),
        (vec!["keys", "akma", "--kausf", key32, "--supi", "imsi-001010000000001", "--af-fqdn", "a.b", "--ua-protocol", "01000000"], "--ua-protocol"),
        (vec!["keys", "akma", "--kausf", key32, "--supi", "imsi-001010000000001", "--af-fqdn", "a b", "--ua-protocol", "0100000007"], "--af-fqdn"),
        (vec!["keys", "akma", "--kausf", key32, "--supi", "imsi-001010000000001", "--af-fqdn", "a.b", "--ua-protocol", "0100000007", "--routing-indicator", "12345"], "--routing-indicator"),
        (vec!["keys", "akma", "--kausf", key32, "--supi", "imsi-001010000000001", "--af-fqdn", "a.b", "--ua-protocol", "0100000007", "--hnid", "bad realm"], "--hnid"),
        (vec!["keys", "suci", "conceal", "--supi", "imsi-001010000000001", "--scheme", "c", "--hn-pubkey", "00", "--hn-key-id", "1"], "--scheme"),
        (vec!["keys", "suci", "conceal", "--supi", "imsi-001010000000001", "--scheme", "a", "--hn-pubkey", "0011", "--hn-key-id", "1"], "--hn-pubkey"),
        (vec!["keys", "suci", "conceal", "--supi", "imsi-001010000000001", "--scheme", "b", "--hn-pubkey", &bad_point, "--hn-key-id", "1"], "--hn-pubkey"),
        (vec!["keys", "suci", "conceal", "--supi", "imsi-001010000000001", "--scheme", "a", "--hn-pubkey", &ones, "--hn-key-id", "256"], "--hn-key-id"),
        (vec!["keys", "suci", "conceal", "--supi", "imsi-001010000000001", "--scheme", "null", "--hn-key-id", "3"], "--hn-key-id"),
        (vec!["keys", "suci", "deconceal", "--suci", "suci-0-208-93-0-1-1-00"], "--suci"),
        (vec!["keys", "suci", "deconceal", "--suci", "suci-0-208-93-0-9-1-0011223344"], "--suci"),
        (vec!["keys", "suci", "deconceal", "--suci", "imsi-001010000000001"], "--suci"),
        (vec!["keys", "suci", "deconceal", "--suci", "suci-0-208-93-0-2-2-0434a66778799d52fedd9326db4b690d092e05c9ba0ace5b413dafc0a40aa28ee00a79f790fa4da6a2ece892423adb130dc1b30e270b7d0088bdd716b93894891d5221a74c810d6b9350cc067c76", "--hn-privkey", "f1ab1074477ebcc7f554ea1c5fc368b1616730155e0041ac447d6301975fecda"], "--suci"),
        (vec!["keys", "suci", "deconceal", "--suci", "suci-0-208-93-0-1-1-b2e92f836055a255837debf850b528997ce0201cb82adfe4be1f587d07d8457dcb02352410cddd9e730ef3fa87"], "--hn-privkey"),
        (vec!["keys", "suci", "deconceal", "--suci", "suci-0-208-93-0-1-1-b2e92f836055a255837debf850b528997ce0201cb82adfe4be1f587d07d8457dcb02352410cddd9e730ef3fa87", "--hn-privkey", &twelve], "--suci"),
    ];
    for (args, field) in cases {
        let out = snpn(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(field), "{args:?} should name {field}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn demo_runs_and_all_keys_agree() {
    let dir = std::env::temp_dir().join(format!("snpn-demo-cli-{:08x}", rand::random::<u32>()));
    std::fs::create_dir_all(&dir).unwrap();
    let mmd = dir.join("flow.mmd");
    let mmd_s = mmd.to_str().unwrap();
    let m = json(&["demo", "--ues", "4", "--mermaid", mmd_s]);
    assert_eq!(m["ues"], 4);
    assert_eq!(m["onboarded"], 4);
    assert_eq!(m["failed"], 0);
    assert_eq!(m["joined_snpn"], 4);
    for k in ["rate_per_s", "p50_ms", "p99_ms"] {
        assert!(m[k].as_f64().unwrap() > 0.0, "{k}");
    }
    for step in [
        "register_on",
        "attestation",
        "est",
        "credentials",
        "join_snpn",
    ] {
        assert!(
            m["steps_ms"][step]["p50"].as_f64().unwrap() > 0.0,
            "{step}: {m:?}"
        );
    }
    assert_eq!(
        m["steps_ms"]["est"]["n"], 2,
        "half the UEs enroll over EST: {m:?}"
    );
    let flow = std::fs::read_to_string(&mmd).unwrap();
    assert!(flow.starts_with("sequenceDiagram"), "{flow}");
    assert!(flow.contains("PUT authentication-subscription"), "{flow}");
    let out = snpn(&["demo", "--ues", "2", "--mermaid", mmd_s]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("K_AF at the PVS (AAnF)"), "{text}");
    assert!(
        text.contains("2 onboarded, 0 failed, 2 joined the SNPN"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn snpn_in(dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_snpn"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run snpn")
}

#[test]
fn ue_attester_files_evidence_and_key_rotation() {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("snpn-cli-att-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = snpn_in(
        &dir,
        &[
            "ue",
            "manufacture",
            "--out",
            "ue.json",
            "--record",
            "rec.jsonl",
            "--attestation-alg",
            "eddsa",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key = dir.join("ue.json.akm");
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let rec: Value = serde_json::from_str(
        std::fs::read_to_string(dir.join("rec.jsonl"))
            .unwrap()
            .trim(),
    )
    .unwrap();
    assert_eq!(rec["attestation"]["alg"], "EdDSA");
    assert!(rec["attestation"]["key"]
        .as_str()
        .unwrap()
        .starts_with("-----BEGIN PUBLIC KEY-----"));
    assert_eq!(rec["attestation"]["reference"]["swversions"][0], "1.0.0");
    let ue: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("ue.json")).unwrap()).unwrap();
    assert_eq!(ue["attestation"]["key_file"], "ue.json.akm");

    let nonce = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
    let out = snpn_in(
        &dir,
        &["ue", "evidence", "--ue", "ue.json", "--nonce", nonce],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cwt = snpn_rats::b64u_decode(String::from_utf8_lossy(&out.stdout).trim()).unwrap();
    let p = snpn_rats::eat::parse_cwt(&cwt).unwrap();
    assert_eq!(p.alg, snpn_rats::keys::Alg::EdDsa);
    assert_eq!(p.claims.nonces[0], snpn_rats::b64u_decode(nonce).unwrap());
    let out = snpn_in(
        &dir,
        &[
            "ue", "evidence", "--ue", "ue.json", "--nonce", nonce, "--format", "jwt",
        ],
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .split('.')
            .count(),
        3
    );

    // Bad input: exit 2 naming the flag.
    for (args, field) in [
        (
            vec!["ue", "evidence", "--ue", "ue.json", "--nonce", "AAAA"],
            "--nonce",
        ),
        (
            vec![
                "ue",
                "evidence",
                "--ue",
                "ue.json",
                "--nonce",
                nonce,
                "--binding",
                "!!",
            ],
            "--binding",
        ),
        (
            vec![
                "ue",
                "manufacture",
                "--out",
                "x.json",
                "--record",
                "r.jsonl",
                "--attestation-alg",
                "rs256",
            ],
            "--attestation-alg",
        ),
        (vec!["admin", "dcs", "revoke", "zz"], "UEID"),
        (
            vec![
                "admin",
                "dcs",
                "rotate-key",
                "0102030405060708",
                "--alg",
                "none",
                "--key",
                "k",
            ],
            "--alg",
        ),
    ] {
        let out = snpn_in(&dir, &args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(field), "{args:?}: {err}");
    }

    // A key file others may read is refused.
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = snpn_in(
        &dir,
        &["ue", "evidence", "--ue", "ue.json", "--nonce", nonce],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("0600"));
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();

    // Rotation to ES256: the new public key is printed, the evidence uses the new key.
    let out = snpn_in(
        &dir,
        &[
            "ue",
            "new-attestation-key",
            "--ue",
            "ue.json",
            "--alg",
            "es256",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let public = String::from_utf8_lossy(&out.stdout).to_string();
    let vk = snpn_rats::keys::VerifyingKey::from_pem_or_hex(snpn_rats::keys::Alg::Es256, &public)
        .unwrap();
    let out = snpn_in(
        &dir,
        &["ue", "evidence", "--ue", "ue.json", "--nonce", nonce],
    );
    let cwt = snpn_rats::b64u_decode(String::from_utf8_lossy(&out.stdout).trim()).unwrap();
    snpn_rats::eat::parse_cwt(&cwt)
        .unwrap()
        .verify(&vk)
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
