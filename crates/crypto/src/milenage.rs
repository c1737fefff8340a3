//! The MILENAGE algorithm set f1, f1*, f2, f3, f4, f5, f5* (TS 35.206).
//!
//! The kernel function E_K is AES-128. The key schedule for K is computed once per
//! [`Milenage`] value and zeroized when it is dropped.

use aes::cipher::{generic_array::GenericArray, BlockEncrypt, KeyInit};
use aes::Aes128;

use crate::secret::{Ck, Ik, Op, Opc, K};
use crate::sqn::Sqn;

/// RAND, the 128-bit random challenge (TS 33.102 §6.3.2).
pub type Rand = [u8; 16];
/// AMF, the 16-bit authentication management field (TS 33.102 Annex F).
pub type Amf = [u8; 2];
/// MAC-A (f1) or MAC-S (f1*), 64 bits (TS 35.206 §4.1).
pub type Mac64 = [u8; 8];
/// RES or XRES, the f2 output; 64 bits with MILENAGE (TS 35.206 §4.1).
pub type Res = [u8; 8];
/// AK (f5) or AK* (f5*), 48 bits (TS 35.206 §4.1).
pub type Ak = [u8; 6];

/// Rotation amounts r1..r5 in bits (TS 35.206 §4.1).
const R: [u32; 5] = [64, 0, 32, 64, 96];
/// Constants c1..c5 (TS 35.206 §4.1).
const C: [u128; 5] = [0, 1, 2, 4, 8];

/// A MILENAGE instance bound to one subscriber's K and OP_c (TS 35.206 §4.1).
pub struct Milenage {
    aes: Aes128,
    opc: [u8; 16],
}

impl Drop for Milenage {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.opc);
        // `Aes128` zeroizes its round keys on drop (aes crate feature "zeroize").
    }
}

impl core::fmt::Debug for Milenage {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Milenage(<redacted>)")
    }
}

/// Every MILENAGE output for one (RAND, SQN, AMF), computed with six AES operations.
#[derive(Clone)]
pub struct MilenageOutput {
    /// f1: network authentication code MAC-A.
    pub mac_a: Mac64,
    /// f1*: resynchronisation authentication code MAC-S.
    pub mac_s: Mac64,
    /// f2: (expected) response RES / XRES.
    pub res: Res,
    /// f3: cipher key CK.
    pub ck: Ck,
    /// f4: integrity key IK.
    pub ik: Ik,
    /// f5: anonymity key AK.
    pub ak: Ak,
    /// f5*: resynchronisation anonymity key AK*.
    pub ak_star: Ak,
}

impl Milenage {
    /// Binds MILENAGE to K and OP_c.
    pub fn new(k: &K, opc: &Opc) -> Self {
        Self {
            aes: Aes128::new(GenericArray::from_slice(k.expose())),
            opc: *opc.expose(),
        }
    }

    /// Binds MILENAGE to K and OP, computing OP_c = OP ⊕ E_K(OP) (TS 35.206 §4.1).
    pub fn with_op(k: &K, op: &Op) -> Self {
        let opc = compute_opc(k, op);
        Self::new(k, &opc)
    }

    /// OP_c in use.
    pub fn opc(&self) -> Opc {
        Opc::new(self.opc)
    }

    /// TEMP = E_K(RAND ⊕ OP_c).
    fn temp(&self, rand: &Rand) -> u128 {
        self.encrypt(u128::from_be_bytes(*rand) ^ self.opc_u128())
    }

    fn opc_u128(&self) -> u128 {
        u128::from_be_bytes(self.opc)
    }

    /// OUT_i for i in 2..=5: E_K(rot(TEMP ⊕ OP_c, r_i) ⊕ c_i) ⊕ OP_c.
    fn out(&self, temp: u128, i: usize) -> [u8; 16] {
        let opc = self.opc_u128();
        let b = (temp ^ opc).rotate_left(R[i - 1]) ^ C[i - 1];
        (self.encrypt(b) ^ opc).to_be_bytes()
    }

