//! # snpn-cmp
//!
//! CMP (RFC 9810, lightweight profile RFC 9483) without I/O, for the PVS's server and the
//! UE's client.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
