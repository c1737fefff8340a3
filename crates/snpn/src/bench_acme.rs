//! `snpn bench acme`: certificates/s over ACME (see the benchmark).

use std::process::ExitCode;

use anyhow::{bail, Result};
use clap::Args;

/// `snpn bench acme` options.
#[derive(Args, Debug, Clone)]
pub struct AcmeBenchArgs {
    /// One JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs the benchmark.
pub async fn run(_a: AcmeBenchArgs) -> Result<ExitCode> {
    bail!("not built yet")
}
