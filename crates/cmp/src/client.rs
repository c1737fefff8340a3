//! A client transaction (RFC 9483 §4.1.1, §4.3): ir for a key made here, protected with
//! a MAC from the shared secret (PasswordBasedMac or PBMAC1); certConf; genm. Each answer
//! is checked: same transactionID, recipNonce = our last senderNonce, MAC verifies.

use const_oid::ObjectIdentifier;
use der::asn1::{BitString, Null, OctetString};
use der::{Decode, Encode};
use openssl::pkey::{PKeyRef, Private};
use snpn_pki::identity::Identity;
use snpn_pki::keys::KeyAlg;
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::ext::Extension;
use x509_cert::Certificate;

use crate::asn1::{
    itav, oid, CertOrEncCert, CertReqMsg, CertRequest, CertStatus, CertTemplate, PkiBody,
    PkiStatusInfo, PopoSigningKey, ProofOfPossession,
};
use crate::message::{encode, nonce, null_dn, HeaderFields, Incoming};
use crate::protect::{MacLimits, MacParams, Protect, ProtectionKind, SigAlg};
use crate::server::{i64_to_int, int_to_i64, name_with_cn};
use crate::{CmpError, FailInfo, Refusal};

/// A CertTemplate for `key` naming `identity`: subject CN and subjectAltName.
pub fn template(key: &PKeyRef<Private>, identity: &Identity) -> Result<CertTemplate, CmpError> {
    let spki =
        SubjectPublicKeyInfoOwned::from_der(&key.public_key_to_der().map_err(CmpError::crypto)?)?;
    let san = Extension {
        extn_id: const_oid::db::rfc5280::ID_CE_SUBJECT_ALT_NAME,
        critical: false,
        extn_value: OctetString::new(snpn_pki::csr::san_der(identity)?)?,
    };
    Ok(CertTemplate {
        version: None,
        serial_number: None,
        signature: None,
        issuer: None,
        validity: None,
        subject: Some(name_with_cn(identity.common_name().unwrap_or(""))?),
        subject_public_key_info: Some(spki),
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: Some(vec![san]),
    })
}

/// One CertReqMsg (certReqId 0) with a signature POP (RFC 4211 §4.1) by `key`.
pub fn cert_req_msg(key: &PKeyRef<Private>, t: CertTemplate) -> Result<CertReqMsg, CmpError> {
    let alg = SigAlg::for_key(
        KeyAlg::of(key).ok_or_else(|| CmpError::Internal("unsupported key".into()))?,
    );
    let cert_req = CertRequest {
        cert_req_id: i64_to_int(0),
        cert_template: t,
        controls: None,
    };
    let sig = alg.sign(key, &cert_req.to_der()?)?;
    Ok(CertReqMsg {
        cert_req,
        popo: Some(ProofOfPossession::Signature(Box::new(PopoSigningKey {
            poposk_input: None,
            alg_id: alg.algorithm(),
            signature: BitString::from_bytes(&sig)?,
        }))),
        reg_info: None,
    })
}

/// What an ip/cp/kup granted.
#[derive(Debug, Clone)]
pub struct Granted {
    /// certReqId.
    pub cert_req_id: i64,
    /// The certificate, DER.
    pub cert: Vec<u8>,
    /// caPubs, DER.
    pub ca_pubs: Vec<Vec<u8>>,
    /// extraCerts, DER.
    pub extra_certs: Vec<Vec<u8>>,
    /// Whether the server granted implicit confirmation.
    pub implicit_confirm: bool,
}

/// A client transaction with MAC protection.
pub struct ClientTx {
    /// transactionID.
    pub transaction_id: Vec<u8>,
    /// senderKID (the reference of the shared secret).
    pub kid: Vec<u8>,
    /// MAC parameters (a fresh salt per message).
    pub mac: MacParams,
    /// Limits on the server's MAC parameters.
    pub limits: MacLimits,
    last_nonce: Vec<u8>,
    server_nonce: Option<Vec<u8>>,
}

impl ClientTx {
    /// A new transaction.
    pub fn new(kid: &[u8], mac: MacParams) -> Result<Self, CmpError> {
        Ok(Self {
            transaction_id: nonce()?,
            kid: kid.to_vec(),
            mac,
            limits: MacLimits::default(),
            last_nonce: Vec::new(),
            server_nonce: None,
        })
    }

