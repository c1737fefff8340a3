//! Property tests: the UE side and the network side derive the same keys independently, and
//! SUCI concealment round-trips, for random subscribers, keys and networks.

use proptest::prelude::*;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

use snpn_crypto::aka::{self, Abba};
use snpn_crypto::akma::{self, AKid, AfId, UaProtocolId};
use snpn_crypto::eap_aka_prime;
use snpn_crypto::ids::{Nid, PlmnId, RoutingIndicator, ServingNetworkName, Supi};
use snpn_crypto::milenage::Milenage;
use snpn_crypto::secret::{Opc, K};
use snpn_crypto::sqn::{Sqn, SqnArray, SqnConfig, SqnGenerator};
use snpn_crypto::suci::{self, ConcealParams, ProtectionScheme};
use snpn_crypto::usim::{self, AuthFailure, Usim};

fn supi_strategy() -> impl Strategy<Value = (Supi, usize)> {
    prop_oneof![
        ("[0-9]{3}", "[0-9]{2,3}", "[0-9]{1,9}").prop_map(|(mcc, mnc, msin)| {
            let s: Supi = format!("imsi-{mcc}{mnc}{msin}").parse().unwrap();
            (s, mnc.len())
        }),
        (
            "[a-z0-9._-]{1,40}",
            "[a-z][a-z0-9]{0,10}(\\.[a-z][a-z0-9]{0,10}){1,3}"
        )
            .prop_map(|(user, realm)| {
                let s: Supi = format!("nai-{user}@{realm}").parse().unwrap();
                (s, 2)
            }),
    ]
}

