//! Appraisal of evidence (RFC 9334 §3.2, the Verifier): the device's identity and key, the
//! freshness of the evidence, and its claims against the device's reference values and its
//! model's appraisal policy. The outcome is an EAR appraisal with an AR4SI trustworthiness
//! vector and, when anything fails, the reasons; never an error.
//!
//! | check | failing value |
//! |---|---|
//! | UEID unknown | instance-identity 97 |
//! | device revoked | instance-identity 96 |
//! | malformed token, algorithm or signature | instance-identity 99 |
//! | nonce not this session's, binding data absent, `exp`/`nbf`, foreign `eat_profile` | status contraindicated |
//! | oemid or hwmodel not the device's | hardware 97 |
//! | debug enabled (policy: disabled) or dbgstat absent | configuration 96 |
//! | debug enabled (policy allows) | configuration 32 |
//! | oemboot false or absent (policy: required) | executables 96 |
//! | swname not the device's; a measurement differing or absent | executables 96 |
//! | swversion not a reference version; an unknown component measured | executables 33 |

use serde::{Deserialize, Serialize};
use serde_json::{json, Map as JsonMap, Value as Json};
use subtle::ConstantTimeEq;

use crate::ear::{claim, escalate, EarAppraisal, TrustTier, TrustVector};
use crate::eat::{Measurement, Oemid, ParsedEvidence, DBGSTAT_NAMES, EAT_PROFILE};
use crate::keys::VerifyingKey;
use crate::{b64u, RatsError};

/// Clock skew tolerated for `exp` and `nbf`, seconds.
pub const LEEWAY_S: i64 = 60;

/// A device's reference values (endorsed by its manufacturer).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReferenceValues {
    /// OEM identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oemid: Option<Oemid>,
    /// Hardware model, hexadecimal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^([A-Fa-f0-9]{2}){1,32}$")]
    pub hwmodel: Option<String>,
    /// Software name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 128)]
    pub swname: Option<String>,
    /// Approved software versions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub swversions: Vec<String>,
    /// Expected digests of the measured components.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub measurements: Vec<Measurement>,
}

/// An appraisal policy, per hardware model.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Policy identifier, reported in `ear_appraisal_policy_ids`.
    pub id: String,
    /// The hardware model (hexadecimal) it governs; `None`: every model without its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hwmodel: Option<String>,
    /// Debug must be disabled.
    #[serde(default = "yes")]
    pub require_debug_disabled: bool,
    /// The device must have booted OEM-authorised software.
    #[serde(default = "yes")]
    pub require_oemboot: bool,
    /// Every reference measurement must be present and match.
    #[serde(default = "yes")]
    pub require_measurements: bool,
}

impl ReferenceValues {
    /// Checks the forms (hexadecimal model of 1–32 octets, 32-octet digests, OEMID sizes);
    /// the error names the field.
    pub fn validate(&self) -> Result<(), RatsError> {
        if let Some(o) = &self.oemid {
            o.validate()?;
        }
        if let Some(h) = &self.hwmodel {
            match hex::decode(h) {
                Ok(b) if (1..=32).contains(&b.len()) => {}
                _ => return Err(RatsError::Claim("hwmodel", "1 to 32 octets, hexadecimal")),
            }
        }
        if self.swname.as_ref().is_some_and(|s| s.len() > 128) {
            return Err(RatsError::Claim("swname", "at most 128 characters"));
        }
        if self.swversions.iter().any(|v| v.is_empty() || v.len() > 64) {
            return Err(RatsError::Claim("swversions", "1 to 64 characters each"));
        }
        if self.measurements.len() > 64 {
            return Err(RatsError::Claim("measurements", "at most 64"));
        }
        for m in &self.measurements {
            if m.name.is_empty() || m.name.len() > 128 {
                return Err(RatsError::Claim(
                    "measurements",
                    "names are 1 to 128 characters",
                ));
            }
            if m.digest.len() != 64 || hex::decode(&m.digest).is_err() {
                return Err(RatsError::Claim(
                    "measurements",
                    "digests are SHA-256, 64 hex digits",
                ));
            }
        }
        Ok(())
    }
}

