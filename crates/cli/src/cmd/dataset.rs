//! `orchestrion dataset ...` (skeleton: replaced by the dataset work).

/// Dataset subcommands.
#[derive(clap::Subcommand)]
pub enum DatasetCommand {
    /// Build shards and stats.json from a recipe.
    Build {},
}

pub fn run(_command: DatasetCommand) -> anyhow::Result<()> {
    anyhow::bail!("`orchestrion dataset` is not built yet")
}
