//! `orchestrion generate` (skeleton: replaced by the work that owns this command).

/// Arguments of `orchestrion generate`.
#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`orchestrion generate` is not built yet")
}
