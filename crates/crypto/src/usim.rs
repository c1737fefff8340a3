//! A software USIM and the ME-side checks of 5G AKA and EAP-AKA' (TS 33.102 §6.3.3,
//! TS 33.501 §6.1.3.1–§6.1.3.2). Sans-I/O: the caller persists [`Usim::sqn_array`].

use crate::aka::{self, amf_separation_bit, split_autn, Autn, Auts, ResStar};
use crate::eap_aka_prime::{self, EapAkaPrimeKeys};
use crate::ids::ServingNetworkName;
use crate::milenage::{Milenage, Rand, Res};
use crate::secret::{Ck, Ik, Kausf, Opc, K};
use crate::sqn::{Sqn, SqnArray, SqnRejection};
use crate::Error;

/// Why the UE rejected an authentication challenge.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthFailure {
    /// MAC-A did not verify: the network is not authentic (TS 24.501 cause #20).
    #[error("MAC failure")]
    MacFailure,
    /// SQN not acceptable: resynchronise with this AUTS (TS 24.501 cause #21).
    #[error("synch failure ({reason})")]
    SynchFailure {
        /// AUTS for the home network.
        auts: Auts,
        /// Which freshness check failed.
        reason: SqnRejection,
    },
    /// The AMF separation bit is 0 (TS 33.501 §6.1.3.2.0; TS 24.501 cause #26).
    #[error("non-5G authentication unacceptable (AMF separation bit is 0)")]
    Non5gAuthentication,
}

/// What the USIM returns on a successful AKA run (TS 33.102 §6.3.3).
#[derive(Clone, Debug)]
pub struct UsimResult {
    /// RES.
    pub res: Res,
    /// CK.
    pub ck: Ck,
    /// IK.
    pub ik: Ik,
    /// SQN ⊕ AK from AUTN.
    pub sqn_xor_ak: [u8; 6],
    /// The SQN the USIM accepted.
    pub sqn: Sqn,
}

/// A software USIM: K, OP_c and the SQN array of TS 33.102 Annex C.
#[derive(Debug)]
pub struct Usim {
    milenage: Milenage,
    sqn: SqnArray,
}

impl Usim {
    /// A USIM with K, OP_c and a stored SQN array.
    pub fn new(k: &K, opc: &Opc, sqn: SqnArray) -> Self {
        Self {
            milenage: Milenage::new(k, opc),
            sqn,
        }
    }

    /// The SQN array, to persist after each run.
    pub fn sqn_array(&self) -> &SqnArray {
        &self.sqn
    }

    /// The USIM side of AKA (TS 33.102 §6.3.3): verify MAC-A, then SQN freshness; on a
    /// freshness failure return AUTS. State changes only on success.
    pub fn authenticate(&mut self, rand: &Rand, autn: &Autn) -> Result<UsimResult, AuthFailure> {
        let f = split_autn(autn);
        let (res, ck, ik, ak) = self.milenage.f2345(rand);
        let sqn = Sqn::from_bytes(&Sqn::from_bytes(&f.sqn_xor_ak).xor_ak(&ak));
        let xmac = self.milenage.f1(rand, &sqn, &f.amf);
        if !bool::from(subtle::ConstantTimeEq::ct_eq(&xmac[..], &f.mac_a[..])) {
            return Err(AuthFailure::MacFailure);
        }
        if let Err(reason) = self.sqn.accept(sqn) {
            let auts = aka::generate_auts(&self.milenage, rand, self.sqn.sqn_ms());
            return Err(AuthFailure::SynchFailure { auts, reason });
        }
        Ok(UsimResult {
            res,
            ck,
            ik,
            sqn_xor_ak: f.sqn_xor_ak,
            sqn,
        })
    }
}

/// The UE's result of 5G AKA (TS 33.501 §6.1.3.2, step 6).
#[derive(Clone, Debug)]
pub struct FiveGAkaUeResult {
    /// RES*, sent to the SEAF.
    pub res_star: ResStar,
    /// K_AUSF.
    pub kausf: Kausf,
}

/// The UE side of 5G AKA: the ME checks the AMF separation bit, the USIM verifies AUTN, the
/// ME computes RES* and K_AUSF (TS 33.501 §6.1.3.2, step 6).
pub fn ue_5g_aka(
    usim: &mut Usim,
    rand: &Rand,
    autn: &Autn,
    snn: &ServingNetworkName,
) -> Result<FiveGAkaUeResult, AuthFailure> {
    if !amf_separation_bit(&split_autn(autn).amf) {
        return Err(AuthFailure::Non5gAuthentication);
    }
    let r = usim.authenticate(rand, autn)?;
    let res_star =
        aka::res_star(&r.ck, &r.ik, snn, rand, &r.res).expect("MILENAGE RES is 8 octets");
    let kausf = aka::kausf(&r.ck, &r.ik, snn, &r.sqn_xor_ak);
    Ok(FiveGAkaUeResult { res_star, kausf })
}

/// The UE's result of EAP-AKA' (RFC 9048 §3, TS 33.501 §6.1.3.1).
#[derive(Clone, Debug)]
pub struct EapAkaPrimeUeResult {
    /// RES, sent in AT_RES.
    pub res: Res,
    /// K_encr, K_aut, K_re, MSK, EMSK.
    pub keys: EapAkaPrimeKeys,
}

/// The UE side of EAP-AKA': the ME checks the AMF separation bit, the USIM verifies AUTN,
/// the ME derives CK', IK' with the network name and the keys with `identity` (for 5G, the
/// SUPI as TS 33.501 Annex F.3 requires).
pub fn ue_eap_aka_prime(
    usim: &mut Usim,
    rand: &Rand,
    autn: &Autn,
    network_name: &str,
    identity: &[u8],
) -> Result<EapAkaPrimeUeResult, UeEapError> {
    if !amf_separation_bit(&split_autn(autn).amf) {
        return Err(UeEapError::Auth(AuthFailure::Non5gAuthentication));
    }
    let r = usim.authenticate(rand, autn).map_err(UeEapError::Auth)?;
    let (ckp, ikp) = eap_aka_prime::ck_ik_prime(&r.ck, &r.ik, network_name, &r.sqn_xor_ak)
        .map_err(UeEapError::Input)?;
    let keys = eap_aka_prime::derive_keys(&ckp, &ikp, identity).map_err(UeEapError::Input)?;
    Ok(EapAkaPrimeUeResult { res: r.res, keys })
}

/// Failure of the UE side of EAP-AKA'.
#[derive(Debug, thiserror::Error)]
pub enum UeEapError {
    /// The challenge was refused.
    #[error(transparent)]
    Auth(AuthFailure),
    /// An input was out of range.
    #[error(transparent)]
    Input(Error),
}
