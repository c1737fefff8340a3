//! `snpn keys`: a key calculator for engineers debugging interop.
//!
//! Every subcommand prints readable text by default and one JSON object with `--json`; all
//! byte values are lowercase hex. Bad input exits with code 2 and one line naming the field.

use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, Subcommand};
use serde_json::{Map, Value};

use snpn_crypto::aka::{self, Abba};
use snpn_crypto::akma::{self, AKid, AfId, UaProtocolId};
use snpn_crypto::eap_aka_prime;
use snpn_crypto::ids::{default_mnc_len, RoutingIndicator, ServingNetworkName, Supi};
use snpn_crypto::milenage::{compute_opc, Milenage};
use snpn_crypto::secret::{Ck, HnPrivateKey, Ik, Kausf, Op, Opc, K};
use snpn_crypto::sqn::Sqn;
use snpn_crypto::suci::{self, ConcealParams, HnPublicKey, ProtectionScheme, Suci};

use crate::InputError;

/// `snpn keys …`
#[derive(Args, Debug)]
pub struct KeysArgs {
    #[command(subcommand)]
    cmd: KeysCommand,
    /// Print one JSON object instead of text.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Subcommand, Debug)]
enum KeysCommand {
    /// MILENAGE f1–f5* (TS 35.206): opc, mac_a, mac_s, res, ck, ik, ak, ak_star.
    Milenage(MilenageArgs),
    /// A 5G AKA vector (TS 33.501 §6.1.3.2, Annex A): MILENAGE outputs and autn, xres_star,
    /// hxres_star, kausf, kseaf, kamf.
    #[command(name = "5g-aka")]
    FiveGAka(FiveGAkaArgs),
    /// EAP-AKA' keys (RFC 9048 §3.3, TS 33.501 §6.1.3.1).
    #[command(name = "eap-aka-prime")]
    EapAkaPrime(EapAkaPrimeArgs),
    /// AKMA keys (TS 33.535 Annex A): kakma, a_tid, a_kid, kaf.
    Akma(AkmaArgs),
    /// SUCI conceal and deconceal (TS 33.501 Annex C, TS 29.503 string form).
    Suci {
        #[command(subcommand)]
        cmd: SuciCommand,
    },
}

#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("operator").required(true).args(["op", "opc"])))]
struct MilenageArgs {
    /// Subscriber key K (32 hex digits).
    #[arg(long, value_name = "HEX", value_parser = hex16)]
    k: [u8; 16],
    /// Operator variant OP (32 hex digits); OPc is derived from it.
    #[arg(long, value_name = "HEX", value_parser = hex16)]
    op: Option<[u8; 16]>,
    /// OPc (32 hex digits).
    #[arg(long, value_name = "HEX", value_parser = hex16)]
    opc: Option<[u8; 16]>,
    /// RAND (32 hex digits).
    #[arg(long, value_name = "HEX", value_parser = hex16)]
    rand: [u8; 16],
    /// SQN (12 hex digits).
    #[arg(long, value_name = "HEX", value_parser = hex6)]
    sqn: [u8; 6],
    /// AMF (4 hex digits).
    #[arg(long, value_name = "HEX", value_parser = hex2)]
    amf: [u8; 2],
}

#[derive(Args, Debug)]
struct FiveGAkaArgs {
    #[command(flatten)]
    milenage: MilenageArgs,
    /// Serving network name, e.g. 5G:mnc001.mcc001.3gppnetwork.org (TS 33.501 §6.1.1.4).
    #[arg(long, value_name = "STRING", value_parser = parse_snn)]
    snn: ServingNetworkName,
    /// SUPI: imsi-<digits> or nai-<username@realm>.
    #[arg(long, value_name = "SUPI", value_parser = parse_supi)]
    supi: Supi,
    /// ABBA (TS 33.501 A.7.1), 2 to 255 octets in hex.
    #[arg(long, value_name = "HEX", value_parser = parse_abba, default_value = "0000")]
    abba: Abba,
}

#[derive(Args, Debug)]
struct EapAkaPrimeArgs {
    /// CK (32 hex digits).
    #[arg(long, value_name = "HEX", value_parser = hex16)]
    ck: [u8; 16],
    /// IK (32 hex digits).
    #[arg(long, value_name = "HEX", value_parser = hex16)]
    ik: [u8; 16],
    /// Access network name (for 5G, the serving network name).
    #[arg(long, value_name = "STRING")]
    network_name: String,
    /// SQN ⊕ AK, the first 6 octets of AUTN (12 hex digits).
    #[arg(long, value_name = "HEX", value_parser = hex6)]
    sqn_xor_ak: [u8; 6],
    /// Identity used in MK (for 5G, the SUPI: IMSI digits or the NAI; TS 33.501 Annex F.3).
    #[arg(long, value_name = "STRING")]
    identity: String,
}

#[derive(Args, Debug)]
struct AkmaArgs {
    /// K_AUSF (64 hex digits).
    #[arg(long, value_name = "HEX", value_parser = hex32)]
    kausf: [u8; 32],
    /// SUPI: imsi-<digits> or nai-<username@realm>.
    #[arg(long, value_name = "SUPI", value_parser = parse_supi)]
    supi: Supi,
    /// FQDN of the AF.
    #[arg(long, value_name = "FQDN")]
    af_fqdn: String,
    /// Ua* security protocol identifier (10 hex digits, TS 33.220 Annex H), e.g. 0100000007
    /// for shared-key TLS 1.3.
    #[arg(long, value_name = "HEX", value_parser = parse_ua)]
    ua_protocol: UaProtocolId,
    /// Routing indicator for the A-KID (1 to 4 digits).
    #[arg(long, value_name = "DIGITS", value_parser = parse_ri, default_value = "0")]
    routing_indicator: RoutingIndicator,
    /// Home network identifier (realm) of the A-KID; by default the NAI realm, or
    /// 5gc.mnc<MNC>.mcc<MCC>.3gppnetwork.org for an IMSI.
    #[arg(long, value_name = "REALM")]
    hnid: Option<String>,
}

#[derive(Subcommand, Debug)]
enum SuciCommand {
    /// Conceal a SUPI into a SUCI.
    Conceal(ConcealArgs),
    /// Deconceal a SUCI back into the SUPI.
    Deconceal(DeconcealArgs),
}

#[derive(Args, Debug)]
struct ConcealArgs {
    /// SUPI: imsi-<digits> or nai-<username@realm>.
    #[arg(long, value_name = "SUPI", value_parser = parse_supi)]
    supi: Supi,
    /// Protection scheme: null, a (X25519) or b (P-256).
    #[arg(long, value_name = "null|a|b", value_parser = parse_scheme)]
    scheme: ProtectionScheme,
    /// Home network public key (hex): 32 octets for a; a SEC1 point for b.
    #[arg(long, value_name = "HEX")]
    hn_pubkey: Option<String>,
    /// Home network public key identifier (0 to 255).
    #[arg(long, value_name = "N")]
    hn_key_id: Option<u8>,
    /// Routing indicator (1 to 4 digits).
    #[arg(long, value_name = "DIGITS", value_parser = parse_ri, default_value = "0")]
    routing_indicator: RoutingIndicator,
    /// MNC length of an IMSI (2 or 3); by default 3 for the MCCs that use 3-digit MNCs.
    #[arg(long, value_name = "2|3", value_parser = clap::value_parser!(u8).range(2..=3))]
    mnc_len: Option<u8>,
}

#[derive(Args, Debug)]
struct DeconcealArgs {
    /// SUCI in TS 29.503 form, e.g. suci-0-208-93-0-1-1-<scheme output>.
    #[arg(long, value_name = "SUCI", value_parser = parse_suci)]
    suci: Suci,
    /// Home network private key (64 hex digits); not needed for the null scheme.
    #[arg(long, value_name = "HEX", value_parser = hex32)]
    hn_privkey: Option<[u8; 32]>,
}

/// Runs `snpn keys`.
pub fn run(args: KeysArgs) -> Result<ExitCode> {
    let out = match args.cmd {
        KeysCommand::Milenage(a) => milenage(&a),
        KeysCommand::FiveGAka(a) => five_g_aka(&a),
        KeysCommand::EapAkaPrime(a) => eap_aka_prime(&a)?,
        KeysCommand::Akma(a) => akma(&a)?,
        KeysCommand::Suci {
            cmd: SuciCommand::Conceal(a),
        } => conceal(&a)?,
        KeysCommand::Suci {
            cmd: SuciCommand::Deconceal(a),
        } => deconceal(&a)?,
    };
    print(&out, args.json);
    Ok(ExitCode::SUCCESS)
}

/// One output value: its JSON key, its label in the specifications, its value.
struct Field {
    key: &'static str,
    label: &'static str,
    value: String,
}

fn field(key: &'static str, label: &'static str, value: impl AsRef<[u8]>) -> Field {
    Field {
        key,
        label,
        value: hex::encode(value),
    }
}

fn text(key: &'static str, label: &'static str, value: String) -> Field {
    Field { key, label, value }
}

fn print(fields: &[Field], json: bool) {
    if json {
        let map: Map<String, Value> = fields
            .iter()
            .map(|f| (f.key.to_owned(), Value::String(f.value.clone())))
            .collect();
        println!("{}", Value::Object(map));
    } else {
        let width = fields.iter().map(|f| f.label.len()).max().unwrap_or(0);
        for f in fields {
            println!("{:<width$}  {}", f.label, f.value);
        }
    }
}

fn milenage_fields(a: &MilenageArgs) -> (Vec<Field>, Milenage) {
    let k = K::new(a.k);
    let opc = match (&a.op, &a.opc) {
        (Some(op), _) => compute_opc(&k, &Op::new(*op)),
        (None, Some(opc)) => Opc::new(*opc),
        (None, None) => unreachable!("clap requires --op or --opc"),
    };
    let m = Milenage::new(&k, &opc);
    let sqn = Sqn::from_bytes(&a.sqn);
    let o = m.compute_all(&a.rand, &sqn, &a.amf);
    let fields = vec![
        field("opc", "OPc", opc.expose()),
        field("mac_a", "MAC-A (f1)", o.mac_a),
        field("mac_s", "MAC-S (f1*)", o.mac_s),
        field("res", "RES (f2)", o.res),
        field("ck", "CK (f3)", o.ck.expose()),
        field("ik", "IK (f4)", o.ik.expose()),
        field("ak", "AK (f5)", o.ak),
        field("ak_star", "AK* (f5*)", o.ak_star),
    ];
    (fields, m)
}

fn milenage(a: &MilenageArgs) -> Vec<Field> {
    milenage_fields(a).0
}

fn five_g_aka(a: &FiveGAkaArgs) -> Vec<Field> {
    let (mut fields, m) = milenage_fields(&a.milenage);
    let sqn = Sqn::from_bytes(&a.milenage.sqn);
    let av = aka::generate_he_av(&m, &a.milenage.rand, sqn, &a.milenage.amf, &a.snn);
    let hxres = av.to_se_av().hxres_star;
    let kseaf = aka::kseaf(&av.kausf, &a.snn);
    let kamf = aka::kamf(&kseaf, &a.supi, &a.abba);
    fields.extend([
        field("autn", "AUTN", av.autn),
        field("xres_star", "XRES*", av.xres_star),
        field("hxres_star", "HXRES*", hxres),
        field("kausf", "K_AUSF", av.kausf.expose()),
        field("kseaf", "K_SEAF", kseaf.expose()),
        field("kamf", "K_AMF", kamf.expose()),
    ]);
    fields
}

fn eap_aka_prime(a: &EapAkaPrimeArgs) -> Result<Vec<Field>> {
    let (ckp, ikp) = eap_aka_prime::ck_ik_prime(
        &Ck::new(a.ck),
        &Ik::new(a.ik),
        &a.network_name,
        &a.sqn_xor_ak,
    )
    .map_err(|e| InputError::new("--network-name", e))?;
    let k = eap_aka_prime::derive_keys(&ckp, &ikp, a.identity.as_bytes())
        .map_err(|e| InputError::new("--identity", e))?;
    Ok(vec![
        field("ck_prime", "CK'", ckp.expose()),
        field("ik_prime", "IK'", ikp.expose()),
        field("k_encr", "K_encr", k.k_encr.expose()),
        field("k_aut", "K_aut", k.k_aut.expose()),
        field("k_re", "K_re", k.k_re.expose()),
        field("msk", "MSK", k.msk.expose()),
        field("emsk", "EMSK", k.emsk.expose()),
        field("kausf", "K_AUSF", k.kausf().expose()),
    ])
}

fn akma(a: &AkmaArgs) -> Result<Vec<Field>> {
    let kausf = Kausf::new(a.kausf);
    let af_id =
        AfId::new(&a.af_fqdn, a.ua_protocol).map_err(|e| InputError::new("--af-fqdn", e))?;
    let hnid = match &a.hnid {
        Some(h) => h.clone(),
        None => a
            .supi
            .home_network_id()
            .map_err(|e| InputError::new("--supi", format!("{e}; give --hnid")))?,
    };
    let kakma = akma::kakma(&kausf, &a.supi);
    let a_tid = akma::a_tid(&kausf, &a.supi);
    let a_kid = AKid::new(a.routing_indicator.clone(), a_tid, &hnid)
        .map_err(|e| InputError::new("--hnid", e))?;
    let kaf = akma::kaf(&kakma, &af_id);
    Ok(vec![
        field("kakma", "K_AKMA", kakma.expose()),
        field("a_tid", "A-TID", a_tid),
        text("a_kid", "A-KID", a_kid.to_string()),
        field("kaf", "K_AF", kaf.expose()),
    ])
}

fn conceal(a: &ConcealArgs) -> Result<Vec<Field>> {
    let mnc_len = match (&a.supi, a.mnc_len) {
        (_, Some(n)) => usize::from(n),
        (Supi::Imsi(d), None) => default_mnc_len(&d[..3]),
        (Supi::Nai(_), None) => 2,
    };
    let params = ConcealParams {
        supi: &a.supi,
        mnc_len,
        routing_indicator: a.routing_indicator.clone(),
        hn_key_id: a.hn_key_id.unwrap_or(0),
    };
    let suci = match a.scheme {
        ProtectionScheme::Null => {
            if a.hn_key_id.unwrap_or(0) != 0 {
                return Err(
                    InputError::new("--hn-key-id", "must be 0 with the null scheme").into(),
                );
            }
            suci::conceal_null(&params).map_err(|e| InputError::new("--supi", e))?
        }
        scheme => {
            let pk_hex = a
                .hn_pubkey
                .as_deref()
                .ok_or_else(|| InputError::new("--hn-pubkey", "required for schemes a and b"))?;
            if a.hn_key_id.is_none() {
                return Err(InputError::new("--hn-key-id", "required for schemes a and b").into());
            }
            let pk_bytes = decode_hex(pk_hex).map_err(|e| InputError::new("--hn-pubkey", e))?;
            let pk = HnPublicKey::from_bytes(scheme, &pk_bytes)
                .map_err(|e| InputError::new("--hn-pubkey", e))?;
            suci::conceal(&params, &pk, &mut rand::rngs::OsRng)
                .map_err(|e| InputError::new("--supi", e))?
        }
    };
    Ok(vec![text("suci", "SUCI", suci.to_string())])
}

fn deconceal(a: &DeconcealArgs) -> Result<Vec<Field>> {
    if a.suci.scheme != ProtectionScheme::Null && a.hn_privkey.is_none() {
        return Err(InputError::new("--hn-privkey", "required for schemes a and b").into());
    }
    let sk = a.hn_privkey.map(HnPrivateKey::new);
    let supi = suci::deconceal(&a.suci, sk.as_ref()).map_err(|e| InputError::new("--suci", e))?;
    Ok(vec![text("supi", "SUPI", supi.to_string())])
}

fn decode_hex(s: &str) -> Result<Vec<u8>, String> {
    if s.len() % 2 != 0 {
        return Err("odd number of hex digits".into());
    }
    hex::decode(s).map_err(|_| "not a hexadecimal string".to_owned())
}

fn hex_n<const N: usize>(s: &str) -> Result<[u8; N], String> {
    let v = decode_hex(s)?;
    v.try_into().map_err(|v: Vec<u8>| {
        format!(
            "expected {} hex digits ({N} octets), got {} hex digits",
            2 * N,
            2 * v.len()
        )
    })
}

fn hex2(s: &str) -> Result<[u8; 2], String> {
    hex_n(s)
}
fn hex6(s: &str) -> Result<[u8; 6], String> {
    hex_n(s)
}
fn hex16(s: &str) -> Result<[u8; 16], String> {
    hex_n(s)
}
fn hex32(s: &str) -> Result<[u8; 32], String> {
    hex_n(s)
}

fn parse_abba(s: &str) -> Result<Abba, String> {
    Abba::new(&decode_hex(s)?).map_err(|e| e.to_string())
}
fn parse_supi(s: &str) -> Result<Supi, String> {
    s.parse().map_err(|e: snpn_crypto::Error| e.to_string())
}
fn parse_snn(s: &str) -> Result<ServingNetworkName, String> {
    s.parse().map_err(|e: snpn_crypto::Error| e.to_string())
}
fn parse_ri(s: &str) -> Result<RoutingIndicator, String> {
    s.parse().map_err(|e: snpn_crypto::Error| e.to_string())
}
fn parse_ua(s: &str) -> Result<UaProtocolId, String> {
    hex_n::<5>(s).map(UaProtocolId)
}
fn parse_scheme(s: &str) -> Result<ProtectionScheme, String> {
    s.parse().map_err(|e: snpn_crypto::Error| e.to_string())
}
fn parse_suci(s: &str) -> Result<Suci, String> {
    s.parse().map_err(|e: snpn_crypto::Error| e.to_string())
}
