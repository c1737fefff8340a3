//! The TLS-PSK server and client over real sockets: TLS 1.3 psk_dhe_ke works and binds the
//! same exporter on both ends; a wrong key, an unknown identity and a client offering only
//! psk_ke are refused; TLS 1.2 ECDHE-PSK works when enabled and uses its Ua* identifier.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use openssl::ssl::SslVersion;
use snpn_tls_psk::client_hello::{build_psk_client_hello, PSK_DHE_KE, PSK_KE};
use snpn_tls_psk::{
    channel_binding, connect, KeyStore, Lookup, PskAcceptor, PskKey, ServerSettings, TlsPskError,
    UA_TLS13,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use zeroize::Zeroizing;

struct Keys {
    keys: HashMap<Vec<u8>, Vec<u8>>,
    asked: Mutex<Vec<(Vec<u8>, [u8; 5])>>,
}

impl KeyStore for Keys {
    type Context = String;
    fn lookup(&self, identity: &[u8], ua: [u8; 5]) -> Lookup<'_, String> {
        self.asked.lock().unwrap().push((identity.to_vec(), ua));
        let found = self.keys.get(identity).map(|k| PskKey {
            key: Zeroizing::new(k.clone()),
            context: String::from_utf8_lossy(identity).into_owned(),
        });
        Box::pin(async move { found })
    }
}

const ID: &[u8] = b"3GPP-AKMA0ab12cd@5gc.mnc070.mcc999.3gppnetwork.org";
const KEY: [u8; 32] = [0x42; 32];

