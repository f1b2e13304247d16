//! `orchestrion serve` (skeleton: replaced by the work that owns this command).

/// Arguments of `orchestrion serve`.
#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`orchestrion serve` is not built yet")
}
