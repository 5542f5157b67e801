//! Containers the engine starts, from Docker's event stream: how Berth learns that Docker
//! restarted an instance by its restart policy (after a crash, or when the engine itself came
//! back), possibly with another address.

use std::time::{SystemTime, UNIX_EPOCH};

use bollard::query_parameters::EventsOptionsBuilder;
use futures_util::StreamExt;

use super::{engine_err, is_not_found, DockerEngine};
use crate::scheduler::{InstanceStream, LABEL_APP, LABEL_ONEOFF};

impl DockerEngine {
    /// Every Berth instance the engine started since `since` (to the second) and starts from
    /// then on, as it runs just after; ends when the connection to the engine does.
    pub(super) fn started_instances(&self, since: SystemTime) -> InstanceStream {
        let since = since
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs()
            .to_string();
        let filters = [
            ("type", vec!["container".to_string()]),
            ("event", vec!["start".to_string()]),
            ("label", vec![LABEL_APP.to_string()]),
        ]
        .into();
        let options = EventsOptionsBuilder::default()
            .since(&since)
            .filters(&filters)
            .build();
        let engine = self.clone();
        let started = self.docker.events(Some(options)).filter_map(move |event| {
            let engine = engine.clone();
            async move {
                let id = match event {
                    Ok(event) => event.actor?.id?,
                    Err(err) => return Some(Err(engine_err(err))),
                };
                engine.started_instance(&id).await.transpose()
            }
        });
        Box::pin(started)
    }

    /// The instance `id` as it is now; `None` for a container that is gone again or is not an
    /// instance (a one-off or a build).
    async fn started_instance(
        &self,
        id: &str,
    ) -> Result<Option<crate::scheduler::Instance>, crate::scheduler::SchedulerError> {
        let inspect = match self.docker.inspect_container(id, None).await {
            Ok(inspect) => inspect,
            Err(err) if is_not_found(&err) => return Ok(None),
            Err(err) => return Err(engine_err(err)),
        };
        let Some(labels) = inspect.config.as_ref().and_then(|c| c.labels.as_ref()) else {
            return Ok(None);
        };
        if labels.contains_key(LABEL_ONEOFF) {
            return Ok(None);
        }
        let running = inspect.state.as_ref().and_then(|s| s.running) == Some(true);
        let address = self.address_of(&inspect);
        Ok(self.instance_from_labels(id.to_string(), labels, running, address))
    }
}
