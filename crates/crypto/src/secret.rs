//! Secret key material: fixed-size byte arrays that zeroize on drop and never print.
//!
//! Every key of the 3GPP hierarchy (K, OPc, CK, IK, K_AUSF, K_SEAF, K_AMF, K_AKMA, K_AF,
//! CK', IK', K_encr, K_aut, K_re, MSK, EMSK) has its own newtype so that one key cannot be
//! passed where another is expected. `Debug` prints only the type name; the bytes are reached
//! through [`expose`](Kausf::expose) (the word is meant to stand out in review).

use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::Error;

/// Declares a secret key newtype over `[u8; N]` that zeroizes on drop and redacts `Debug`.
macro_rules! secret_key {
    ($(#[$doc:meta])* $name:ident, $len:expr) => {
        $(#[$doc])*
        #[derive(Clone, Zeroize, ZeroizeOnDrop)]
        pub struct $name([u8; $len]);

        impl $name {
            /// Length of this key in octets.
            pub const LEN: usize = $len;

            /// Wraps raw key bytes.
            pub const fn new(bytes: [u8; $len]) -> Self {
                Self(bytes)
            }

            /// Copies the key from a slice, which must be exactly [`Self::LEN`] octets long.
            pub fn from_slice(bytes: &[u8]) -> Result<Self, Error> {
                let arr: [u8; $len] = bytes.try_into().map_err(|_| Error::Length {
                    what: stringify!($name),
                    expected: $len,
                    got: bytes.len(),
                })?;
                Ok(Self(arr))
            }

            /// Parses the key from hexadecimal (either case).
            pub fn from_hex(s: &str) -> Result<Self, Error> {
                let mut out = [0u8; $len];
                crate::hexutil::decode_exact(stringify!($name), s, &mut out)?;
                Ok(Self(out))
            }

            /// The key bytes. Do not log them.
            pub fn expose(&self) -> &[u8; $len] {
                &self.0
            }
        }

        impl core::fmt::Debug for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(concat!(stringify!($name), "(<redacted>)"))
            }
        }

        impl PartialEq for $name {
            /// Constant-time comparison.
            fn eq(&self, other: &Self) -> bool {
                subtle::ConstantTimeEq::ct_eq(&self.0[..], &other.0[..]).into()
            }
        }

        impl Eq for $name {}
    };
}

secret_key!(
    /// K, the 128-bit subscriber key shared by the USIM and the ARPF (TS 33.102 §6.3).
    K,
    16
);
secret_key!(
    /// OP_c, the operator variant key combined with K (TS 35.206 §4.1).
    Opc,
    16
);
secret_key!(
    /// OP, the operator variant configuration field (TS 35.206 §4.1), from which OP_c is derived.
    Op,
    16
);
secret_key!(
    /// CK, the cipher key output by f3 (TS 33.102 §6.3.2).
    Ck,
    16
);
secret_key!(
    /// IK, the integrity key output by f4 (TS 33.102 §6.3.2).
    Ik,
    16
);
secret_key!(
    /// K_AUSF, the anchor key of primary authentication (TS 33.501 §6.1.3, Annex A.2).
    Kausf,
    32
);
secret_key!(
    /// K_SEAF, the serving-network anchor key (TS 33.501 Annex A.6).
    Kseaf,
    32
);
secret_key!(
    /// K_AMF, the AMF key (TS 33.501 Annex A.7).
    Kamf,
    32
);
secret_key!(
    /// CK', the EAP-AKA' cipher key (RFC 9048 §3.3, TS 33.402 Annex A.2).
    CkPrime,
    16
);
secret_key!(
    /// IK', the EAP-AKA' integrity key (RFC 9048 §3.3, TS 33.402 Annex A.2).
    IkPrime,
    16
);
secret_key!(
    /// K_encr, the EAP-AKA' encryption key (RFC 9048 §3.3).
    KEncr,
    16
);
secret_key!(
    /// K_aut, the EAP-AKA' authentication key (RFC 9048 §3.3).
    KAut,
    32
);
secret_key!(
    /// K_re, the EAP-AKA' re-authentication key (RFC 9048 §3.3).
    KRe,
    32
);
secret_key!(
    /// MSK, the EAP master session key (RFC 9048 §3.3).
    Msk,
    64
);
secret_key!(
    /// EMSK, the EAP extended master session key (RFC 9048 §3.3).
    Emsk,
    64
);
secret_key!(
    /// K_AKMA, the AKMA anchor key (TS 33.535 §6.1, Annex A.2).
    Kakma,
    32
);
secret_key!(
    /// K_AF, the AKMA application key for one AF (TS 33.535 §6.2, Annex A.4).
    Kaf,
    32
);
secret_key!(
    /// A SUCI home network private key of Profile A or B (TS 33.501 Annex C.3.4).
    HnPrivateKey,
    32
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let k = Kausf::new([0xab; 32]);
        let shown = format!("{k:?}");
        assert_eq!(shown, "Kausf(<redacted>)");
        assert!(!shown.contains("ab"));
    }

    #[test]
    fn wrong_length_is_an_error() {
        assert!(K::from_slice(&[0u8; 15]).is_err());
        assert!(K::from_hex("00").is_err());
        assert!(K::from_hex("465b5ce8b199b49faa5f0a2ee238a6bc").is_ok());
    }

    #[test]
    fn equality_is_by_value() {
        assert_eq!(Kaf::new([1; 32]), Kaf::new([1; 32]));
        assert_ne!(Kaf::new([1; 32]), Kaf::new([2; 32]));
    }
}
