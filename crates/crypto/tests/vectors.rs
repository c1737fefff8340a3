//! Published test vectors: TS 35.207/35.208 MILENAGE sets, RFC 9048 Appendix D (= RFC 5448
//! Appendix C) EAP-AKA' cases, TS 33.501 Annex C.4 SUCI data, and independently published
//! 5G AKA key chains. Provenance of every table is in `docs/vectors.md`.

use snpn_crypto::aka::{self, Abba};
use snpn_crypto::eap_aka_prime;
use snpn_crypto::ids::{RoutingIndicator, ServingNetworkName, Supi};
use snpn_crypto::milenage::{compute_opc, Milenage};
use snpn_crypto::secret::{Ck, HnPrivateKey, Ik, Kausf, Op, Opc, K};
use snpn_crypto::sqn::Sqn;
use snpn_crypto::suci::{self, ConcealParams, HnPublicKey, ProtectionScheme, Suci};

fn h<const N: usize>(s: &str) -> [u8; N] {
    hex::decode(s).unwrap().try_into().unwrap()
}

struct MilenageSet {
    set: u32,
    k: &'static str,
    rand: &'static str,
    sqn: &'static str,
    amf: &'static str,
    op: &'static str,
    opc: &'static str,
    f1: &'static str,
    f1_star: &'static str,
    f2: &'static str,
    f3: &'static str,
    f4: &'static str,
    f5: &'static str,
    f5_star: &'static str,
}

