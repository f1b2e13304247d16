//! `orchestrion render` (skeleton: replaced by the work that owns this command).

/// Arguments of `orchestrion render`.
#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`orchestrion render` is not built yet")
}
