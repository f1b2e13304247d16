//! `orchestrion eval` (skeleton: replaced by the work that owns this command).

/// Arguments of `orchestrion eval`.
#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`orchestrion eval` is not built yet")
}
