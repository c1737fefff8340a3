//! # snpn-acme
//!
//! ACME (RFC 8555) without I/O, for the PVS's server and the UE's client.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
