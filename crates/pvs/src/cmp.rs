//! CMP (RFC 9810, lightweight profile RFC 9483, HTTP transfer RFC 6712) inside the Ua*
//! channel, at `/.well-known/cmp`.

use axum::Router;
use serde::{Deserialize, Serialize};
use snpn_store::Migration;

use crate::PvsState;

/// Schema of the CMP state (versions 200–299 of the PVS store).
pub const MIGRATIONS: &[Migration] = &[];

/// CMP settings.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields)]
pub struct CmpSettings {}

/// The CMP router (served inside the channel; the channel comes as an extension).
pub fn router(state: PvsState) -> Router {
    Router::new().with_state(state)
}
