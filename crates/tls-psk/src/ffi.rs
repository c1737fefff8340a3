//! The two OpenSSL calls the `openssl` crate does not wrap, both for TLS 1.2: the PSK
//! identity hint (TS 24.109 Annex K.3.2: the ServerKeyExchange carries "3GPP-AKMA") and
//! the cipher suite being negotiated (part of the TLS 1.2 Ua* identifier).
#![allow(unsafe_code)]

use std::ffi::CString;
use std::os::raw::{c_char, c_int};

use openssl::ssl::SslContextBuilder;

extern "C" {
    fn SSL_CTX_use_psk_identity_hint(ctx: *mut openssl_sys::SSL_CTX, hint: *const c_char) -> c_int;
    fn SSL_get_pending_cipher(ssl: *const openssl_sys::SSL) -> *const openssl_sys::SSL_CIPHER;
}

/// The cipher suite being negotiated (TLS 1.2 PSK callback: the Ua* identifier includes
/// it), as its two-octet code.
pub fn pending_suite(ssl: &openssl::ssl::SslRef) -> Option<[u8; 2]> {
    use foreign_types::ForeignTypeRef;
    // SAFETY: `ssl` is a live SSL; the cipher pointer, if any, is owned by OpenSSL and
    // only read here.
    unsafe {
        let c = SSL_get_pending_cipher(ssl.as_ptr());
        if c.is_null() {
            return None;
        }
        Some(openssl_sys::SSL_CIPHER_get_protocol_id(c).to_be_bytes())
    }
}

/// Sets the TLS 1.2 PSK identity hint of a context; false if OpenSSL refuses it.
pub fn set_psk_identity_hint(ctx: &mut SslContextBuilder, hint: &str) -> bool {
    let Ok(hint) = CString::new(hint) else {
        return false;
    };
    // SAFETY: `ctx` is a live SSL_CTX owned by the builder; OpenSSL copies the string.
    unsafe { SSL_CTX_use_psk_identity_hint(ctx.as_ptr(), hint.as_ptr()) == 1 }
}