    fn fields(
        &mut self,
        sender_cn: Option<&str>,
        general_info: Vec<crate::asn1::InfoTypeAndValue>,
    ) -> Result<HeaderFields, CmpError> {
        self.last_nonce = nonce()?;
        Ok(HeaderFields {
            sender: match sender_cn {
                Some(cn) => {
                    x509_cert::ext::pkix::name::GeneralName::DirectoryName(name_with_cn(cn)?)
                }
                None => null_dn(),
            },
            recipient: null_dn(),
            sender_kid: Some(self.kid.clone()),
            transaction_id: self.transaction_id.clone(),
            sender_nonce: self.last_nonce.clone(),
            recip_nonce: self.server_nonce.clone(),
            message_time: Some(snpn_pki::unix_now()),
            general_info,
        })
    }

    fn protect<'s>(&self, secret: &'s [u8]) -> Result<Protect<'s>, CmpError> {
        Ok(Protect::Mac {
            secret,
            params: self.mac.fresh_salt()?,
        })
    }

    /// An ir for `key` naming `identity` (RFC 9483 §4.1.1), optionally asking for implicit
    /// confirmation.
    pub fn ir(
        &mut self,
        secret: &[u8],
        key: &PKeyRef<Private>,
        identity: &Identity,
        implicit_confirm: bool,
    ) -> Result<Vec<u8>, CmpError> {
        let msg = cert_req_msg(key, template(key, identity)?)?;
        let gi = if implicit_confirm {
            vec![itav(oid::IT_IMPLICIT_CONFIRM, Some(&Null))?]
        } else {
            Vec::new()
        };
        let f = self.fields(identity.common_name(), gi)?;
        encode(
            &f,
            PkiBody::Ir(vec![msg]),
            &self.protect(secret)?,
            Vec::new(),
        )
    }

    /// A genm asking for `types` (RFC 9483 §4.3), values absent.
    pub fn genm(&mut self, secret: &[u8], types: &[ObjectIdentifier]) -> Result<Vec<u8>, CmpError> {
        let itavs = types
            .iter()
            .map(|t| itav::<Null>(*t, None))
            .collect::<Result<Vec<_>, _>>()?;
        let f = self.fields(None, Vec::new())?;
        encode(&f, PkiBody::Genm(itavs), &self.protect(secret)?, Vec::new())
    }

    /// A certConf for `cert` (RFC 9483 §4.1.1): positive, or rejecting it.
    pub fn cert_conf(
        &mut self,
        secret: &[u8],
        cert: &[u8],
        cert_req_id: i64,
        accept: bool,
    ) -> Result<Vec<u8>, CmpError> {
        let status = CertStatus {
            cert_hash: OctetString::new(crate::protect::cert_hash(cert)?)?,
            cert_req_id: i64_to_int(cert_req_id),
            status_info: if accept {
                None
            } else {
                Some(PkiStatusInfo::rejection(
                    crate::Failure::BadCertTemplate,
                    "rejected by the end entity",
                ))
            },
            hash_alg: None,
        };
        let f = self.fields(None, Vec::new())?;
        encode(
            &f,
            PkiBody::CertConf(vec![status]),
            &self.protect(secret)?,
            Vec::new(),
        )
    }

    /// Any request body, MAC-protected (or as `protect` says) with `extra_certs`.
    pub fn message(
        &mut self,
        body: PkiBody,
        protect: Option<&Protect<'_>>,
        secret: &[u8],
        extra_certs: Vec<Certificate>,
        implicit_confirm: bool,
    ) -> Result<Vec<u8>, CmpError> {
        let gi = if implicit_confirm {
            vec![itav(oid::IT_IMPLICIT_CONFIRM, Some(&Null))?]
        } else {
            Vec::new()
        };
        let f = self.fields(None, gi)?;
        match protect {
            Some(p) => encode(&f, body, p, extra_certs),
            None => encode(&f, body, &self.protect(secret)?, extra_certs),
        }
    }

    /// Reads an answer whose protection the caller checks (a signature by the CA):
    /// transactionID and recipNonce checked; an error message becomes
    /// [`CmpError::Rejected`].
    pub fn read_unverified<'a>(&mut self, der: &'a [u8]) -> Result<Incoming<'a>, CmpError> {
        let inc = crate::message::parse(der)?;
        if let PkiBody::Error(e) = &inc.body {
            return Err(rejected(&e.pki_status_info, e.error_details.as_ref()));
        }
        if inc.transaction_id() != Some(self.transaction_id.as_slice()) {
            return Err(Refusal::new(
                crate::Failure::BadRequest,
                "the answer has another transactionID",
            )
            .into());
        }
        if inc.recip_nonce() != Some(self.last_nonce.as_slice()) {
            return Err(Refusal::new(
                crate::Failure::BadRecipientNonce,
                "the answer's recipNonce is not our senderNonce",
            )
            .into());
        }
        self.server_nonce = inc.sender_nonce().map(<[u8]>::to_vec);
        Ok(inc)
    }

    /// Reads an answer: transactionID, recipNonce and MAC checked; an error message or a
    /// rejection becomes [`CmpError::Rejected`].
    pub fn read<'a>(&mut self, der: &'a [u8], secret: &[u8]) -> Result<Incoming<'a>, CmpError> {
        let inc = crate::message::parse(der)?;
        if let PkiBody::Error(e) = &inc.body {
            return Err(rejected(&e.pki_status_info, e.error_details.as_ref()));
        }
        if inc.transaction_id() != Some(self.transaction_id.as_slice()) {
            return Err(Refusal::new(
                crate::Failure::BadRequest,
                "the answer has another transactionID",
            )
            .into());
        }
        if inc.recip_nonce() != Some(self.last_nonce.as_slice()) {
            return Err(Refusal::new(
                crate::Failure::BadRecipientNonce,
                "the answer's recipNonce is not our senderNonce",
            )
            .into());
        }
        match inc.protection_kind(&self.limits)? {
            ProtectionKind::Mac(p) => inc.verify_mac(&p, secret)?,
            _ => {
                return Err(Refusal::new(
                    crate::Failure::WrongIntegrity,
                    "the answer to a MAC-protected request is not MAC-protected",
                )
                .into())
            }
        }
        self.server_nonce = inc.sender_nonce().map(<[u8]>::to_vec);
        Ok(inc)
    }
}