fn yes() -> bool {
    true
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            id: "urn:snpn:policy:default:1".into(),
            hwmodel: None,
            require_debug_disabled: true,
            require_oemboot: true,
            require_measurements: true,
        }
    }
}

impl Policy {
    /// The policy for a hardware model (hexadecimal): its own, else the default one, else
    /// [`Policy::default`].
    pub fn select<'a>(
        policies: &'a [Policy],
        hwmodel: Option<&str>,
    ) -> std::borrow::Cow<'a, Policy> {
        let own = hwmodel.and_then(|h| {
            policies.iter().find(|p| {
                p.hwmodel
                    .as_deref()
                    .is_some_and(|m| m.eq_ignore_ascii_case(h))
            })
        });
        match own.or_else(|| policies.iter().find(|p| p.hwmodel.is_none())) {
            Some(p) => std::borrow::Cow::Borrowed(p),
            None => std::borrow::Cow::Owned(Policy::default()),
        }
    }
}

/// Registry status of a device.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeviceStatus {
    /// May onboard.
    Active,
    /// Must not.
    Revoked,
}

/// A device of the registry, as the appraisal needs it.
#[derive(Debug)]
pub struct Device<'a> {
    /// Registry status.
    pub status: DeviceStatus,
    /// Attestation verification key (`None`: none registered).
    pub key: Option<&'a VerifyingKey>,
    /// Reference values.
    pub reference: &'a ReferenceValues,
    /// Onboarding SUPI, reported to the relying party.
    pub onboarding_supi: Option<&'a str>,
}

/// The challenge the evidence must answer.
#[derive(Debug, Clone, Copy)]
pub struct Challenge<'a> {
    /// The session's nonce.
    pub nonce: &'a [u8],
    /// Binding data the evidence must also carry as a nonce (e.g. a TLS exporter value).
    pub binding: Option<&'a [u8]>,
    /// Current time, seconds since the epoch.
    pub now: i64,
}

struct Verdict {
    vector: TrustVector,
    reasons: Vec<String>,
    contraindicated: bool,
}

impl Verdict {
    fn new() -> Self {
        Self {
            vector: TrustVector::default(),
            reasons: Vec::new(),
            contraindicated: false,
        }
    }

    fn fail(&mut self, reason: impl Into<String>) {
        self.reasons.push(reason.into());
        self.contraindicated = true;
    }

    fn finish(
        self,
        policy: &Policy,
        nonce: Option<&[u8]>,
        attester: Option<JsonMap<String, Json>>,
        supi: Option<&str>,
    ) -> EarAppraisal {
        let mut status = self.vector.worst_tier();
        if self.contraindicated {
            status = TrustTier::Contraindicated;
        }
        let mut verifier = JsonMap::new();
        if !self.reasons.is_empty() {
            verifier.insert("reasons".into(), json!(self.reasons));
        }
        if let Some(s) = supi {
            verifier.insert("onboarding_supi".into(), json!(s));
        }
        EarAppraisal {
            status,
            trust_vector: self.vector,
            policy_ids: vec![policy.id.clone()],
            nonce: nonce.map(b64u),
            attester_claims: attester,
            verifier_claims: (!verifier.is_empty()).then_some(verifier),
        }
    }
}

/// The appraisal of evidence that could not be parsed.
pub fn appraise_malformed(err: &RatsError, policy: &Policy) -> EarAppraisal {
    let mut v = Verdict::new();
    v.vector.instance_identity = Some(claim::CRYPTO_VALIDATION_FAILED);
    v.fail(format!("evidence refused: {err}"));
    v.finish(policy, None, None, None)
}

