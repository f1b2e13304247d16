//! `orchestrion models` (skeleton: replaced by the work that owns this command).

/// Arguments of `orchestrion models`.
#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`orchestrion models` is not built yet")
}