/// TS 35.207 §4–6 sets 1–6 (TS 35.208 §4.3 conformance sets 1–20; set 2 of the
/// conformance list is the implementors' set 2).
const SETS: &[MilenageSet] = &[
    MilenageSet {
        set: 1,
        k: "465b5ce8b199b49faa5f0a2ee238a6bc",
        rand: "23553cbe9637a89d218ae64dae47bf35",
        sqn: "ff9bb4d0b607",
        amf: "b9b9",
        op: "cdc202d5123e20f62b6d676ac72cb318",
        opc: "cd63cb71954a9f4e48a5994e37a02baf",
        f1: "4a9ffac354dfafb3",
        f1_star: "01cfaf9ec4e871e9",
        f2: "a54211d5e3ba50bf",
        f3: "b40ba9a3c58b2a05bbf0d987b21bf8cb",
        f4: "f769bcd751044604127672711c6d3441",
        f5: "aa689c648370",
        f5_star: "451e8beca43b",
    },
    MilenageSet {
        set: 2,
        k: "0396eb317b6d1c36f19c1c84cd6ffd16",
        rand: "c00d603103dcee52c4478119494202e8",
        sqn: "fd8eef40df7d",
        amf: "af17",
        op: "ff53bade17df5d4e793073ce9d7579fa",
        opc: "53c15671c60a4b731c55b4a441c0bde2",
        f1: "5df5b31807e258b0",
        f1_star: "a8c016e51ef4a343",
        f2: "d3a628ed988620f0",
        f3: "58c433ff7a7082acd424220f2b67c556",
        f4: "21a8c1f929702adb3e738488b9f5c5da",
        f5: "c47783995f72",
        f5_star: "30f1197061c1",
    },
    MilenageSet {
        set: 3,
        k: "fec86ba6eb707ed08905757b1bb44b8f",
        rand: "9f7c8d021accf4db213ccff0c7f71a6a",
        sqn: "9d0277595ffc",
        amf: "725c",
        op: "dbc59adcb6f9a0ef735477b7fadf8374",
        opc: "1006020f0a478bf6b699f15c062e42b3",
        f1: "9cabc3e99baf7281",
        f1_star: "95814ba2b3044324",
        f2: "8011c48c0c214ed2",
        f3: "5dbdbb2954e8f3cde665b046179a5098",
        f4: "59a92d3b476a0443487055cf88b2307b",
        f5: "33484dc2136b",
        f5_star: "deacdd848cc6",
    },
    MilenageSet {
        set: 4,
        k: "9e5944aea94b81165c82fbf9f32db751",
        rand: "ce83dbc54ac0274a157c17f80d017bd6",
        sqn: "0b604a81eca8",
        amf: "9e09",
        op: "223014c5806694c007ca1eeef57f004f",
        opc: "a64a507ae1a2a98bb88eb4210135dc87",
        f1: "74a58220cba84c49",
        f1_star: "ac2cc74a96871837",
        f2: "f365cd683cd92e96",
        f3: "e203edb3971574f5a94b0d61b816345d",
        f4: "0c4524adeac041c4dd830d20854fc46b",
        f5: "f0b9c08ad02e",
        f5_star: "6085a86c6f63",
    },
    MilenageSet {
        set: 5,
        k: "4ab1deb05ca6ceb051fc98e77d026a84",
        rand: "74b0cd6031a1c8339b2b6ce2b8c4a186",
        sqn: "e880a1b580b6",
        amf: "9f07",
        op: "2d16c5cd1fdf6b22383584e3bef2a8d8",
        opc: "dcf07cbd51855290b92a07a9891e523e",
        f1: "49e785dd12626ef2",
        f1_star: "9e85790336bb3fa2",
        f2: "5860fc1bce351e7e",
        f3: "7657766b373d1c2138f307e3de9242f9",
        f4: "1c42e960d89b8fa99f2744e0708ccb53",
        f5: "31e11a609118",
        f5_star: "fe2555e54aa9",
    },
    MilenageSet {
        set: 6,
        k: "6c38a116ac280c454f59332ee35c8c4f",
        rand: "ee6466bc96202c5a557abbeff8babf63",
        sqn: "414b98222181",
        amf: "4464",
        op: "1ba00a1a7c6700ac8c3ff3e96ad08725",
        opc: "3803ef5363b947c6aaa225e58fae3934",
        f1: "078adfb488241a57",
        f1_star: "80246b8d0186bcf1",
        f2: "16c8233f05a0ac28",
        f3: "3f8c7587fe8e4b233af676aede30ba3b",
        f4: "a7466cc1e6b2a1337d49d3b66e95d7b4",
        f5: "45b0f69ab06c",
        f5_star: "1f53cd2b1113",
    },
    MilenageSet {
        set: 7,
        k: "2d609d4db0ac5bf0d2c0de267014de0d",
        rand: "194aa756013896b74b4a2a3b0af4539e",
        sqn: "6bf69438c2e4",
        amf: "5f67",
        op: "460a48385427aa39264aac8efc9e73e8",
        opc: "c35a0ab0bcbfc9252caff15f24efbde0",
        f1: "bd07d3003b9e5cc3",
        f1_star: "bcb6c2fcad152250",
        f2: "8c25a16cd918a1df",
        f3: "4cd0846020f8fa0731dd47cbdc6be411",
        f4: "88ab80a415f15c73711254a1d388f696",
        f5: "7e6455f34cf3",
        f5_star: "dc6dd01e8f15",
    },
    MilenageSet {
        set: 8,
        k: "a530a7fe428fad1082c45eddfce13884",
        rand: "3a4c2b3245c50eb5c71d08639395764d",
        sqn: "f63f5d768784",
        amf: "b90e",
        op: "511c6c4e83e38c89b1c5d8dde62426fa",
        opc: "27953e49bc8af6dcc6e730eb80286be3",
        f1: "53761fbd679b0bad",
        f1_star: "21adfd334a10e7ce",
        f2: "a63241e1ffc3e5ab",
        f3: "10f05bab75a99a5fbb98a9c287679c3b",
        f4: "f9ec0865eb32f22369cade40c59c3a44",
        f5: "88196c47986f",
        f5_star: "c987a3d23115",
    },
    MilenageSet {
        set: 9,
        k: "d9151cf04896e25830bf2e08267b8360",
        rand: "f761e5e93d603feb730e27556cb8a2ca",
        sqn: "47ee0199820a",
        amf: "9113",
        op: "75fc2233a44294ee8e6de25c4353d26b",
        opc: "c4c93effe8a08138c203d4c27ce4e3d9",
        f1: "66cc4be44862af1f",
        f1_star: "7a4b8d7a8753f246",
        f2: "4a90b2171ac83a76",
        f3: "71236b7129f9b22ab77ea7a54c96da22",
        f4: "90527ebaa5588968db41727325a04d9e",
        f5: "82a0f5287a71",
        f5_star: "527dbf41f35f",
    },
    MilenageSet {
        set: 10,
        k: "a0e2971b6822e8d354a18cc235624ecb",
        rand: "08eff828b13fdb562722c65c7f30a9b2",
        sqn: "db5c066481e0",
        amf: "716b",
        op: "323792faca21fb4d5d6f13c145a9d2c1",
        opc: "82a26f22bba9e9488f949a10d98e9cc4",
        f1: "9485fe24621cb9f6",
        f1_star: "bce325ce03e2e9b9",
        f2: "4bc2212d8624910a",
        f3: "08cef6d004ec61471a3c3cda048137fa",
        f4: "ed0318ca5deb9206272f6e8fa64ba411",
        f5: "a2f858aa9e5d",
        f5_star: "74e76fbbec38",
    },
    MilenageSet {
        set: 11,
        k: "0da6f7ba86d5eac8a19cf563ac58642d",
        rand: "679ac4dbacd7d233ff9d6806f4149ce3",
        sqn: "6e2331d692ad",
        amf: "224a",
        op: "4b9a26fa459e3acbff36f4015de3bdc1",
        opc: "0db1071f8767562ca43a0a64c41e8d08",
        f1: "2831d7ae9088e492",
        f1_star: "9b2e16951135d523",
        f2: "6fc30fee6d123523",
        f3: "69b1cae7c7429d975e245cacb05a517c",
        f4: "74f24e8c26df58e1b38d7dcd4f1b7fbd",
        f5: "4c539a26e1fa",
        f5_star: "07861e126928",
    },
    MilenageSet {
        set: 12,
        k: "77b45843c88e58c10d202684515ed430",
        rand: "4c47eb3076dc55fe5106cb2034b8cd78",
        sqn: "fe1a8731005d",
        amf: "ad25",
        op: "bf3286c7a51409ce95724d503bfe6e70",
        opc: "d483afae562409a326b5bb0b20c4d762",
        f1: "08332d7e9f484570",
        f1_star: "ed41b734489d5207",
        f2: "aefa357beac2a87a",
        f3: "908c43f0569cb8f74bc971e706c36c5f",
        f4: "c251df0d888dd9329bcf46655b226e40",
        f5: "30ff25cdadf6",
        f5_star: "e84ed0d4677e",
    },
    MilenageSet {
        set: 13,
        k: "729b17729270dd87ccdf1bfe29b4e9bb",
        rand: "311c4c929744d675b720f3b7e9b1cbd0",
        sqn: "c85c4cf65916",
        amf: "5bb2",
        op: "d04c9c35bd2262fa810d2924d036fd13",
        opc: "228c2f2f06ac3268a9e616ee16db4ba1",
        f1: "ff794fe2f827ebf8",
        f1_star: "24fe4dc61e874b52",
        f2: "98dbbd099b3b408d",
        f3: "44c0f23c5493cfd241e48f197e1d1012",
        f4: "0c9fb81613884c2535dd0eabf3b440d8",
        f5: "5380d158cfe3",
        f5_star: "87ac3b559fb6",
    },
    MilenageSet {
        set: 14,
        k: "d32dd23e89dc662354ca12eb79dd32fa",
        rand: "cf7d0ab1d94306950bf12018fbd46887",
        sqn: "484107e56a43",
        amf: "b5e6",
        op: "fe75905b9da47d356236d0314e09c32e",
        opc: "d22a4b4180a5325708a5ff70d9f67ec7",
        f1: "cf19d62b6a809866",
        f1_star: "5d269537e45e2ce6",
        f2: "af4a411e1139f2c2",
        f3: "5af86b80edb70df5292cc1121cbad50c",
        f4: "7f4d6ae7440e18789a8b75ad3f42f03a",
        f5: "217af49272ad",
        f5_star: "900e101c677e",
    },
    MilenageSet {
        set: 15,
        k: "af7c65e1927221de591187a2c5987a53",
        rand: "1f0f8578464fd59b64bed2d09436b57a",
        sqn: "3d627b01418d",
        amf: "84f6",
        op: "0c7acb8d95b7d4a31c5aca6d26345a88",
        opc: "a4cf5c8155c08a7eff418e5443b98e55",
        f1: "c37cae7805642032",
        f1_star: "68cd09a452d8db7c",
        f2: "7bffa5c2f41fbc05",
        f3: "3f8c3f3ccf7625bf77fc94bcfd22fd26",
        f4: "abcbae8fd46115e9961a55d0da5f2078",
        f5: "837fd7b74419",
        f5_star: "56e97a6090b1",
    },
    MilenageSet {
        set: 16,
        k: "5bd7ecd3d3127a41d12539bed4e7cf71",
        rand: "59b75f14251c75031d0bcbac1c2c04c7",
        sqn: "a298ae8929dc",
        amf: "d056",
        op: "f967f76038b920a9cd25e10c08b49924",
        opc: "76089d3c0ff3efdc6e36721d4fceb747",
        f1: "c3f25cd94309107e",
        f1_star: "b0c8ba343665afcc",
        f2: "7e3f44c7591f6f45",
        f3: "d42b2d615e49a03ac275a5aef97af892",
        f4: "0b3f8d024fe6bfafaa982b8f82e319c2",
        f5: "5be11495525d",
        f5_star: "4d6a34a1e4eb",
    },
    MilenageSet {
        set: 17,
        k: "6cd1c6ceb1e01e14f1b82316a90b7f3d",
        rand: "f69b78f300a0568bce9f0cb93c4be4c9",
        sqn: "b4fce5feb059",
        amf: "e4bb",
        op: "078bfca9564659ecd8851e84e6c59b48",
        opc: "a219dc37f1dc7d66738b5843c799f206",
        f1: "69a90869c268cb7b",
        f1_star: "2e0fdcf9fd1cfa6a",
        f2: "70f6bdb9ad21525f",
        f3: "6edaf99e5bd9f85d5f36d91c1272fb4b",
        f4: "d61c853c280dd9c46f297baec386de17",
        f5: "1c408a858b3e",
        f5_star: "aa4ae52daa30",
    },
    MilenageSet {
        set: 18,
        k: "b73a90cbcf3afb622dba83c58a8415df",
        rand: "b120f1c1a0102a2f507dd543de68281f",
        sqn: "f1e8a523a36d",
        amf: "471b",
        op: "b672047e003bb952dca6cb8af0e5b779",
        opc: "df0c67868fa25f748b7044c6e7c245b8",
        f1: "ebd70341bcd415b0",
        f1_star: "12359f5d82220c14",
        f2: "479dd25c20792d63",
        f3: "66195dbed0313274c5ca7766615fa25e",
        f4: "66bec707eb2afc476d7408a8f2927b36",
        f5: "aefdaa5ddd99",
        f5_star: "12ec2b87fbb1",
    },
    MilenageSet {
        set: 19,
        k: "5122250214c33e723a5dd523fc145fc0",
        rand: "81e92b6c0ee0e12ebceba8d92a99dfa5",
        sqn: "16f3b3f70fc2",
        amf: "c3ab",
        op: "c9e8763286b5b9ffbdf56e1297d0887b",
        opc: "981d464c7c52eb6e5036234984ad0bcf",
        f1: "2a5c23d15ee351d5",
        f1_star: "62dae3853f3af9d2",
        f2: "28d7b0f2a2ec3de5",
        f3: "5349fbe098649f948f5d2e973a81c00f",
        f4: "9744871ad32bf9bbd1dd5ce54e3e2e5a",
        f5: "ada15aeb7bb8",
        f5_star: "d461bc15475d",
    },
    MilenageSet {
        set: 20,
        k: "90dca4eda45b53cf0f12d7c9c3bc6a89",
        rand: "9fddc72092c6ad036b6e464789315b78",
        sqn: "20f813bd4141",
        amf: "61df",
        op: "3ffcfe5b7b1111589920d3528e84e655",
        opc: "cb9cccc4b9258e6dca4760379fb82581",
        f1: "09db94eab4f8149e",
        f1_star: "a29468aa9775b527",
        f2: "a95100e2760952cd",
        f3: "b5f2da03883b69f96bf52e029ed9ac45",
        f4: "b4721368bc16ea67875c5598688bb0ef",
        f5: "83cfd54db913",
        f5_star: "4f2039392ddc",
    },
];

