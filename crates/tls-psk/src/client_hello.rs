//! TLS 1.3 ClientHello (RFC 8446 §4.1.2), without I/O.
//!
//! The server reads the ClientHello before it starts the handshake, to learn the offered
//! external PSK identities (`pre_shared_key`, §4.2.11) and fetch the matching key (K_AF)
//! from the AAnF or NEF — an asynchronous call that OpenSSL's synchronous PSK callback
//! cannot make. The bytes are then replayed into OpenSSL unchanged.
//!
//! [`build_psk_client_hello`] builds a ClientHello offering one external PSK with a correct
//! binder (§4.2.11.2) and chosen `psk_key_exchange_modes`; it exists to test that the
//! server refuses `psk_ke`, which no stock client can be made to offer alone.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// Largest ClientHello accepted, octets (RFC 8446 allows a handshake message of up to
/// 2^24, spread over records; real ones are a few hundred octets).
pub const MAX_CLIENT_HELLO: usize = 64 * 1024;

/// `psk_ke` (RFC 8446 §4.2.9).
pub const PSK_KE: u8 = 0;
/// `psk_dhe_ke`.
pub const PSK_DHE_KE: u8 = 1;

/// What the server needs from a ClientHello.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ClientHelloInfo {
    /// TLS 1.3 is offered (`supported_versions` lists 0x0304).
    pub tls13: bool,
    /// The identities of `pre_shared_key`, in order.
    pub psk_identities: Vec<Vec<u8>>,
    /// The `psk_key_exchange_modes`.
    pub psk_modes: Vec<u8>,
    /// Octets of the records that carried the ClientHello.
    pub record_len: usize,
}

/// Why a ClientHello is refused.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum HelloError {
    /// Not a TLS handshake record.
    #[error("not a TLS handshake")]
    NotTls,
    /// A length or field is wrong.
    #[error("malformed ClientHello: {0}")]
    Malformed(&'static str),
    /// Over [`MAX_CLIENT_HELLO`].
    #[error("ClientHello too large")]
    TooLarge,
}

