//! `orchestrion inspect` (skeleton: replaced by the work that owns this command).

/// Arguments of `orchestrion inspect`.
#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`orchestrion inspect` is not built yet")
}