#[test]
fn milenage_ts_35_208_all_functions() {
    for s in SETS {
        let k = K::from_hex(s.k).unwrap();
        let op = Op::from_hex(s.op).unwrap();
        let opc = compute_opc(&k, &op);
        assert_eq!(hex::encode(opc.expose()), s.opc, "OPc, set {}", s.set);
        let m = Milenage::new(&k, &opc);
        let rand = h::<16>(s.rand);
        let sqn = Sqn::from_hex(s.sqn).unwrap();
        let amf = h::<2>(s.amf);
        assert_eq!(
            hex::encode(m.f1(&rand, &sqn, &amf)),
            s.f1,
            "f1, set {}",
            s.set
        );
        assert_eq!(
            hex::encode(m.f1_star(&rand, &sqn, &amf)),
            s.f1_star,
            "f1*, set {}",
            s.set
        );
        let (res, ck, ik, ak) = m.f2345(&rand);
        assert_eq!(hex::encode(res), s.f2, "f2, set {}", s.set);
        assert_eq!(hex::encode(ck.expose()), s.f3, "f3, set {}", s.set);
        assert_eq!(hex::encode(ik.expose()), s.f4, "f4, set {}", s.set);
        assert_eq!(hex::encode(ak), s.f5, "f5, set {}", s.set);
        assert_eq!(hex::encode(m.f5(&rand)), s.f5, "f5 alone, set {}", s.set);
        assert_eq!(
            hex::encode(m.f5_star(&rand)),
            s.f5_star,
            "f5*, set {}",
            s.set
        );
        // The combined computation agrees with the single functions, and with OP given.
        let all = Milenage::with_op(&k, &op).compute_all(&rand, &sqn, &amf);
        assert_eq!(hex::encode(all.mac_a), s.f1);
        assert_eq!(hex::encode(all.mac_s), s.f1_star);
        assert_eq!(hex::encode(all.res), s.f2);
        assert_eq!(hex::encode(all.ck.expose()), s.f3);
        assert_eq!(hex::encode(all.ik.expose()), s.f4);
        assert_eq!(hex::encode(all.ak), s.f5);
        assert_eq!(hex::encode(all.ak_star), s.f5_star);
    }
    assert_eq!(SETS.len(), 20);
}

