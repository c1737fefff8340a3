//! `snpn`: 5G SNPN UE onboarding and remote credential provisioning.
//!
//! Subcommands: `keys` (the key calculator) and `demo`.

mod demo;
mod keys;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Command-line interface of snpn.
#[derive(Parser, Debug)]
#[command(
    name = "snpn",
    version,
    about = "5G SNPN UE onboarding and remote credential provisioning"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Key calculator for interop debugging: MILENAGE, 5G AKA, EAP-AKA', AKMA, SUCI.
    Keys(keys::KeysArgs),
    /// Run the key hierarchy end to end for N subscribers and check that UE and network agree.
    Demo(demo::DemoArgs),
}

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

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => return clap_error(e),
    };
    let result = match cli.command {
        Command::Keys(args) => keys::run(args),
        Command::Demo(args) => demo::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            if let Some(input) = e.downcast_ref::<InputError>() {
                eprintln!("error: {input}");
                ExitCode::from(2)
            } else {
                eprintln!("error: {e:#}");
                ExitCode::from(1)
            }
        }
    }
}

/// Prints help and version as clap does; folds every other clap error into one line that
/// names the argument, and exits with 2.
fn clap_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            ExitCode::SUCCESS
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            ExitCode::from(2)
        }
        _ => {
            let rendered = e.render().to_string();
            let line = rendered
                .lines()
                .map(str::trim)
                .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            eprintln!("{line}");
            ExitCode::from(2)
        }
    }
}
