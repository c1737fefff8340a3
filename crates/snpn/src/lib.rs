//! The `snpn` application: configuration of a deployment, starting network functions, the
//! key calculator, the demo, the benchmark and the operator and device tools.

pub mod bench;
pub mod bench_acme;
pub mod bench_attest;
pub mod bench_cmp;
pub mod bench_onboard;
pub mod bench_pvs;
pub mod cli;
pub mod config;
pub mod demo;
pub mod keys;
pub mod ops;
pub mod pvs_cli;
pub mod system;

/// A bad input given by the user: exit code 2, one line naming the field.
#[derive(Debug)]
pub struct InputError {
    /// The option or field at fault, e.g. `--hn-pubkey`.
    pub field: &'static str,
    /// What is wrong with it.
    pub message: String,
}

impl InputError {
    /// A bad value of `field`.
    pub fn new(field: &'static str, message: impl std::fmt::Display) -> Self {
        Self {
            field,
            message: message.to_string(),
        }
    }
}

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for InputError {}