#[test]
fn milenage_set_19_autn_is_rfc_5448_case_1_autn() {
    // TS 35.208 set 19 produced the RAND/AUTN/CK/IK/RES of RFC 5448 Appendix C case 1.
    let s = &SETS[18];
    let m = Milenage::new(&K::from_hex(s.k).unwrap(), &Opc::from_hex(s.opc).unwrap());
    let rand = h::<16>(s.rand);
    let sqn = Sqn::from_hex(s.sqn).unwrap();
    let amf = h::<2>(s.amf);
    let out = m.compute_all(&rand, &sqn, &amf);
    let autn = aka::autn(sqn, &out.ak, &amf, &out.mac_a);
    assert_eq!(hex::encode(autn), "bb52e91c747ac3ab2a5c23d15ee351d5");
}

struct EapCase {
    network_name: &'static str,
    autn: &'static str,
    ik: &'static str,
    ck: &'static str,
    ck_prime: &'static str,
    ik_prime: &'static str,
    k_encr: &'static str,
    k_aut: &'static str,
    k_re: &'static str,
    msk: &'static str,
    emsk: &'static str,
}

/// RFC 9048 Appendix D (identical to RFC 5448 Appendix C), cases 1–4; identity
/// "0555444333222111".
const EAP_CASES: &[EapCase] = &[
    EapCase {
        network_name: "WLAN",
        autn: "bb52e91c747ac3ab2a5c23d15ee351d5",
        ik: "9744871ad32bf9bbd1dd5ce54e3e2e5a",
        ck: "5349fbe098649f948f5d2e973a81c00f",
        ck_prime: "0093962d0dd84aa5684b045c9edffa04",
        ik_prime: "ccfc230ca74fcc96c0a5d61164f5a76c",
        k_encr: "766fa0a6c317174b812d52fbcd11a179",
        k_aut: "0842ea722ff6835bfa2032499fc3ec23c2f0e388b4f07543ffc677f1696d71ea",
        k_re: "cf83aa8bc7e0aced892acc98e76a9b2095b558c7795c7094715cb3393aa7d17a",
        msk: "67c42d9aa56c1b79e295e3459fc3d187d42be0bf818d3070e362c5e967a4d544e8ecfe19358ab3039aff03b7c930588c055babee58a02650b067ec4e9347c75a",
        emsk: "f861703cd775590e16c7679ea3874ada866311de290764d760cf76df647ea01c313f69924bdd7650ca9bac141ea075c4ef9e8029c0e290cdbad5638b63bc23fb",
    },
    EapCase {
        network_name: "HRPD",
        autn: "bb52e91c747ac3ab2a5c23d15ee351d5",
        ik: "9744871ad32bf9bbd1dd5ce54e3e2e5a",
        ck: "5349fbe098649f948f5d2e973a81c00f",
        ck_prime: "3820f0277fa5f77732b1fb1d90c1a0da",
        ik_prime: "db94a0ab557ef6c9ab48619ca05b9a9f",
        k_encr: "05ad73ac915fce89ac77e1520d82187b",
        k_aut: "5b4acaef62c6ebb8882b2f3d534c4b35277337a00184f20ff25d224c04be2afd",
        k_re: "3f90bf5c6e5ef325ff04eb5ef6539fa8cca8398194fbd00be425b3f40dba10ac",
        msk: "87b321570117cd6c95ab6c436fb5073ff15cf85505d2bc5bb7355fc21ea8a75757e8f86a2b138002e05752913bb43b82f868a96117e91a2d95f526677d572900",
        emsk: "c891d5f20f148a1007553e2dea555c9cb672e9675f4a66b4bafa027379f93aee539a5979d0a0042b9d2ae28bed3b17a31dc8ab75072b80bd0c1da612466e402c",
    },
    EapCase {
        network_name: "WLAN",
        autn: "a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0",
        ik: "b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0",
        ck: "c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0",
        ck_prime: "cd4c8e5c68f57dd1d7d7dfd0c538e577",
        ik_prime: "3ece6b705dbbf7dfc459a11280c65524",
        k_encr: "897d302fa2847416488c28e20dcb7be4",
        k_aut: "c40700e7722483ae3dc7139eb0b88bb558cb3081eccd057f9207d1286ee7dd53",
        k_re: "0a591a22dd8b5b1cf29e3d508c91dbbdb4aee23051892c42b6a2de66ea504473",
        msk: "9f7dca9e37bb22029ed986e7cd09d4a70d1ac76d95535c5cac40a7504699bb8961a29ef6f3e90f183de5861ad1bedc81ce9916391b401aa006c98785a5756df7",
        emsk: "724de00bdb9e568187be3fe746114557d5018779537ee37f4d3c6c738cb97b9dc651bc19bfadc344ffe2b52ca78bd8316b51dacc5f2b1440cb9515521cc7ba23",
    },
    EapCase {
        network_name: "HRPD",
        autn: "a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0",
        ik: "b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0",
        ck: "c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0",
        ck_prime: "8310a71ce6f754889613da8f64d5fb46",
        ik_prime: "5adf14360ae838192db23f6fcb7f8c76",
        k_encr: "745e7439ba238f50fcac4d15d47cd1d9",
        k_aut: "3e1d2aa4e677025cfd862a4be18361a13a645765571463df833a9759e8099879",
        k_re: "99da835e2ae82462576fe6516fad1f802f0fa1191655dd0a273da96d04e0fcd3",
        msk: "c6d3a6e0ceea951eb20d74f32c3061d0680a04b0b086ee8700ace3e0b95fa02683c287beee44432294ff98af26d2cc783bace75c4b0af7fdfeb5511ba8e4cbd0",
        emsk: "7fb56813838adafa99d140c2f198f6dacebfb6afee444961105402b508c7f363352cb2919644b50463e6a69354150147ae09cbc54b8a651d8787a6893ed8536d",
    },
];