async fn server(
    tls12: bool,
) -> (
    std::net::SocketAddr,
    Arc<Keys>,
    tokio::task::JoinHandle<Vec<String>>,
) {
    let keys = Arc::new(Keys {
        keys: HashMap::from([(ID.to_vec(), KEY.to_vec())]),
        asked: Mutex::new(Vec::new()),
    });
    let acceptor = PskAcceptor::new(
        keys.clone(),
        ServerSettings {
            tls12,
            ..ServerSettings::default()
        },
    )
    .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let mut outcomes = Vec::new();
        for _ in 0..6 {
            let Ok(Ok((tcp, _))) =
                tokio::time::timeout(std::time::Duration::from_secs(1), listener.accept()).await
            else {
                break;
            };
            match acceptor.accept(tcp).await {
                Ok(mut a) => {
                    let cb = channel_binding(a.stream.ssl()).unwrap();
                    let mut line = [0u8; 5];
                    if a.stream.read_exact(&mut line).await.is_ok() {
                        a.stream.write_all(&cb).await.ok();
                    }
                    a.stream.shutdown().await.ok();
                    let v = if a.version == SslVersion::TLS1_3 {
                        "TLS1_3"
                    } else {
                        "TLS1_2"
                    };
                    outcomes.push(format!("ok {v} {}", a.context));
                }
                Err(e) => outcomes.push(format!("err {e}")),
            }
        }
        outcomes
    });
    (addr, keys, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls13_psk_dhe_ke_and_refusals() {
    let (addr, keys, task) = server(false).await;
    // Good: same exporter on both sides.
    let mut c = connect(
        TcpStream::connect(addr).await.unwrap(),
        ID,
        &KEY,
        &[b"http/1.1"],
        false,
    )
    .await
    .unwrap();
    assert_eq!(c.ssl().version2(), Some(SslVersion::TLS1_3));
    let mine = channel_binding(c.ssl()).unwrap();
    c.write_all(b"hello").await.unwrap();
    let mut theirs = [0u8; 32];
    c.read_exact(&mut theirs).await.unwrap();
    assert_eq!(mine, theirs);
    // Wrong key.
    let r = connect(
        TcpStream::connect(addr).await.unwrap(),
        ID,
        &[0x43; 32],
        &[],
        false,
    )
    .await;
    assert!(matches!(r, Err(TlsPskError::Handshake(_))));
    // Unknown identity.
    let r = connect(
        TcpStream::connect(addr).await.unwrap(),
        b"3GPP-AKMAnobody@x",
        &KEY,
        &[],
        false,
    )
    .await;
    assert!(r.is_err());
    // psk_ke only: the server answers nothing but closes.
    let mut raw = TcpStream::connect(addr).await.unwrap();
    raw.write_all(&build_psk_client_hello(ID, &KEY, &[PSK_KE], false))
        .await
        .unwrap();
    let mut resp = Vec::new();
    let _ = raw.read_to_end(&mut resp).await;
    assert!(
        resp.first() != Some(&22),
        "no ServerHello for psk_ke: {resp:02x?}"
    );
    // psk_dhe_ke with a key share and a correct binder: OpenSSL answers a ServerHello.
    let mut raw = TcpStream::connect(addr).await.unwrap();
    raw.write_all(&build_psk_client_hello(ID, &KEY, &[PSK_DHE_KE], true))
        .await
        .unwrap();
    let mut head = [0u8; 6];
    raw.read_exact(&mut head).await.unwrap();
    assert_eq!((head[0], head[5]), (22, 2), "a ServerHello");
    drop(raw);
    // Both modes offered, no key share: OpenSSL asks for one (HelloRetryRequest) instead of
    // falling back to psk_ke.
    let mut raw = TcpStream::connect(addr).await.unwrap();
    raw.write_all(&build_psk_client_hello(
        ID,
        &KEY,
        &[PSK_KE, PSK_DHE_KE],
        false,
    ))
    .await
    .unwrap();
    let mut sh = vec![0u8; 5 + 4 + 2 + 32];
    raw.read_exact(&mut sh).await.unwrap();
    let hrr_random = openssl::sha::sha256(b"HelloRetryRequest");
    assert_eq!(&sh[11..43], &hrr_random, "HelloRetryRequest, not psk_ke");
    drop(raw);
    let outcomes = task.await.unwrap();
    assert!(outcomes[0].starts_with("ok TLS1_3"), "{outcomes:?}");
    assert!(outcomes[1].starts_with("err handshake"), "{outcomes:?}");
    assert_eq!(outcomes[2], "err no key for the PSK identity");
    assert!(outcomes[3].contains("psk_ke"), "{outcomes:?}");
    assert!(keys
        .asked
        .lock()
        .unwrap()
        .iter()
        .all(|(_, ua)| *ua == UA_TLS13));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls12_ecdhe_psk_when_enabled() {
    let (addr, keys, task) = server(true).await;
    // A client limited to TLS 1.2 (OpenSSL's, with the AKMA identity hint checked).
    let mut b =
        openssl::ssl::SslContextBuilder::new(openssl::ssl::SslMethod::tls_client()).unwrap();
    b.set_max_proto_version(Some(SslVersion::TLS1_2)).unwrap();
    b.set_cipher_list(snpn_tls_psk::TLS12_SUITES).unwrap();
    b.set_verify(openssl::ssl::SslVerifyMode::NONE);
    b.set_psk_client_callback(|_, hint, id, key| {
        assert_eq!(hint, Some(&b"3GPP-AKMA"[..]));
        id[..ID.len()].copy_from_slice(ID);
        id[ID.len()] = 0;
        key[..32].copy_from_slice(&KEY);
        Ok(32)
    });
    let ssl = openssl::ssl::Ssl::new(&b.build()).unwrap();
    let mut s =
        tokio_openssl::SslStream::new(ssl, TcpStream::connect(addr).await.unwrap()).unwrap();
    Pin::new(&mut s).connect().await.unwrap();
    assert_eq!(s.ssl().version2(), Some(SslVersion::TLS1_2));
    s.write_all(b"hello").await.unwrap();
    let mut cb = [0u8; 32];
    s.read_exact(&mut cb).await.unwrap();
    drop(s);
    let outcomes = task.await.unwrap();
    assert!(
        outcomes.iter().any(|o| o.starts_with("ok TLS1_2")),
        "{outcomes:?}"
    );
    let asked = keys.asked.lock().unwrap();
    assert!(
        asked.iter().any(|(_, ua)| ua[..3] == [1, 0, 1]),
        "TLS 1.2 Ua* id 01 00 01 yy zz: {asked:?}"
    );
}
