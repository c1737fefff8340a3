//! ACME (RFC 8555) inside the Ua* channel, at `/acme/`: directory, nonces, JWS, accounts
//! with External Account Binding bound to the AKMA channel, orders, authorizations
//! (`device-attest-01` for `permanent-identifier`, `http-01` for `dns`), finalize,
//! certificate download, revocation, key change.

use axum::Router;
use serde::{Deserialize, Serialize};
use snpn_store::Migration;

use crate::PvsState;

/// Schema of the ACME state (versions 100–199 of the PVS store).
pub const MIGRATIONS: &[Migration] = &[];

/// ACME settings.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields)]
pub struct AcmeSettings {}

/// The ACME router (served inside the channel; the channel comes as an extension).
pub fn router(state: PvsState) -> Router {
    Router::new().with_state(state)
}