#[test]
fn eap_aka_prime_rfc_9048_appendix_d() {
    for (i, c) in EAP_CASES.iter().enumerate() {
        let case = i + 1;
        let autn = h::<16>(c.autn);
        let sqn_xor_ak: [u8; 6] = autn[..6].try_into().unwrap();
        let (ckp, ikp) = eap_aka_prime::ck_ik_prime(
            &Ck::from_hex(c.ck).unwrap(),
            &Ik::from_hex(c.ik).unwrap(),
            c.network_name,
            &sqn_xor_ak,
        )
        .unwrap();
        assert_eq!(hex::encode(ckp.expose()), c.ck_prime, "CK', case {case}");
        assert_eq!(hex::encode(ikp.expose()), c.ik_prime, "IK', case {case}");
        let keys = eap_aka_prime::derive_keys(&ckp, &ikp, b"0555444333222111").unwrap();
        assert_eq!(
            hex::encode(keys.k_encr.expose()),
            c.k_encr,
            "K_encr, case {case}"
        );
        assert_eq!(
            hex::encode(keys.k_aut.expose()),
            c.k_aut,
            "K_aut, case {case}"
        );
        assert_eq!(hex::encode(keys.k_re.expose()), c.k_re, "K_re, case {case}");
        assert_eq!(hex::encode(keys.msk.expose()), c.msk, "MSK, case {case}");
        assert_eq!(hex::encode(keys.emsk.expose()), c.emsk, "EMSK, case {case}");
        assert_eq!(
            hex::encode(keys.kausf().expose()),
            &c.emsk[..64],
            "K_AUSF = first 256 bits of EMSK, case {case}"
        );
    }
}