fn snn_strategy() -> impl Strategy<Value = ServingNetworkName> {
    (
        "[0-9]{3}",
        "[0-9]{2,3}",
        proptest::option::of("[0-9a-f]{11}"),
    )
        .prop_map(|(mcc, mnc, nid)| {
            let plmn = PlmnId::new(&mcc, &mnc).unwrap();
            match nid {
                Some(n) => ServingNetworkName::for_snpn(&plmn, &n.parse::<Nid>().unwrap()),
                None => ServingNetworkName::for_plmn(&plmn),
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 128,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn ue_and_network_agree_on_the_5g_aka_and_akma_keys(
        k in any::<[u8; 16]>(),
        opc in any::<[u8; 16]>(),
        rand in any::<[u8; 16]>(),
        seq in 1u64..(1 << 20),
        amf_low in any::<u8>(),
        (supi, _) in supi_strategy(),
        snn in snn_strategy(),
        rid in "[0-9]{1,4}",
    ) {
        let k = K::new(k);
        let opc = Opc::new(opc);
        let amf = [0x80, amf_low];
        let sqn = Sqn::from_parts(seq, 0, 5).unwrap();
        // Home network: ARPF and AUSF.
        let he_av = aka::generate_he_av(&Milenage::new(&k, &opc), &rand, sqn, &amf, &snn);
        let se_av = he_av.to_se_av();
        // UE: USIM and ME, from their own copy of K and OPc.
        let mut usim = Usim::new(&k, &opc, SqnArray::new(SqnConfig::default()));
        let ue = usim::ue_5g_aka(&mut usim, &se_av.rand, &se_av.autn, &snn).unwrap();
        // SEAF and AUSF checks (TS 33.501 §6.1.3.2 steps 8–10).
        prop_assert_eq!(aka::hres_star(&rand, &ue.res_star), se_av.hxres_star);
        prop_assert_eq!(ue.res_star, he_av.xres_star);
        prop_assert_eq!(&ue.kausf, &he_av.kausf);
        let abba = Abba::initial();
        let (ue_kseaf, hn_kseaf) = (aka::kseaf(&ue.kausf, &snn), aka::kseaf(&he_av.kausf, &snn));
        prop_assert_eq!(&ue_kseaf, &hn_kseaf);
        prop_assert_eq!(aka::kamf(&ue_kseaf, &supi, &abba), aka::kamf(&hn_kseaf, &supi, &abba));
        // AKMA: the UE and the AUSF/AAnF derive K_AKMA and A-KID independently; UE and AF
        // then hold the same K_AF.
        let Ok(hnid) = supi.home_network_id() else {
            // An IMSI with no MSIN digits has no home network domain: nothing to derive.
            return Ok(());
        };
        let rid: RoutingIndicator = rid.parse().unwrap();
        let ue_akid = AKid::new(rid.clone(), akma::a_tid(&ue.kausf, &supi), &hnid).unwrap();
        let nw_akid = AKid::new(rid, akma::a_tid(&he_av.kausf, &supi), &hnid).unwrap();
        prop_assert_eq!(ue_akid.to_string().parse::<AKid>().unwrap(), nw_akid);
        let af = AfId::new("pvs.snpn.example", UaProtocolId::TLS13_SHARED_KEY).unwrap();
        let ue_kaf = akma::kaf(&akma::kakma(&ue.kausf, &supi), &af);
        let af_kaf = akma::kaf(&akma::kakma(&he_av.kausf, &supi), &af);
        prop_assert_eq!(ue_kaf, af_kaf);
        // A replay of the same challenge is refused with a synch failure.
        let replay = usim::ue_5g_aka(&mut usim, &se_av.rand, &se_av.autn, &snn);
        prop_assert!(matches!(replay, Err(AuthFailure::SynchFailure { .. })), "replay accepted");
    }

    #[test]
    fn ue_and_network_agree_on_eap_aka_prime_keys(
        k in any::<[u8; 16]>(),
        opc in any::<[u8; 16]>(),
        rand in any::<[u8; 16]>(),
        seq in 1u64..(1 << 20),
        (supi, _) in supi_strategy(),
        snn in snn_strategy(),
    ) {
        let k = K::new(k);
        let opc = Opc::new(opc);
        let m = Milenage::new(&k, &opc);
        let sqn = Sqn::from_parts(seq, 3, 5).unwrap();
        let amf = [0x80, 0x00];
        let out = m.compute_all(&rand, &sqn, &amf);
        let autn = aka::autn(sqn, &out.ak, &amf, &out.mac_a);
        let (ckp, ikp) = eap_aka_prime::ck_ik_prime(&out.ck, &out.ik, snn.as_str(), &sqn.xor_ak(&out.ak)).unwrap();
        let identity = supi.kdf_param();
        let nw = eap_aka_prime::derive_keys(&ckp, &ikp, &identity).unwrap();
        let mut usim = Usim::new(&k, &opc, SqnArray::new(SqnConfig::default()));
        let ue = usim::ue_eap_aka_prime(&mut usim, &rand, &autn, snn.as_str(), &identity).unwrap();
        prop_assert_eq!(ue.res, out.res);
        prop_assert_eq!(&ue.keys.msk, &nw.msk);
        prop_assert_eq!(&ue.keys.emsk, &nw.emsk);
        prop_assert_eq!(&ue.keys.k_aut, &nw.k_aut);
        prop_assert_eq!(ue.keys.kausf(), nw.kausf());
    }

    #[test]
    fn a_forged_autn_fails_the_mac_and_changes_nothing(
        k in any::<[u8; 16]>(),
        opc in any::<[u8; 16]>(),
        rand in any::<[u8; 16]>(),
        bit in 0usize..128,
    ) {
        let (k, opc) = (K::new(k), Opc::new(opc));
        let snn: ServingNetworkName = "5G:mnc001.mcc001.3gppnetwork.org".parse().unwrap();
        let sqn = Sqn::from_parts(7, 1, 5).unwrap();
        let mut av = aka::generate_he_av(&Milenage::new(&k, &opc), &rand, sqn, &[0x80, 0], &snn);
        // Flip one bit outside the AMF separation bit.
        let bit = if bit == 48 { 49 } else { bit };
        av.autn[bit / 8] ^= 0x80 >> (bit % 8);
        let mut usim = Usim::new(&k, &opc, SqnArray::new(SqnConfig::default()));
        let before = usim.sqn_array().clone();
        prop_assert_eq!(
            usim::ue_5g_aka(&mut usim, &rand, &av.autn, &snn).unwrap_err(),
            AuthFailure::MacFailure
        );
        prop_assert_eq!(usim.sqn_array(), &before);
    }

    #[test]
    fn synch_failure_resynchronises_the_home_network(
        k in any::<[u8; 16]>(),
        opc in any::<[u8; 16]>(),
        rand in any::<[u8; 16]>(),
        usim_seq in 100u64..(1 << 30),
        he_seq in 0u64..100,
    ) {
        let (k, opc) = (K::new(k), Opc::new(opc));
        let m = Milenage::new(&k, &opc);
        let snn: ServingNetworkName = "5G:mnc001.mcc001.3gppnetwork.org".parse().unwrap();
        let cfg = SqnConfig::default();
        let mut entries = vec![0; 32];
        entries[5] = usim_seq;
        let mut usim = Usim::new(&k, &opc, SqnArray::from_entries(cfg, entries).unwrap());
        let gen = SqnGenerator::new(cfg);
        let sqn_he = Sqn::from_parts(he_seq, 4, 5).unwrap();
        let stale = gen.next(sqn_he).unwrap();
        let av = aka::generate_he_av(&m, &rand, stale, &[0x80, 0], &snn);
        let auts = match usim::ue_5g_aka(&mut usim, &rand, &av.autn, &snn) {
            Err(AuthFailure::SynchFailure { auts, .. }) => auts,
            other => return Err(TestCaseError::fail(format!("expected synch failure, got {other:?}"))),
        };
        let sqn_ms = aka::verify_auts(&m, &rand, &auts).expect("MAC-S verifies");
        let sqn_he = gen.resync(sqn_he, sqn_ms);
        let fresh = gen.next(sqn_he).unwrap();
        let av = aka::generate_he_av(&m, &rand, fresh, &[0x80, 0], &snn);
        prop_assert!(usim::ue_5g_aka(&mut usim, &rand, &av.autn, &snn).is_ok());
    }

    #[test]
    fn suci_conceal_deconceal_round_trips(
        (supi, mnc_len) in supi_strategy(),
        scheme in prop_oneof![Just(ProtectionScheme::ProfileA), Just(ProtectionScheme::ProfileB)],
        seed in any::<u64>(),
        key_id in any::<u8>(),
        rid in "[0-9]{1,4}",
    ) {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let (sk, pk) = suci::generate_hn_key(scheme, &mut rng).unwrap();
        let p = ConcealParams {
            supi: &supi,
            mnc_len,
            routing_indicator: rid.parse().unwrap(),
            hn_key_id: key_id,
        };
        let concealed = suci::conceal(&p, &pk, &mut rng).unwrap();
        let text = concealed.to_string();
        let parsed: snpn_crypto::suci::Suci = text.parse().unwrap();
        prop_assert_eq!(&parsed, &concealed);
        prop_assert_eq!(suci::deconceal(&parsed, Some(&sk)).unwrap(), supi.clone());
        // The wrong key fails the MAC.
        let (other, _) = suci::generate_hn_key(scheme, &mut rng).unwrap();
        prop_assert!(suci::deconceal(&parsed, Some(&other)).is_err());
        // The null scheme round-trips too.
        let null = suci::conceal_null(&p).unwrap();
        let parsed: snpn_crypto::suci::Suci = null.to_string().parse().unwrap();
        prop_assert_eq!(suci::deconceal(&parsed, None).unwrap(), supi);
    }

    #[test]
    fn suci_parser_never_panics(s in "suci-[0-9]-[ -~]{0,80}") {
        if let Ok(parsed) = s.parse::<snpn_crypto::suci::Suci>() {
            let _ = suci::deconceal(&parsed, Some(&snpn_crypto::secret::HnPrivateKey::new([7; 32])));
        }
    }
}
