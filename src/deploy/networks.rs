//! The networks an app's new instances join once they passed their checks, before the proxy
//! switches to them (`network:set <app> attach-post-deploy`), answering there to their names.

use super::DeployError;
use crate::context::Ctx;
use crate::scheduler::Instance;
use crate::state::AppRecord;

/// Connects each of `instances` to every `attach-post-deploy` network of `record`.
pub async fn attach_post_deploy(
    ctx: &Ctx,
    record: &AppRecord,
    instances: &[Instance],
) -> Result<(), DeployError> {
    for instance in instances {
        let aliases = crate::scheduler::aliases(&instance.app, &instance.process);
        for network in &record.network.attach_post_deploy {
            ctx.scheduler
                .attach(&instance.id, network, &aliases)
                .await?;
        }
    }
    Ok(())
}