#[test]
fn five_g_aka_chain_published_by_an_independent_implementation() {
    // frankurcrazy/helloworld 5g/keys: artificial CK/IK/AK, SNN of MCC 001 MNC 01.
    let ck = Ck::from_hex("0102030405060708090a0b0c0d0e0f00").unwrap();
    let ik = Ik::from_hex("02030405060708090a0b0c0d0e0f0001").unwrap();
    let sqn = Sqn::from_hex("0000000000ff").unwrap();
    let sqn_xor_ak = sqn.xor_ak(&h::<6>("030405060708"));
    assert_eq!(hex::encode(sqn_xor_ak), "0304050607f7");
    let snn: ServingNetworkName = "5G:mnc001.mcc001.3gppnetwork.org".parse().unwrap();
    let kausf = aka::kausf(&ck, &ik, &snn, &sqn_xor_ak);
    assert_eq!(
        hex::encode(kausf.expose()),
        "20de4eb2b75c8dac301ad52773e2e37bd7b4b0c2fdb1c3751b98dd0df846aed5"
    );
    let kseaf = aka::kseaf(&kausf, &snn);
    assert_eq!(
        hex::encode(kseaf.expose()),
        "d2bbc63b0c141247341c0fca3dc3bffdc6bfc1813489342de8487e7e4dc3728b"
    );
    let supi: Supi = "imsi-001010123456789".parse().unwrap();
    let kamf = aka::kamf(&kseaf, &supi, &Abba::initial());
    assert_eq!(
        hex::encode(kamf.expose()),
        "7e9f97707cef48318df182a7f9e7ba838a6fb36ab83a7d1baf2610b97a5b9dcf"
    );
    let xres_star = aka::res_star(
        &ck,
        &ik,
        &snn,
        &[0u8; 16],
        &h::<16>("000102030405060708090a0b0c0d0e0f"),
    )
    .unwrap();
    assert_eq!(hex::encode(xres_star), "157248ef1b852f19c3e6a5e5bedb675c");
}

