//! Properties of the EAT codecs: random claims round-trip through CWT and JWT under every
//! algorithm, and corrupted tokens never panic and never verify.

use proptest::prelude::*;
use snpn_rats::eat::{self, EatClaims, Format, Measurement, Oemid};
use snpn_rats::keys::{Alg, SigningKey};

fn claims() -> impl Strategy<Value = EatClaims> {
    (
        prop::collection::vec(prop::collection::vec(any::<u8>(), 8..=64), 1..=3),
        prop::collection::vec(any::<u8>(), 7..=33),
        prop::option::of(prop_oneof![
            any::<u64>().prop_map(Oemid::Pen),
            prop::array::uniform3(any::<u8>()).prop_map(|b| Oemid::Ieee(hex::encode(b))),
            prop::array::uniform16(any::<u8>()).prop_map(|b| Oemid::Random(hex::encode(b))),
        ]),
        prop::option::of(prop::collection::vec(any::<u8>(), 1..=32)),
        prop::option::of("[a-z0-9.-]{0,20}"),
        prop::option::of("[0-9.]{1,10}"),
        prop::option::of(any::<bool>()),
        prop::option::of(0u8..=4),
        prop::collection::vec(("[a-z-]{1,16}", prop::array::uniform32(any::<u8>())), 0..4),
        prop::option::of(any::<i32>()),
    )
        .prop_map(
            |(nonces, ueid, oemid, hwmodel, swname, swversion, oemboot, dbgstat, ms, iat)| {
                EatClaims {
                    nonces,
                    ueid,
                    oemid,
                    hwmodel,
                    swname,
                    swversion,
                    oemboot,
                    dbgstat,
                    measurements: ms
                        .into_iter()
                        .map(|(name, d)| Measurement {
                            name,
                            digest: hex::encode(d),
                        })
                        .collect(),
                    profile: Some(eat::EAT_PROFILE.into()),
                    iat: iat.map(i64::from),
                    exp: None,
                    nbf: None,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn round_trip(c in claims(), alg in prop_oneof![Just(Alg::Es256), Just(Alg::EdDsa), Just(Alg::Hs256)]) {
        let key = SigningKey::generate(alg).unwrap();
        let vk = key.verifying_key().unwrap();
        let cwt = eat::encode_cwt(&c, &key).unwrap();
        let p = eat::parse(Format::Cwt, &cwt).unwrap();
        prop_assert_eq!(&p.claims, &c);
        prop_assert!(p.verify(&vk).is_ok());
        let jwt = eat::encode_jwt(&c, &key).unwrap();
        let p = eat::parse(Format::Jwt, jwt.as_bytes()).unwrap();
        prop_assert_eq!(&p.claims, &c);
        prop_assert!(p.verify(&vk).is_ok());
    }

    #[test]
    fn corruption_never_panics_or_verifies(c in claims(), pos in any::<prop::sample::Index>(), bit in 0u8..8, cut in any::<prop::sample::Index>()) {
        let key = SigningKey::generate(Alg::Es256).unwrap();
        let vk = key.verifying_key().unwrap();
        for (format, token) in [
            (Format::Cwt, eat::encode_cwt(&c, &key).unwrap()),
            (Format::Jwt, eat::encode_jwt(&c, &key).unwrap().into_bytes()),
        ] {
            let mut flipped = token.clone();
            let i = pos.index(flipped.len());
            flipped[i] ^= 1 << bit;
            if let Ok(p) = eat::parse(format, &flipped) {
                // A flip may land on an encoding the decoder normalizes; the claims then
                // must be unchanged, otherwise the signature must fail.
                prop_assert!(p.verify(&vk).is_err() || p.claims == c);
            }
            let truncated = &token[..cut.index(token.len())];
            if let Ok(p) = eat::parse(format, truncated) {
                prop_assert!(p.verify(&vk).is_err());
            }
        }
    }
}
