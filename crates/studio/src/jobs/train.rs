//! The training job: an uploaded archive or a shipped recipe → a genre model, with loss and
//! metric events streamed as it goes.

use std::sync::Arc;

use super::queue::Claimed;
use super::{JobControl, JobFailure};
use crate::http::ApiContext;

pub async fn run(
    ctx: &ApiContext,
    claimed: &Claimed,
    control: &Arc<JobControl>,
) -> Result<(), JobFailure> {
    let _ = (ctx, claimed, control);
    Err(JobFailure::permanent(
        "training_unavailable",
        "training through the service is not available in this build yet; use `orchestrion train`",
    ))
}
