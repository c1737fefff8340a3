//! ACME problem documents (RFC 8555 §6.7, RFC 7807): `application/problem+json` with a
//! `type` in the `urn:ietf:params:acme:error:` namespace.

use serde::{Deserialize, Serialize};

/// Media type of problem documents (RFC 7807 §3).
pub const CT_PROBLEM: &str = "application/problem+json";

/// The ACME error types this implementation emits (RFC 8555 §6.7, draft-ietf-acme-device-attest).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProblemType {
    /// `accountDoesNotExist`: onlyReturnExisting for an unknown key (§7.3.1).
    AccountDoesNotExist,
    /// `alreadyRevoked` (§7.6).
    AlreadyRevoked,
    /// `badCSR`: the CSR is unacceptable (§7.4).
    BadCsr,
    /// `badNonce`: unknown, expired or replayed nonce (§6.5).
    BadNonce,
    /// `badPublicKey`: unsupported account or certificate key (§7.3).
    BadPublicKey,
    /// `badRevocationReason` (§7.6).
    BadRevocationReason,
    /// `badSignatureAlgorithm`: a JWS algorithm the server does not accept (§6.2).
    BadSignatureAlgorithm,
    /// `externalAccountRequired`: newAccount without EAB (§7.3.4).
    ExternalAccountRequired,
    /// `malformed`: the request message was malformed (§6.7).
    Malformed,
    /// `orderNotReady`: finalize before the order is ready (§7.4).
    OrderNotReady,
    /// `rejectedIdentifier`: the server will not issue for this identifier (§7.4).
    RejectedIdentifier,
    /// `serverInternal` (§6.7).
    ServerInternal,
    /// `unauthorized`: the client lacks authorization (§6.7).
    Unauthorized,
    /// `unsupportedIdentifier`: an identifier type the server does not support (§7.4).
    UnsupportedIdentifier,
    /// `incorrectResponse`: the challenge response does not match (§8).
    IncorrectResponse,
    /// `connection`: the server could not connect to the validation target (§8.3).
    Connection,
    /// `badAttestationStatement` (draft-ietf-acme-device-attest): the attestation does not verify.
    BadAttestationStatement,
}

impl ProblemType {
    /// The error's URN.
    pub fn urn(self) -> &'static str {
        match self {
            ProblemType::AccountDoesNotExist => "urn:ietf:params:acme:error:accountDoesNotExist",
            ProblemType::AlreadyRevoked => "urn:ietf:params:acme:error:alreadyRevoked",
            ProblemType::BadCsr => "urn:ietf:params:acme:error:badCSR",
            ProblemType::BadNonce => "urn:ietf:params:acme:error:badNonce",
            ProblemType::BadPublicKey => "urn:ietf:params:acme:error:badPublicKey",
            ProblemType::BadRevocationReason => "urn:ietf:params:acme:error:badRevocationReason",
            ProblemType::BadSignatureAlgorithm => {
                "urn:ietf:params:acme:error:badSignatureAlgorithm"
            }
            ProblemType::ExternalAccountRequired => {
                "urn:ietf:params:acme:error:externalAccountRequired"
            }
            ProblemType::Malformed => "urn:ietf:params:acme:error:malformed",
            ProblemType::OrderNotReady => "urn:ietf:params:acme:error:orderNotReady",
            ProblemType::RejectedIdentifier => "urn:ietf:params:acme:error:rejectedIdentifier",
            ProblemType::ServerInternal => "urn:ietf:params:acme:error:serverInternal",
            ProblemType::Unauthorized => "urn:ietf:params:acme:error:unauthorized",
            ProblemType::UnsupportedIdentifier => {
                "urn:ietf:params:acme:error:unsupportedIdentifier"
            }
            ProblemType::IncorrectResponse => "urn:ietf:params:acme:error:incorrectResponse",
            ProblemType::Connection => "urn:ietf:params:acme:error:connection",
            ProblemType::BadAttestationStatement => {
                "urn:ietf:params:acme:error:badAttestationStatement"
            }
        }
    }

    /// The HTTP status the server answers with.
    pub fn status(self) -> u16 {
        match self {
            ProblemType::Unauthorized
            | ProblemType::ExternalAccountRequired
            | ProblemType::OrderNotReady
            | ProblemType::BadAttestationStatement => 403,
            ProblemType::ServerInternal => 500,
            _ => 400,
        }
    }
}

/// A problem document (RFC 7807 §3.1 with RFC 8555 §6.7's `subproblems`, `algorithms`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// The error type URN.
    #[serde(rename = "type")]
    pub kind: String,
    /// Human-readable detail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The HTTP status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// `badSignatureAlgorithm`: the algorithms the server accepts (RFC 8555 §6.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algorithms: Option<Vec<String>>,
}

/// An ACME error: its type and a detail that never holds key material.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}: {detail}", kind.urn())]
pub struct AcmeError {
    /// The type.
    pub kind: ProblemType,
    /// The detail.
    pub detail: String,
    /// An HTTP status other than the type's default (e.g. 415, 413, 409).
    pub status: Option<u16>,
}

impl AcmeError {
    /// An error of `kind`.
    pub fn new(kind: ProblemType, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
            status: None,
        }
    }

    /// `malformed`.
    pub fn malformed(detail: impl Into<String>) -> Self {
        Self::new(ProblemType::Malformed, detail)
    }

    /// `unauthorized`.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(ProblemType::Unauthorized, detail)
    }

    /// `serverInternal` (the detail is logged by the caller, not sent).
    pub fn internal(detail: impl Into<String>) -> Self {
        Self::new(ProblemType::ServerInternal, detail)
    }

    /// With another HTTP status.
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    /// The HTTP status of the answer.
    pub fn http_status(&self) -> u16 {
        self.status.unwrap_or_else(|| self.kind.status())
    }

    /// The problem document.
    pub fn problem(&self) -> Problem {
        Problem {
            kind: self.kind.urn().into(),
            detail: Some(if self.kind == ProblemType::ServerInternal {
                "internal error".into()
            } else {
                self.detail.clone()
            }),
            status: Some(self.http_status()),
            algorithms: (self.kind == ProblemType::BadSignatureAlgorithm).then(|| {
                crate::jws::SUPPORTED_ALGS
                    .iter()
                    .map(|s| (*s).to_owned())
                    .collect()
            }),
        }
    }
}