fn rejected(s: &PkiStatusInfo, details: Option<&Vec<String>>) -> CmpError {
    let fi: FailInfo = s.fail_info();
    let mut text = s.text();
    if let Some(d) = details {
        text.push_str(&d.join("; "));
    }
    CmpError::Rejected {
        failures: fi.names(),
        text,
        fail_info: fi,
    }
}

/// The certificate an ip/cp/kup grants (its one CertResponse must be accepted).
pub fn granted(inc: &Incoming<'_>) -> Result<Granted, CmpError> {
    let rep = match &inc.body {
        PkiBody::Ip(r) | PkiBody::Cp(r) | PkiBody::Kup(r) => r,
        other => {
            return Err(CmpError::Internal(format!(
                "expected ip/cp/kup, got {}",
                other.name()
            )))
        }
    };
    let [resp] = rep.response.as_slice() else {
        return Err(CmpError::Internal(
            "expected exactly one CertResponse".into(),
        ));
    };
    use crate::asn1::PkiStatus;
    if !matches!(
        resp.status.status,
        PkiStatus::Accepted | PkiStatus::GrantedWithMods
    ) {
        return Err(rejected(&resp.status, None));
    }
    let cert = match resp
        .certified_key_pair
        .as_ref()
        .map(|c| &c.cert_or_enc_cert)
    {
        Some(CertOrEncCert::Certificate(c)) => c.to_der()?,
        _ => return Err(CmpError::Internal("no certificate in the response".into())),
    };
    let ders = |v: Option<&Vec<Certificate>>| -> Result<Vec<Vec<u8>>, CmpError> {
        v.map(|v| {
            v.iter()
                .map(|c| c.to_der().map_err(CmpError::from))
                .collect()
        })
        .unwrap_or(Ok(Vec::new()))
    };
    Ok(Granted {
        cert_req_id: int_to_i64(&resp.cert_req_id).unwrap_or(-2),
        cert,
        ca_pubs: ders(rep.ca_pubs.as_ref())?,
        extra_certs: ders(Some(&inc.extra_certs))?,
        implicit_confirm: inc.implicit_confirm(),
    })
}
