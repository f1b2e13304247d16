//! `orchestrion train` (skeleton: replaced by the work that owns this command).

/// Arguments of `orchestrion train`.
#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`orchestrion train` is not built yet")
}
