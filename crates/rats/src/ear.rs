//! EAT Attestation Results (draft-ietf-rats-ear-04): the Verifier's signed verdict, with
//! the AR4SI trustworthiness vector (draft-ietf-rats-ar4si §2.3) of each appraised
//! submodule, serialized as a JWT (ES256).
//!
//! Claim names are those of draft -03/-04 (`ear_status`, `ear_trustworthiness_vector`,
//! `ear_appraisal_policy_ids`, `ear_verifier_id`, …) with profile [`EAR_PROFILE`]; the
//! dotted names of drafts -00 to -02 (`ear.status`, …) are not emitted.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map as JsonMap, Value as Json};

use crate::keys::{Alg, SigningKey, VerifyingKey};
use crate::RatsError;

/// The EAR profile of draft-ietf-rats-ear-04.
pub const EAR_PROFILE: &str = "tag:ietf.org,2026:rats/ear#04";
/// Media type of an EAR as JWT (RFC 9782 with the profile parameter).
pub const EAR_MEDIA_TYPE: &str =
    "application/eat+jwt; eat_profile=\"tag:ietf.org,2026:rats/ear#04\"";

/// AR4SI trustworthiness tiers (draft-ietf-rats-ar4si §2.3.1), ordered by severity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TrustTier {
    /// The Verifier makes no claim.
    None,
    /// Affirming.
    Affirming,
    /// Warning.
    Warning,
    /// Contraindicated.
    Contraindicated,
}

impl TrustTier {
    /// The tier of a trustworthiness claim value (standard and non-standard ranges).
    pub fn of_claim(v: i8) -> Self {
        match v {
            -1..=1 => TrustTier::None,
            2..=31 | -32..=-2 => TrustTier::Affirming,
            32..=95 | -96..=-33 => TrustTier::Warning,
            _ => TrustTier::Contraindicated,
        }
    }
}

/// AR4SI claim values snpn assigns (draft-ietf-rats-ar4si §2.3.4).
pub mod claim {
    /// Any category: cryptographic validation of the evidence failed.
    pub const CRYPTO_VALIDATION_FAILED: i8 = 99;
    /// instance-identity: recognized and not known to be compromised.
    pub const TRUSTWORTHY_INSTANCE: i8 = 2;
    /// instance-identity: recognized, but its identity is not to be trusted (revoked).
    pub const UNTRUSTWORTHY_INSTANCE: i8 = 96;
    /// instance-identity: not recognized.
    pub const UNRECOGNIZED_INSTANCE: i8 = 97;
    /// configuration: approved configuration.
    pub const APPROVED_CONFIG: i8 = 2;
    /// configuration: known vulnerabilities.
    pub const VULNERABLE_CONFIG: i8 = 32;
    /// configuration: unsupportable (e.g. debug enabled where policy forbids it).
    pub const UNSUPPORTABLE_CONFIG: i8 = 96;
    /// executables: approved boot- and run-time.
    pub const APPROVED_RUNTIME: i8 = 2;
    /// executables: approved boot-time only.
    pub const APPROVED_BOOT: i8 = 3;
    /// executables: unrecognized run-time.
    pub const UNRECOGNIZED_RUNTIME: i8 = 33;
    /// executables: contraindicated run-time.
    pub const CONTRAINDICATED_RUNTIME: i8 = 96;
    /// hardware: genuine.
    pub const GENUINE_HARDWARE: i8 = 2;
    /// hardware: not recognized.
    pub const UNRECOGNIZED_HARDWARE: i8 = 97;
}

/// The AR4SI trustworthiness vector; JSON keys hyphenated, absent claims omitted.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct TrustVector {
    /// instance-identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_identity: Option<i8>,
    /// configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configuration: Option<i8>,
    /// executables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executables: Option<i8>,
    /// file-system.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_system: Option<i8>,
    /// hardware.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hardware: Option<i8>,
    /// runtime-opaque.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_opaque: Option<i8>,
    /// storage-opaque.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_opaque: Option<i8>,
    /// sourced-data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sourced_data: Option<i8>,
}

impl TrustVector {
    fn claims(&self) -> [Option<i8>; 8] {
        [
            self.instance_identity,
            self.configuration,
            self.executables,
            self.file_system,
            self.hardware,
            self.runtime_opaque,
            self.storage_opaque,
            self.sourced_data,
        ]
    }