#[test]
fn five_g_aka_xres_star_from_milenage_published_by_wmnsk() {
    // wmnsk/milenage: K = OP = RAND = 00112233…ff, SQN 000000000001, AMF 8000, SNN 001/01.
    let k = K::from_hex("00112233445566778899aabbccddeeff").unwrap();
    let op = Op::from_hex("00112233445566778899aabbccddeeff").unwrap();
    let m = Milenage::with_op(&k, &op);
    assert_eq!(
        hex::encode(m.opc().expose()),
        "62e75b8d6fa5bf46ec87a9276f9df54d"
    );
    let rand = h::<16>("00112233445566778899aabbccddeeff");
    let snn: ServingNetworkName = "5G:mnc001.mcc001.3gppnetwork.org".parse().unwrap();
    let av = aka::generate_he_av(
        &m,
        &rand,
        Sqn::from_hex("000000000001").unwrap(),
        &[0x80, 0],
        &snn,
    );
    assert_eq!(hex::encode(av.autn), "de656c8b0bcf80004af30b82a8531115");
    assert_eq!(
        hex::encode(av.xres_star),
        "31b6d938a5290ccc65bc829f9820a8d9"
    );
    assert_eq!(
        hex::encode(av.to_se_av().hxres_star),
        "3308fb7cf06a35f1cd086b904ce82ecf"
    );
    // wmnsk's published K_AUSF was computed with a 2-digit MNC in the SNN
    // ("5G:mnc01.mcc001…"), which TS 24.501 §9.12.1 forbids; ours must differ from it.
    assert_ne!(
        hex::encode(av.kausf.expose()),
        "fe8d2546b6971c510329cd8ae34c177d6569486aa9b71159cc3b5c752a93bd10"
    );
    let bad_snn: ServingNetworkName = "5G:mnc01.mcc001.3gppnetwork.org".parse().unwrap();
    let (_, ck, ik, ak) = m.f2345(&rand);
    let kausf_bad = aka::kausf(
        &ck,
        &ik,
        &bad_snn,
        &Sqn::from_hex("000000000001").unwrap().xor_ak(&ak),
    );
    assert_eq!(
        hex::encode(kausf_bad.expose()),
        "fe8d2546b6971c510329cd8ae34c177d6569486aa9b71159cc3b5c752a93bd10"
    );
}

const HN_PRIV_A: &str = "c53c22208b61860b06c62e5406a7b330c2b577aa5558981510d128247d38bd1d";
const HN_PUB_A: &str = "5a8d38864820197c3394b92613b20b91633cbd897119273bf8e4a6f4eec0a650";
const HN_PRIV_B: &str = "f1ab1074477ebcc7f554ea1c5fc368b1616730155e0041ac447d6301975fecda";
const HN_PUB_B: &str = "0472da71976234ce833a6907425867b82e074d44ef907dfb4b3e21c1c2256ebcd15a7ded52fcbb097a4ed250e036c7b9c8c7004c4eedc4f068cd7bf8d3f900e3b4";

fn conceal_vector(supi: &str, scheme: ProtectionScheme, hn_pub: &str, eph_priv: &str) -> Suci {
    let supi: Supi = supi.parse().unwrap();
    let p = ConcealParams {
        supi: &supi,
        mnc_len: 3,
        routing_indicator: RoutingIndicator::default(),
        hn_key_id: 1,
    };
    let pk = HnPublicKey::from_bytes(scheme, &hex::decode(hn_pub).unwrap()).unwrap();
    suci::conceal_with_ephemeral(&p, &pk, &HnPrivateKey::from_hex(eph_priv).unwrap()).unwrap()
}

#[test]
fn suci_profile_a_annex_c_4_3() {
    // C.4.3.1: IMSI with MCC/MNC 274/012, MSIN 001002086.
    let s = conceal_vector(
        "imsi-274012001002086",
        ProtectionScheme::ProfileA,
        HN_PUB_A,
        "c80949f13ebe61af4ebdbd293ea4f942696b9e815d7e8f0096bbf6ed7de62256",
    );
    assert_eq!(
        s.to_string(),
        "suci-0-274-012-0-1-1-b2e92f836055a255837debf850b528997ce0201cb82adfe4be1f587d07d8457dcb02352410cddd9e730ef3fa87"
    );
    let sk = HnPrivateKey::from_hex(HN_PRIV_A).unwrap();
    assert_eq!(
        suci::deconceal(&s, Some(&sk)).unwrap().to_string(),
        "imsi-274012001002086"
    );
    // C.4.3.2: NAI SUPI; its 17-octet plaintext crosses a CTR block boundary.
    let s = conceal_vector(
        "nai-verylongusername1@3gpp.com",
        ProtectionScheme::ProfileA,
        HN_PUB_A,
        "be9eff3e9f22a4b42a3d236e7a6c500b3f2e7e0c7449988ba800d664bf4fcd97",
    );
    assert_eq!(
        s.to_string(),
        "suci-1-3gpp.com-0-1-1-977d8b2fdaa7b64aa700d04227d5b440630ea4ec50f9082273a26bb678c922228e358a1582adb15322c10e515141d2039a12e1d7783a97f1ac"
    );
    assert_eq!(
        suci::deconceal(&s, Some(&sk)).unwrap().to_string(),
        "nai-verylongusername1@3gpp.com"
    );
}

