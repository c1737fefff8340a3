//! # snpn-models
//!
//! The JSON data models of the services snpn serves and calls, with the field names and
//! types of the 3GPP OpenAPI files: Nudm_UEAuthentication (TS 29.503), Nudr subscription
//! data (TS 29.505), Nausf_UEAuthentication (TS 29.509), Naanf_AKMA (TS 29.535) and the
//! NEF's AKMA API (TS 29.522), plus the simplified N1 messages (DESIGN.md §4). Every type
//! derives an OpenAPI schema (utoipa) so each function can serve its document.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod akma;
pub mod ausf;
pub mod common;
pub mod n1;
pub mod onboarding;
pub mod udr;
pub mod ueau;