    /// The tier of the worst claim (`None` if the vector is empty).
    pub fn worst_tier(&self) -> TrustTier {
        self.claims()
            .into_iter()
            .flatten()
            .map(TrustTier::of_claim)
            .max()
            .unwrap_or(TrustTier::None)
    }
}

/// Raises a claim to `value` if `value` is of a more severe tier (ar4si §2.3.3: when
/// several values apply, the most severe is assigned).
pub fn escalate(slot: &mut Option<i8>, value: i8) {
    match slot {
        Some(cur) if TrustTier::of_claim(*cur) >= TrustTier::of_claim(value) => {}
        _ => *slot = Some(value),
    }
}

/// Verifier identity (`ear_verifier_id`, ar4si verifier-id).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifierId {
    /// Who made the Verifier.
    pub developer: String,
    /// Which build of it.
    pub build: String,
}

/// The appraisal of one submodule (EAR-appraisal).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EarAppraisal {
    /// `ear_status`: no more trustworthy than the worst claim of the vector.
    #[serde(rename = "ear_status")]
    pub status: TrustTier,
    /// `ear_trustworthiness_vector`.
    #[serde(rename = "ear_trustworthiness_vector", default)]
    pub trust_vector: TrustVector,
    /// `ear_appraisal_policy_ids`.
    #[serde(
        rename = "ear_appraisal_policy_ids",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub policy_ids: Vec<String>,
    /// `eat_nonce`: the nonce of the appraised evidence (base64url).
    #[serde(rename = "eat_nonce", default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// `ear_attester_claims`: evidence claims the Verifier vouches for.
    #[serde(
        rename = "ear_attester_claims",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub attester_claims: Option<JsonMap<String, Json>>,
    /// `ear_verifier_claims`: what the Verifier adds (snpn: `reasons`, `onboarding_supi`).
    #[serde(
        rename = "ear_verifier_claims",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub verifier_claims: Option<JsonMap<String, Json>>,
}