struct Reader<'a> {
    b: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], HelloError> {
        if self.b.len() < n {
            return Err(HelloError::Malformed(what));
        }
        let (h, t) = self.b.split_at(n);
        self.b = t;
        Ok(h)
    }
    fn u8(&mut self, what: &'static str) -> Result<u8, HelloError> {
        Ok(self.take(1, what)?[0])
    }
    fn u16(&mut self, what: &'static str) -> Result<u16, HelloError> {
        let b = self.take(2, what)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn vec8(&mut self, what: &'static str) -> Result<&'a [u8], HelloError> {
        let n = self.u8(what)? as usize;
        self.take(n, what)
    }
    fn vec16(&mut self, what: &'static str) -> Result<&'a [u8], HelloError> {
        let n = self.u16(what)? as usize;
        self.take(n, what)
    }
}

/// Reassembles the ClientHello from the start of a connection's bytes. `Ok(None)`: more
/// bytes are needed.
pub fn parse(buf: &[u8]) -> Result<Option<ClientHelloInfo>, HelloError> {
    let mut msg = Vec::new();
    let mut pos = 0;
    let mut need: Option<usize> = None;
    loop {
        if let Some(n) = need {
            if msg.len() >= n {
                break;
            }
        }
        if buf.len() < pos + 5 {
            return Ok(None);
        }
        let (ct, len) = (
            buf[pos],
            u16::from_be_bytes([buf[pos + 3], buf[pos + 4]]) as usize,
        );
        if ct != 22 || buf[pos + 1] != 3 {
            return Err(HelloError::NotTls);
        }
        if len == 0 || len > 16_384 + 256 {
            return Err(HelloError::Malformed("record length"));
        }
        if buf.len() < pos + 5 + len {
            return if pos + 5 + len > MAX_CLIENT_HELLO {
                Err(HelloError::TooLarge)
            } else {
                Ok(None)
            };
        }
        msg.extend_from_slice(&buf[pos + 5..pos + 5 + len]);
        pos += 5 + len;
        if need.is_none() && msg.len() >= 4 {
            if msg[0] != 1 {
                return Err(HelloError::Malformed(
                    "first handshake message is not a ClientHello",
                ));
            }
            let n = 4 + ((msg[1] as usize) << 16 | (msg[2] as usize) << 8 | msg[3] as usize);
            if n > MAX_CLIENT_HELLO {
                return Err(HelloError::TooLarge);
            }
            need = Some(n);
        }
    }
    let n = need.unwrap_or(0);
    let mut info = parse_body(&msg[4..n])?;
    info.record_len = pos;
    Ok(Some(info))
}

fn parse_body(body: &[u8]) -> Result<ClientHelloInfo, HelloError> {
    let mut r = Reader { b: body };
    r.take(2, "legacy_version")?;
    r.take(32, "random")?;
    r.vec8("legacy_session_id")?;
    r.vec16("cipher_suites")?;
    r.vec8("legacy_compression_methods")?;
    let mut info = ClientHelloInfo::default();
    if r.b.is_empty() {
        return Ok(info); // no extensions: TLS 1.2 or older
    }
    let mut exts = Reader {
        b: r.vec16("extensions")?,
    };
    if !r.b.is_empty() {
        return Err(HelloError::Malformed("octets after the extensions"));
    }
    let mut seen = std::collections::HashSet::new();
    while !exts.b.is_empty() {
        let ty = exts.u16("extension type")?;
        let data = exts.vec16("extension data")?;
        if !seen.insert(ty) {
            return Err(HelloError::Malformed("an extension appears twice"));
        }
        let mut d = Reader { b: data };
        match ty {
            43 => {
                let mut v = Reader {
                    b: d.vec8("supported_versions")?,
                };
                while !v.b.is_empty() {
                    if v.u16("supported_versions")? == 0x0304 {
                        info.tls13 = true;
                    }
                }
            }
            45 => info.psk_modes = d.vec8("psk_key_exchange_modes")?.to_vec(),
            41 => {
                if !exts.b.is_empty() {
                    return Err(HelloError::Malformed(
                        "pre_shared_key must be the last extension",
                    ));
                }
                let mut ids = Reader {
                    b: d.vec16("identities")?,
                };
                while !ids.b.is_empty() {
                    let id = ids.vec16("identity")?;
                    if id.is_empty() {
                        return Err(HelloError::Malformed("empty PSK identity"));
                    }
                    ids.take(4, "obfuscated_ticket_age")?;
                    info.psk_identities.push(id.to_vec());
                }
                let mut binders = Reader {
                    b: d.vec16("binders")?,
                };
                let mut count = 0;
                while !binders.b.is_empty() {
                    if binders.vec8("binder")?.len() < 32 {
                        return Err(HelloError::Malformed("binder shorter than 32 octets"));
                    }
                    count += 1;
                }
                if count != info.psk_identities.len() || count == 0 {
                    return Err(HelloError::Malformed("one binder per identity"));
                }
            }
            _ => {}
        }
    }
    Ok(info)
}

type HmacSha256 = Hmac<Sha256>;

fn hmac(key: &[u8], data: &[&[u8]]) -> [u8; 32] {
    let mut m = <HmacSha256 as Mac>::new_from_slice(key).expect("any key length");
    for d in data {
        m.update(d);
    }
    m.finalize().into_bytes().into()
}

fn expand_label(secret: &[u8], label: &str, context: &[u8]) -> [u8; 32] {
    let full = format!("tls13 {label}");
    let mut info = vec![0, 32, full.len() as u8];
    info.extend_from_slice(full.as_bytes());
    info.push(context.len() as u8);
    info.extend_from_slice(context);
    hmac(secret, &[&info, &[1]])
}

/// The PSK binder for a truncated ClientHello (RFC 8446 §4.2.11.2), SHA-256 external PSK.
pub fn binder(psk: &[u8], truncated_hello: &[u8]) -> [u8; 32] {
    let early = hmac(&[0u8; 32], &[psk]);
    let binder_key = expand_label(&early, "ext binder", &Sha256::digest(b""));
    let finished = expand_label(&binder_key, "finished", &[]);
    hmac(&finished, &[&Sha256::digest(truncated_hello)])
}

/// A TLS 1.3 ClientHello record offering the external PSK `identity`/`psk` with the given
/// key exchange modes, TLS_AES_128_GCM_SHA256, and an X25519 key share if `key_share`
/// (else an empty one).
pub fn build_psk_client_hello(
    identity: &[u8],
    psk: &[u8],
    modes: &[u8],
    key_share: bool,
) -> Vec<u8> {
    fn ext(out: &mut Vec<u8>, ty: u16, data: &[u8]) {
        out.extend_from_slice(&ty.to_be_bytes());
        out.extend_from_slice(&(data.len() as u16).to_be_bytes());
        out.extend_from_slice(data);
    }
    let mut exts = Vec::new();
    ext(&mut exts, 43, &[2, 3, 4]);
    ext(&mut exts, 10, &[0, 2, 0, 0x1d]);
    ext(&mut exts, 13, &[0, 2, 4, 3]);
    if key_share {
        let mut ks = vec![0, 36, 0, 0x1d, 0, 32];
        let mut pubkey = [9u8; 32];
        let _ = openssl::rand::rand_bytes(&mut pubkey);
        ks.extend_from_slice(&pubkey);
        ext(&mut exts, 51, &ks);
    } else {
        // Empty client_shares (RFC 8446 §4.2.8: allowed; supported_groups needs key_share).
        ext(&mut exts, 51, &[0, 0]);
    }
    let mut m = vec![modes.len() as u8];
    m.extend_from_slice(modes);
    ext(&mut exts, 45, &m);
    // pre_shared_key, with the binder computed over the hello truncated before it.
    let mut ids = Vec::new();
    ids.extend_from_slice(&(identity.len() as u16).to_be_bytes());
    ids.extend_from_slice(identity);
    ids.extend_from_slice(&[0, 0, 0, 0]);
    let mut psk_ext = (ids.len() as u16).to_be_bytes().to_vec();
    psk_ext.extend_from_slice(&ids);
    let binders_len = 2 + 1 + 32;
    let psk_ext_len = psk_ext.len() + binders_len;
    exts.extend_from_slice(&41u16.to_be_bytes());
    exts.extend_from_slice(&(psk_ext_len as u16).to_be_bytes());
    exts.extend_from_slice(&psk_ext);
    let total_ext_len = exts.len() + binders_len;
    let mut body = vec![3, 3];
    let mut random = [0u8; 32];
    let _ = openssl::rand::rand_bytes(&mut random);
    body.extend_from_slice(&random);
    body.push(32);
    body.extend_from_slice(&[7u8; 32]);
    body.extend_from_slice(&[0, 2, 0x13, 0x01]);
    body.extend_from_slice(&[1, 0]);
    body.extend_from_slice(&(total_ext_len as u16).to_be_bytes());
    body.extend_from_slice(&exts);
    let full_len = body.len() + binders_len;
    let mut hs = vec![
        1,
        (full_len >> 16) as u8,
        (full_len >> 8) as u8,
        full_len as u8,
    ];
    hs.extend_from_slice(&body);
    let b = binder(psk, &hs);
    hs.extend_from_slice(&[0, 33, 32]);
    hs.extend_from_slice(&b);
    let mut rec = vec![22, 3, 1];
    rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
    rec.extend_from_slice(&hs);
    rec
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_it_builds_and_needs_whole_records() {
        let rec = build_psk_client_hello(b"3GPP-AKMAabc@x", &[1; 32], &[PSK_DHE_KE], true);
        let info = parse(&rec).unwrap().unwrap();
        assert!(info.tls13);
        assert_eq!(info.psk_identities, vec![b"3GPP-AKMAabc@x".to_vec()]);
        assert_eq!(info.psk_modes, vec![PSK_DHE_KE]);
        assert_eq!(info.record_len, rec.len());
        for cut in [0, 3, 5, rec.len() - 1] {
            assert_eq!(parse(&rec[..cut]), Ok(None), "{cut}");
        }
        // The same hello split over two records.
        let hs = &rec[5..];
        let (a, b) = hs.split_at(40);
        let mut two = vec![22, 3, 1, 0, a.len() as u8];
        two.extend_from_slice(a);
        two.extend_from_slice(&[22, 3, 1, (b.len() >> 8) as u8, b.len() as u8]);
        two.extend_from_slice(b);
        assert_eq!(parse(&two).unwrap().unwrap().psk_identities.len(), 1);
        assert_eq!(parse(b"GET / HTTP/1.1\r\n"), Err(HelloError::NotTls));
        let mut bad = rec.clone();
        bad[5] = 2;
        assert!(parse(&bad).is_err());
    }

    #[test]
    fn binder_depends_on_psk_and_hello() {
        // The binder depends on the PSK and every octet of the truncated hello.
        let a = binder(&[1; 32], b"hello");
        assert_ne!(a, binder(&[2; 32], b"hello"));
        assert_ne!(a, binder(&[1; 32], b"hellp"));
    }
}