fn attester_claims(e: &ParsedEvidence) -> JsonMap<String, Json> {
    let c = &e.claims;
    let mut m = JsonMap::new();
    m.insert("ueid".into(), json!(b64u(&c.ueid)));
    if let Some(o) = &c.oemid {
        m.insert(
            "oemid".into(),
            serde_json::to_value(o).unwrap_or(Json::Null),
        );
    }
    if let Some(h) = &c.hwmodel {
        m.insert("hwmodel".into(), json!(b64u(h)));
    }
    if let Some(s) = &c.swname {
        m.insert("swname".into(), json!(s));
    }
    if let Some(v) = &c.swversion {
        m.insert("swversion".into(), json!([v]));
    }
    if let Some(b) = c.oemboot {
        m.insert("oemboot".into(), json!(b));
    }
    if let Some(d) = c.dbgstat {
        m.insert("dbgstat".into(), json!(DBGSTAT_NAMES[usize::from(d)]));
    }
    m
}

fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// Appraises parsed evidence from `device` (`None`: its UEID is not in the registry).
pub fn appraise(
    evidence: &ParsedEvidence,
    device: Option<&Device<'_>>,
    policy: &Policy,
    challenge: &Challenge<'_>,
) -> EarAppraisal {
    let mut v = Verdict::new();
    let c = &evidence.claims;
    let Some(device) = device else {
        v.vector.instance_identity = Some(claim::UNRECOGNIZED_INSTANCE);
        v.fail("the UEID is not in the device registry");
        return v.finish(policy, None, Some(attester_claims(evidence)), None);
    };
    if device.status == DeviceStatus::Revoked {
        v.vector.instance_identity = Some(claim::UNTRUSTWORTHY_INSTANCE);
        v.fail("the device is revoked");
        return v.finish(policy, None, Some(attester_claims(evidence)), None);
    }
    let Some(key) = device.key else {
        v.vector.instance_identity = Some(claim::UNRECOGNIZED_INSTANCE);
        v.fail("no attestation key is registered for this device");
        return v.finish(policy, None, Some(attester_claims(evidence)), None);
    };
    if let Err(e) = evidence.verify(key) {
        v.vector.instance_identity = Some(claim::CRYPTO_VALIDATION_FAILED);
        v.fail(format!("{e} under the device's attestation key"));
        return v.finish(policy, None, Some(attester_claims(evidence)), None);
    }
    v.vector.instance_identity = Some(claim::TRUSTWORTHY_INSTANCE);

    // Freshness and binding.
    let fresh = c.nonces.iter().any(|n| ct_eq(n, challenge.nonce));
    if !fresh {
        v.fail("eat_nonce is not this session's nonce");
    }
    if let Some(b) = challenge.binding {
        if !c.nonces.iter().any(|n| ct_eq(n, b)) {
            v.fail("the binding data of the session is not in the evidence");
        }
    }
    if c.exp.is_some_and(|exp| exp + LEEWAY_S <= challenge.now) {
        v.fail("the evidence has expired (exp)");
    }
    if c.nbf.is_some_and(|nbf| nbf - LEEWAY_S > challenge.now) {
        v.fail("the evidence is not yet valid (nbf)");
    }
    if c.profile.as_deref().is_some_and(|p| p != EAT_PROFILE) {
        v.fail("eat_profile is not one this Verifier appraises");
    }

    // Hardware.
    let r = device.reference;
    let mut hw_checked = false;
    if let Some(o) = &r.oemid {
        hw_checked = true;
        if c.oemid.as_ref() != Some(o) {
            escalate(&mut v.vector.hardware, claim::UNRECOGNIZED_HARDWARE);
            v.reasons
                .push("oemid is not the device's manufacturer".into());
        }
    }
    if let Some(h) = &r.hwmodel {
        hw_checked = true;
        if c.hwmodel.as_ref().map(hex::encode).as_deref() != Some(h.to_ascii_lowercase().as_str()) {
            escalate(&mut v.vector.hardware, claim::UNRECOGNIZED_HARDWARE);
            v.reasons.push("hwmodel is not the device's model".into());
        }
    }
    if hw_checked {
        escalate(&mut v.vector.hardware, claim::GENUINE_HARDWARE);
    }

    // Configuration.
    match c.dbgstat {
        Some(0) if policy.require_debug_disabled => {
            escalate(&mut v.vector.configuration, claim::UNSUPPORTABLE_CONFIG);
            v.reasons.push("debug is enabled (dbgstat)".into());
        }
        Some(0) => {
            escalate(&mut v.vector.configuration, claim::VULNERABLE_CONFIG);
            v.reasons
                .push("debug is enabled (dbgstat); the policy tolerates it".into());
        }
        None if policy.require_debug_disabled => {
            escalate(&mut v.vector.configuration, claim::UNSUPPORTABLE_CONFIG);
            v.reasons
                .push("dbgstat is absent; the policy requires debug disabled".into());
        }
        _ => escalate(&mut v.vector.configuration, claim::APPROVED_CONFIG),
    }

    // Executables.
    let exe = &mut v.vector.executables;
    let mut exe_reasons = Vec::new();
    if policy.require_oemboot && c.oemboot != Some(true) {
        escalate(exe, claim::CONTRAINDICATED_RUNTIME);
        exe_reasons.push(if c.oemboot.is_none() {
            "oemboot is absent; the policy requires OEM-authorised boot".to_owned()
        } else {
            "the boot was not OEM-authorised (oemboot false)".to_owned()
        });
    }
    if let Some(name) = &r.swname {
        if c.swname.as_ref() != Some(name) {
            escalate(exe, claim::CONTRAINDICATED_RUNTIME);
            exe_reasons.push("swname is not the device's software".into());
        }
    }
    if !r.swversions.is_empty()
        && !c
            .swversion
            .as_ref()
            .is_some_and(|s| r.swversions.contains(s))
    {
        escalate(exe, claim::UNRECOGNIZED_RUNTIME);
        exe_reasons.push("swversion is not an approved version".into());
    }
    let mut runtime_measured = false;
    if policy.require_measurements {
        for m in &r.measurements {
            match c.measurements.iter().find(|x| x.name == m.name) {
                Some(x) if x.digest.eq_ignore_ascii_case(&m.digest) => runtime_measured = true,
                Some(_) => {
                    escalate(exe, claim::CONTRAINDICATED_RUNTIME);
                    exe_reasons.push(format!("measurement {} does not match", m.name));
                }
                None => {
                    escalate(exe, claim::CONTRAINDICATED_RUNTIME);
                    exe_reasons.push(format!("measurement {} is absent", m.name));
                }
            }
        }
        for x in &c.measurements {
            if !r.measurements.iter().any(|m| m.name == x.name) {
                escalate(exe, claim::UNRECOGNIZED_RUNTIME);
                exe_reasons.push(format!(
                    "component {} is not in the reference values",
                    x.name
                ));
            }
        }
    }
    escalate(
        exe,
        if runtime_measured || r.measurements.is_empty() {
            claim::APPROVED_RUNTIME
        } else {
            claim::APPROVED_BOOT
        },
    );
    v.reasons.extend(exe_reasons);
    let nonce = fresh.then_some(challenge.nonce);
    v.finish(
        policy,
        nonce,
        Some(attester_claims(evidence)),
        device.onboarding_supi,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attester::{Attester, Dbgstat, DeviceState};
    use crate::eat::{self, Format};
    use crate::keys::{sha256, Alg, SigningKey};

    fn device_state() -> DeviceState {
        DeviceState {
            oemid: Some(Oemid::Pen(32473)),
            hwmodel: Some(hex::encode("sensor-1")),
            swname: Some("snpn-fw".into()),
            swversion: Some("1.0.0".into()),
            oemboot: Some(true),
            dbgstat: Some(Dbgstat::DisabledPermanently),
            measurements: vec![
                Measurement {
                    name: "bootloader".into(),
                    digest: hex::encode(sha256(b"bl")),
                },
                Measurement {
                    name: "modem".into(),
                    digest: hex::encode(sha256(b"modem")),
                },
            ],
        }
    }

    fn reference() -> ReferenceValues {
        let s = device_state();
        ReferenceValues {
            oemid: s.oemid,
            hwmodel: s.hwmodel,
            swname: s.swname,
            swversions: vec!["0.9.0".into(), "1.0.0".into()],
            measurements: s.measurements,
        }
    }

    struct Case {
        attester: Attester,
        vk: VerifyingKey,
        reference: ReferenceValues,
    }

    fn case(alg: Alg) -> Case {
        let key = SigningKey::generate(alg).unwrap();
        let vk = key.verifying_key().unwrap();
        Case {
            attester: Attester {
                ueid: [vec![1], vec![0x42; 16]].concat(),
                key,
                state: device_state(),
            },
            vk,
            reference: reference(),
        }
    }

    const NONCE: &[u8] = &[7; 32];

    fn run(
        c: &Case,
        format: Format,
        nonce: &[u8],
        binding: Option<&[u8]>,
        status: DeviceStatus,
    ) -> EarAppraisal {
        let ev = c
            .attester
            .evidence(format, nonce, binding, 1_800_000_000)
            .unwrap();
        let parsed = eat::parse(format, &ev).unwrap();
        let dev = Device {
            status,
            key: Some(&c.vk),
            reference: &c.reference,
            onboarding_supi: Some("imsi-999700000000001"),
        };
        appraise(
            &parsed,
            Some(&dev),
            &Policy::default(),
            &Challenge {
                nonce: NONCE,
                binding,
                now: 1_800_000_005,
            },
        )
    }

    #[test]
    fn a_good_device_is_affirmed_in_every_format_and_algorithm() {
        for alg in [Alg::Es256, Alg::EdDsa, Alg::Hs256] {
            for format in [Format::Cwt, Format::Jwt] {
                let c = case(alg);
                let a = run(&c, format, NONCE, None, DeviceStatus::Active);
                assert_eq!(
                    a.status,
                    TrustTier::Affirming,
                    "{alg:?} {format:?}: {:?}",
                    a.reasons()
                );
                assert_eq!(a.trust_vector.instance_identity, Some(2));
                assert_eq!(a.trust_vector.executables, Some(2));
                assert_eq!(a.trust_vector.hardware, Some(2));
                assert_eq!(a.trust_vector.configuration, Some(2));
                assert_eq!(a.nonce.as_deref(), Some(b64u(NONCE).as_str()));
                assert_eq!(
                    a.verifier_claims.unwrap()["onboarding_supi"],
                    "imsi-999700000000001"
                );
                let b = run(
                    &c,
                    format,
                    NONCE,
                    Some(b"exporter-value-32-bytes-long-xx!"),
                    DeviceStatus::Active,
                );
                assert_eq!(b.status, TrustTier::Affirming, "{:?}", b.reasons());
            }
        }
    }

    #[test]
    fn each_failure_has_its_claim_and_reason() {
        let c = case(Alg::Es256);
        let a = run(&c, Format::Cwt, &[8; 32], None, DeviceStatus::Active);
        assert_eq!(a.status, TrustTier::Contraindicated);
        assert!(a.reasons()[0].contains("nonce"));
        assert!(a.nonce.is_none());

        let a = run(&c, Format::Cwt, NONCE, None, DeviceStatus::Revoked);
        assert_eq!(a.trust_vector.instance_identity, Some(96));
        assert_eq!(a.status, TrustTier::Contraindicated);

        // Binding required but the device did not include it.
        let ev = c.attester.evidence(Format::Cwt, NONCE, None, 0).unwrap();
        let parsed = eat::parse_cwt(&ev).unwrap();
        let dev = Device {
            status: DeviceStatus::Active,
            key: Some(&c.vk),
            reference: &c.reference,
            onboarding_supi: None,
        };
        let ch = Challenge {
            nonce: NONCE,
            binding: Some(&[1; 32]),
            now: 0,
        };
        let a = appraise(&parsed, Some(&dev), &Policy::default(), &ch);
        assert_eq!(a.status, TrustTier::Contraindicated);
        assert!(a.reasons().iter().any(|r| r.contains("binding")));

        // Unknown device.
        let a = appraise(&parsed, None, &Policy::default(), &ch);
        assert_eq!(a.trust_vector.instance_identity, Some(97));

        // Wrong key.
        let other = SigningKey::generate(Alg::Es256)
            .unwrap()
            .verifying_key()
            .unwrap();
        let dev2 = Device {
            key: Some(&other),
            ..dev
        };
        let a = appraise(&parsed, Some(&dev2), &Policy::default(), &ch);
        assert_eq!(a.trust_vector.instance_identity, Some(99));

        let mut bad = case(Alg::EdDsa);
        bad.attester.state.dbgstat = Some(Dbgstat::Enabled);
        bad.attester.state.oemboot = Some(false);
        bad.attester.state.measurements[1].digest = hex::encode(sha256(b"evil"));
        bad.attester.state.swversion = Some("1.0.1-dev".into());
        bad.attester.state.hwmodel = Some(hex::encode("sensor-2"));
        let a = run(&bad, Format::Jwt, NONCE, None, DeviceStatus::Active);
        assert_eq!(a.status, TrustTier::Contraindicated);
        assert_eq!(a.trust_vector.configuration, Some(96));
        assert_eq!(a.trust_vector.executables, Some(96));
        assert_eq!(a.trust_vector.hardware, Some(97));
        let reasons = a.reasons().join("; ");
        for word in [
            "debug",
            "oemboot",
            "measurement modem",
            "swversion",
            "hwmodel",
        ] {
            assert!(reasons.contains(word), "{word} in {reasons}");
        }

        // An unapproved version alone is a warning.
        let mut warn = case(Alg::Es256);
        warn.attester.state.swversion = Some("2.0.0".into());
        let a = run(&warn, Format::Cwt, NONCE, None, DeviceStatus::Active);
        assert_eq!(a.status, TrustTier::Warning);
        assert_eq!(a.trust_vector.executables, Some(33));
    }

    #[test]
    fn policy_selection_and_relaxed_policy() {
        let p = vec![
            Policy {
                id: "model".into(),
                hwmodel: Some("AB".into()),
                require_debug_disabled: false,
                ..Policy::default()
            },
            Policy {
                id: "default".into(),
                ..Policy::default()
            },
        ];
        assert_eq!(Policy::select(&p, Some("ab")).id, "model");
        assert_eq!(Policy::select(&p, Some("cd")).id, "default");
        assert_eq!(Policy::select(&[], None).id, Policy::default().id);
        let mut c = case(Alg::Es256);
        c.attester.state.dbgstat = Some(Dbgstat::Enabled);
        let ev = c.attester.evidence(Format::Cwt, NONCE, None, 0).unwrap();
        let parsed = eat::parse_cwt(&ev).unwrap();
        let dev = Device {
            status: DeviceStatus::Active,
            key: Some(&c.vk),
            reference: &c.reference,
            onboarding_supi: None,
        };
        let a = appraise(
            &parsed,
            Some(&dev),
            &p[0],
            &Challenge {
                nonce: NONCE,
                binding: None,
                now: 0,
            },
        );
        assert_eq!(a.status, TrustTier::Warning);
        assert_eq!(a.trust_vector.configuration, Some(32));
        assert_eq!(a.policy_ids, vec!["model".to_owned()]);
    }
}