impl EarAppraisal {
    /// The reasons the Verifier gave (`ear_verifier_claims.reasons`).
    pub fn reasons(&self) -> Vec<String> {
        self.verifier_claims
            .as_ref()
            .and_then(|m| m.get("reasons"))
            .and_then(Json::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|r| r.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// An EAT Attestation Result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ear {
    /// `eat_profile`: [`EAR_PROFILE`].
    #[serde(rename = "eat_profile")]
    pub profile: String,
    /// `iat`.
    pub iat: i64,
    /// `exp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    /// `ear_verifier_id`.
    #[serde(rename = "ear_verifier_id")]
    pub verifier_id: VerifierId,
    /// `ear_status` of the whole result: the worst of the submodules.
    #[serde(
        rename = "ear_status",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub status: Option<TrustTier>,
    /// `eat_nonce`: the nonce the relying party obtained for this session (base64url).
    #[serde(rename = "eat_nonce", default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// `submods`: one appraisal per attested component.
    pub submods: BTreeMap<String, EarAppraisal>,
}

impl Ear {
    /// The overall tier: the stated status, or else the worst submodule's.
    pub fn overall(&self) -> TrustTier {
        let worst = self
            .submods
            .values()
            .map(|a| a.status)
            .max()
            .unwrap_or(TrustTier::None);
        self.status.map_or(worst, |s| s.max(worst))
    }

    /// Signs the EAR as a JWT (ES256 or EdDSA), `kid` in the header if given.
    pub fn sign_jwt(&self, key: &SigningKey, kid: Option<&str>) -> Result<String, RatsError> {
        if key.alg() == Alg::Hs256 {
            return Err(RatsError::Key("EARs are signed, not MACed"));
        }
        let mut header = json!({"alg": key.alg().jws_name(), "typ": "JWT"});
        if let Some(k) = kid {
            header["kid"] = json!(k);
        }
        let payload = serde_json::to_value(self).map_err(|_| RatsError::Malformed("EAR"))?;
        crate::jws::sign(&header, &payload, key)
    }

    /// Verifies an EAR JWT under the Verifier's key and checks its shape: profile, a
    /// non-empty `submods`, an overall status no better than its worst submodule, and
    /// `exp` not passed at `now` (seconds).
    pub fn verify_jwt(token: &str, key: &VerifyingKey, now: i64) -> Result<Ear, RatsError> {
        let jws = crate::jws::parse(token.as_bytes())?;
        if jws.alg != key.alg() {
            return Err(RatsError::Verification(
                "the EAR's algorithm is not the key's",
            ));
        }
        if !key.verify(&jws.signing_input, &jws.signature) {
            return Err(RatsError::Verification(
                "the EAR's signature does not verify",
            ));
        }
        let ear: Ear = serde_json::from_value(jws.payload)
            .map_err(|_| RatsError::Malformed("the payload is not an EAR"))?;
        if ear.profile != EAR_PROFILE {
            return Err(RatsError::Claim("eat_profile", "not the EAR profile"));
        }
        if ear.submods.is_empty() {
            return Err(RatsError::Claim("submods", "must not be empty"));
        }
        if let Some(s) = ear.status {
            let worst = ear
                .submods
                .values()
                .map(|a| a.status)
                .max()
                .unwrap_or(TrustTier::None);
            if s != TrustTier::None && s < worst {
                return Err(RatsError::Claim("ear_status", "better than a submodule's"));
            }
        }
        for a in ear.submods.values() {
            if a.status < a.trust_vector.worst_tier() {
                return Err(RatsError::Claim(
                    "ear_status",
                    "better than its trust vector",
                ));
            }
        }
        if ear.exp.is_some_and(|exp| exp <= now) {
            return Err(RatsError::Claim("exp", "the EAR has expired"));
        }
        Ok(ear)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(status: TrustTier, vector: TrustVector) -> Ear {
        Ear {
            profile: EAR_PROFILE.into(),
            iat: 1_800_000_000,
            exp: Some(1_800_000_300),
            verifier_id: VerifierId {
                developer: "https://snpn.example".into(),
                build: "test".into(),
            },
            status: Some(status),
            nonce: Some("AAAAAAAAAAA".into()),
            submods: BTreeMap::from([(
                "ue".to_owned(),
                EarAppraisal {
                    status,
                    trust_vector: vector,
                    policy_ids: vec!["p".into()],
                    nonce: None,
                    attester_claims: None,
                    verifier_claims: None,
                },
            )]),
        }
    }

    #[test]
    fn tiers_of_claims() {
        assert_eq!(TrustTier::of_claim(0), TrustTier::None);
        assert_eq!(TrustTier::of_claim(-1), TrustTier::None);
        assert_eq!(TrustTier::of_claim(2), TrustTier::Affirming);
        assert_eq!(TrustTier::of_claim(33), TrustTier::Warning);
        assert_eq!(TrustTier::of_claim(96), TrustTier::Contraindicated);
        assert_eq!(TrustTier::of_claim(-128), TrustTier::Contraindicated);
        let mut s = Some(2);
        escalate(&mut s, 33);
        escalate(&mut s, 3);
        assert_eq!(s, Some(33));
        escalate(&mut s, 96);
        assert_eq!(s, Some(96));
    }

    #[test]
    fn jwt_round_trip_and_checks() {
        let key = SigningKey::generate(Alg::Es256).unwrap();
        let vk = key.verifying_key().unwrap();
        let v = TrustVector {
            instance_identity: Some(2),
            hardware: Some(2),
            ..Default::default()
        };
        let ear = sample(TrustTier::Affirming, v.clone());
        let jwt = ear.sign_jwt(&key, Some("dcs-1")).unwrap();
        assert_eq!(Ear::verify_jwt(&jwt, &vk, 1_800_000_001).unwrap(), ear);
        assert!(
            Ear::verify_jwt(&jwt, &vk, 1_800_000_300).is_err(),
            "expired"
        );
        let other = SigningKey::generate(Alg::Es256)
            .unwrap()
            .verifying_key()
            .unwrap();
        assert!(Ear::verify_jwt(&jwt, &other, 0).is_err());
        // A status better than the vector is refused.
        let lying = sample(
            TrustTier::Affirming,
            TrustVector {
                executables: Some(96),
                ..v
            },
        );
        assert!(Ear::verify_jwt(&lying.sign_jwt(&key, None).unwrap(), &vk, 0).is_err());
        let json = serde_json::to_value(&ear).unwrap();
        assert_eq!(
            json["submods"]["ue"]["ear_trustworthiness_vector"]["instance-identity"],
            2
        );
        assert_eq!(json["ear_status"], "affirming");
    }
}
