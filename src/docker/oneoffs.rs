//! One-off containers that run on their own (`run:detached`) and the listing of running
//! one-offs (`run:list`).

use super::containers::Kind;
use super::{engine_err, DockerEngine};
use crate::names::AppName;
use crate::scheduler::{
    InstanceSpec, OneOff, SchedulerError, LABEL_APP, LABEL_EXPIRES, LABEL_INDEX, LABEL_ONEOFF,
    LABEL_PROCESS,
};

impl DockerEngine {
    /// Starts a `Kind::Detached` one-off.
    pub(super) async fn start_detached(
        &self,
        spec: &InstanceSpec,
    ) -> Result<OneOff, SchedulerError> {
        let id = self.create(spec, Kind::Detached).await?;
        if let Err(err) = self.docker.start_container(&id, None).await {
            let _ = self.remove_force(&id).await;
            return Err(engine_err(err));
        }
        let app = &spec.app;
        let started = self
            .running_one_offs(app)
            .await?
            .into_iter()
            .find(|o| o.id == id);
        // An instant exit has removed it already; it ran all the same.
        Ok(started.unwrap_or_else(|| OneOff {
            id: id.clone(),
            name: id.chars().take(12).collect(),
            dyno: format!("{}.{}", spec.process, spec.index),
            command: spec.command.clone().unwrap_or_default().join(" "),
            created: crate::clock::now_unix(),
            expires_at: spec
                .options
                .labels
                .get(LABEL_EXPIRES)
                .and_then(|at| at.parse().ok()),
        }))
    }

    /// The app's running one-offs, oldest first.
    pub(super) async fn running_one_offs(
        &self,
        app: &AppName,
    ) -> Result<Vec<OneOff>, SchedulerError> {
        let labels = vec![format!("{LABEL_APP}={app}"), format!("{LABEL_ONEOFF}=true")];
        let summaries = self.labelled(labels, false).await?;
        let mut one_offs: Vec<OneOff> = summaries
            .into_iter()
            .filter_map(|summary| {
                let name = summary.names?.first()?.trim_start_matches('/').to_string();
                let labels = summary.labels.unwrap_or_default();
                let label = |key| labels.get(key).cloned().unwrap_or_default();
                Some(OneOff {
                    id: summary.id?,
                    name,
                    dyno: format!("{}.{}", label(LABEL_PROCESS), label(LABEL_INDEX)),
                    command: summary.command.unwrap_or_default(),
                    created: u64::try_from(summary.created.unwrap_or(0)).unwrap_or(0),
                    expires_at: labels.get(LABEL_EXPIRES).and_then(|at| at.parse().ok()),
                })
            })
            .collect();
        one_offs.sort_by(|a, b| (a.created, &a.name).cmp(&(b.created, &b.name)));
        Ok(one_offs)
    }
}
