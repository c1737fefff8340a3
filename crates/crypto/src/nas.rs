//! NAS security keys and integrity (TS 33.501 §6.4, Annex A.8; 128-NIA2 per TS 33.501
//! Annex D.3.1.3 = 128-EIA2 of TS 33.401 Annex B.2.3).

use aes::Aes128;
use cmac::{Cmac, Mac};

use crate::kdf::kdf_bounded;
use crate::secret::Kamf;

/// FC of the algorithm key derivation (TS 33.501 A.8).
pub const FC_ALGORITHM_KEY: u8 = 0x69;
/// Algorithm type distinguisher N-NAS-int-alg (TS 33.501 Table A.8-1).
pub const N_NAS_INT_ALG: u8 = 0x02;
/// Algorithm identity of 128-NIA2 (TS 33.501 §5.11.1.3).
pub const NIA2: u8 = 0x02;

/// Direction bit of a NAS message (TS 33.501 D.3.1.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// UE to network.
    Uplink = 0,
    /// Network to UE.
    Downlink = 1,
}

/// K_NASint for 128-NIA2: the 128 least significant bits of KDF(K_AMF, 0x69,
/// N-NAS-int-alg, NIA2) (TS 33.501 A.8).
pub fn k_nas_int(kamf: &Kamf) -> zeroize::Zeroizing<[u8; 16]> {
    let out = zeroize::Zeroizing::new(kdf_bounded(
        kamf.expose(),
        FC_ALGORITHM_KEY,
        &[&[N_NAS_INT_ALG], &[NIA2]],
    ));
    let mut k = zeroize::Zeroizing::new([0u8; 16]);
    k.copy_from_slice(&out[16..]);
    k
}

/// 128-NIA2: AES-CMAC over COUNT ‖ BEARER ‖ DIRECTION ‖ 0^26 ‖ MESSAGE, truncated to 32 bits
/// (TS 33.401 B.2.3). `bearer` is 5 bits; NAS over 3GPP access uses 0.
pub fn nia2(
    key: &[u8; 16],
    count: u32,
    bearer: u8,
    direction: Direction,
    message: &[u8],
) -> [u8; 4] {
    let mut m = <Cmac<Aes128> as Mac>::new_from_slice(key).expect("16-octet key");
    let mut header = [0u8; 8];
    header[..4].copy_from_slice(&count.to_be_bytes());
    header[4] = ((bearer & 0x1f) << 3) | ((direction as u8) << 2);
    m.update(&header);
    m.update(message);
    m.finalize().into_bytes()[..4].try_into().expect("4 octets")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eia2_test_sets_2_and_5() {
        // TS 33.401 Annex C.2, 128-EIA2 test sets 2 and 5 (byte-aligned messages).
        let key: [u8; 16] = hex::decode("d3c5d592327fb11c4035c6680af8c6d1")
            .unwrap()
            .try_into()
            .unwrap();
        let msg = hex::decode("484583d5afe082ae").unwrap();
        assert_eq!(
            hex::encode(nia2(&key, 0x398a59b4, 0x1a, Direction::Downlink, &msg)),
            "b93787e6"
        );
        let key: [u8; 16] = hex::decode("83fd23a244a74cf358da3019f1722635")
            .unwrap()
            .try_into()
            .unwrap();
        let msg = hex::decode(concat!(
            "35c68716633c66fb750c266865d53c11ea05b1e9fa49c8398d48e1efa5909d39",
            "47902837f5ae96d5a05bc8d61ca8dbef1b13a4b4abfe4fb1006045b674bb5472",
            "9304c382be53a5af05556176f6eaa2ef1d05e4b083181ee674cda5a485f74d7a"
        ))
        .unwrap();
        assert_eq!(
            hex::encode(nia2(&key, 0x36af6144, 0x0f, Direction::Downlink, &msg)),
            "e657e182"
        );
    }

    #[test]
    fn k_nas_int_is_the_low_half_of_the_kdf() {
        let kamf = Kamf::new([3; 32]);
        let full = crate::kdf::kdf(&[3; 32], 0x69, &[&[2], &[2]]).unwrap();
        assert_eq!(&k_nas_int(&kamf)[..], &full[16..]);
    }
}