#[test]
fn suci_profile_b_annex_c_4_4() {
    let s = conceal_vector(
        "imsi-274012001002086",
        ProtectionScheme::ProfileB,
        HN_PUB_B,
        "99798858a1dc6a2c68637149a4b1dbfd1fdff5addd62a2142f06699ed7602529",
    );
    assert_eq!(
        s.to_string(),
        "suci-0-274-012-0-2-1-039aab8376597021e855679a9778ea0b67396e68c66df32c0f41e9acca2da9b9d146a33fc2716ac7dae96aa30a4d"
    );
    let sk = HnPrivateKey::from_hex(HN_PRIV_B).unwrap();
    assert_eq!(
        suci::deconceal(&s, Some(&sk)).unwrap().to_string(),
        "imsi-274012001002086"
    );
    let s = conceal_vector(
        "nai-verylongusername1@3gpp.com",
        ProtectionScheme::ProfileB,
        HN_PUB_B,
        "90a5898bd29ffa3f261e00e980067c70a2b1b992a21f5b4fef6d4df69fe804ad",
    );
    assert_eq!(
        s.to_string(),
        "suci-1-3gpp.com-0-2-1-03759bb22c563d9f4a6b3c1419e543fc2f39d6823f02a9d71162b39399218b244bbe22d8b9f856a52ed381cd7eaf4cf2d5253cddc61a0a7882eb"
    );
    // The public key derived from the private key is the published one (compressed form).
    let pk = HnPublicKey::from_private(ProtectionScheme::ProfileB, &sk).unwrap();
    assert_eq!(
        hex::encode(pk.to_bytes()),
        "0272da71976234ce833a6907425867b82e074d44ef907dfb4b3e21c1c2256ebcd1"
    );
    let pk = HnPublicKey::from_private(
        ProtectionScheme::ProfileA,
        &HnPrivateKey::from_hex(HN_PRIV_A).unwrap(),
    )
    .unwrap();
    assert_eq!(hex::encode(pk.to_bytes()), HN_PUB_A);
}

#[test]
fn suci_vectors_of_shared_readme() {
    // ../shared/vectors/README.md: SUCI strings of TS 29.503 form and their SUPIs.
    let a = HnPrivateKey::from_hex(HN_PRIV_A).unwrap();
    let b = HnPrivateKey::from_hex(HN_PRIV_B).unwrap();
    let cases = [
        ("suci-0-208-93-0-0-0-00007487", None, "imsi-2089300007487"),
        ("suci-0-208-93-0-1-1-b2e92f836055a255837debf850b528997ce0201cb82adfe4be1f587d07d8457dcb02352410cddd9e730ef3fa87", Some(&a), "imsi-20893001002086"),
        ("suci-0-208-93-0-2-2-039aab8376597021e855679a9778ea0b67396e68c66df32c0f41e9acca2da9b9d146a33fc2716ac7dae96aa30a4d", Some(&b), "imsi-20893001002086"),
    ];
    for (s, key, supi) in cases {
        let suci: Suci = s.parse().unwrap();
        assert_eq!(suci.to_string(), s);
        assert_eq!(suci::deconceal(&suci, key).unwrap().to_string(), supi);
    }
}

#[test]
fn suci_profile_b_invalid_curve_point_is_rejected() {
    let output = "0434a66778799d52fedd9326db4b690d092e05c9ba0ace5b413dafc0a40aa28ee00a79f790fa4da6a2ece892423adb130dc1b30e270b7d0088bdd716b93894891d5221a74c810d6b9350cc067c76";
    let suci: Suci = format!("suci-0-208-93-0-2-2-{output}").parse().unwrap();
    let b = HnPrivateKey::from_hex(HN_PRIV_B).unwrap();
    let err = suci::deconceal(&suci, Some(&b)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "SUCI: ephemeral public key is not a point on P-256"
    );
}

#[test]
fn suci_tampered_outputs_fail_the_mac() {
    let a = HnPrivateKey::from_hex(HN_PRIV_A).unwrap();
    let good = "b2e92f836055a255837debf850b528997ce0201cb82adfe4be1f587d07d8457dcb02352410cddd9e730ef3fa87";
    for pos in [70usize, 75, 85] {
        let mut bytes = hex::decode(good).unwrap();
        bytes[pos / 2] ^= 0x01;
        let suci: Suci = format!("suci-0-208-93-0-1-1-{}", hex::encode(bytes))
            .parse()
            .unwrap();
        assert_eq!(
            suci::deconceal(&suci, Some(&a)).unwrap_err().to_string(),
            "SUCI: MAC verification failed"
        );
    }
}

#[test]
fn kausf_from_eap_aka_prime_emsk_matches_issue_vector() {
    let emsk = EAP_CASES[0].emsk;
    let kausf = Kausf::from_hex(&emsk[..64]).unwrap();
    assert_eq!(
        hex::encode(kausf.expose()),
        "f861703cd775590e16c7679ea3874ada866311de290764d760cf76df647ea01c"
    );
}
