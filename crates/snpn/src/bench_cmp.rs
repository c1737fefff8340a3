//! `snpn bench cmp`: certificates/s over CMP (see the benchmark).

use std::process::ExitCode;

use anyhow::{bail, Result};
use clap::Args;

/// `snpn bench cmp` options.
#[derive(Args, Debug, Clone)]
pub struct CmpBenchArgs {
    /// One JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs the benchmark.
pub async fn run(_a: CmpBenchArgs) -> Result<ExitCode> {
    bail!("not built yet")
}