    /// OUT1 = E_K(TEMP ⊕ rot(IN1 ⊕ OP_c, r1) ⊕ c1) ⊕ OP_c, IN1 = SQN‖AMF‖SQN‖AMF.
    fn out1(&self, temp: u128, sqn: &Sqn, amf: &Amf) -> [u8; 16] {
        let half = (sqn.value() << 16) | u64::from(u16::from_be_bytes(*amf));
        let in1 = (u128::from(half) << 64) | u128::from(half);
        let opc = self.opc_u128();
        let b = temp ^ (in1 ^ opc).rotate_left(R[0]) ^ C[0];
        (self.encrypt(b) ^ opc).to_be_bytes()
    }

    /// E_K on a block held as a big-endian integer.
    fn encrypt(&self, x: u128) -> u128 {
        let mut block = x.to_be_bytes();
        self.aes
            .encrypt_block(GenericArray::from_mut_slice(&mut block[..]));
        u128::from_be_bytes(block)
    }

    /// f1: MAC-A over SQN, RAND and AMF.
    pub fn f1(&self, rand: &Rand, sqn: &Sqn, amf: &Amf) -> Mac64 {
        let o = self.out1(self.temp(rand), sqn, amf);
        o[0..8].try_into().expect("8 octets")
    }

    /// f1*: MAC-S over SQN, RAND and AMF (used in AUTS with AMF = 0x0000).
    pub fn f1_star(&self, rand: &Rand, sqn: &Sqn, amf: &Amf) -> Mac64 {
        let o = self.out1(self.temp(rand), sqn, amf);
        o[8..16].try_into().expect("8 octets")
    }

    /// f2, f3, f4, f5: (RES, CK, IK, AK), sharing one TEMP computation.
    pub fn f2345(&self, rand: &Rand) -> (Res, Ck, Ik, Ak) {
        let temp = self.temp(rand);
        let o2 = self.out(temp, 2);
        let o3 = self.out(temp, 3);
        let o4 = self.out(temp, 4);
        (
            o2[8..16].try_into().expect("8 octets"),
            Ck::new(o3),
            Ik::new(o4),
            o2[0..6].try_into().expect("6 octets"),
        )
    }

    /// f5: the anonymity key AK alone.
    pub fn f5(&self, rand: &Rand) -> Ak {
        let o2 = self.out(self.temp(rand), 2);
        o2[0..6].try_into().expect("6 octets")
    }

    /// f5*: the resynchronisation anonymity key AK*.
    pub fn f5_star(&self, rand: &Rand) -> Ak {
        let o5 = self.out(self.temp(rand), 5);
        o5[0..6].try_into().expect("6 octets")
    }

    /// All of f1, f1*, f2, f3, f4, f5, f5* at once (one TEMP, six AES blocks in all).
    pub fn compute_all(&self, rand: &Rand, sqn: &Sqn, amf: &Amf) -> MilenageOutput {
        let temp = self.temp(rand);
        let o1 = self.out1(temp, sqn, amf);
        let o2 = self.out(temp, 2);
        let o3 = self.out(temp, 3);
        let o4 = self.out(temp, 4);
        let o5 = self.out(temp, 5);
        MilenageOutput {
            mac_a: o1[0..8].try_into().expect("8 octets"),
            mac_s: o1[8..16].try_into().expect("8 octets"),
            res: o2[8..16].try_into().expect("8 octets"),
            ck: Ck::new(o3),
            ik: Ik::new(o4),
            ak: o2[0..6].try_into().expect("6 octets"),
            ak_star: o5[0..6].try_into().expect("6 octets"),
        }
    }
}

/// OP_c = OP ⊕ E_K(OP) (TS 35.206 §4.1).
pub fn compute_opc(k: &K, op: &Op) -> Opc {
    let aes = Aes128::new(GenericArray::from_slice(k.expose()));
    let mut b = *op.expose();
    aes.encrypt_block(GenericArray::from_mut_slice(&mut b[..]));
    let out = Opc::new(xor16(&b, op.expose()));
    zeroize::Zeroize::zeroize(&mut b);
    out
}

fn xor16(a: &[u8; 16], b: &[u8; 16]) -> [u8; 16] {
    (u128::from_be_bytes(*a) ^ u128::from_be_bytes(*b)).to_be_bytes()
}
