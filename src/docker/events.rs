//! Containers the engine starts and stops, from Docker's event stream: how Berth learns that an
//! instance crashed, and that Docker restarted it by its restart policy (or when the engine
//! itself came back), possibly with another address.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use bollard::query_parameters::EventsOptionsBuilder;
use futures_util::StreamExt;

use super::{engine_err, is_not_found, DockerEngine};
use crate::scheduler::{Instance, InstanceStream, SchedulerError, LABEL_APP, LABEL_ONEOFF};

impl DockerEngine {
    /// Every Berth instance the engine started or that stopped since `since` (to the second),
    /// and from then on, as it is just after; ends when the connection to the engine does.
    pub(super) fn instance_changes(&self, since: SystemTime) -> InstanceStream {
        let since = since
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs()
            .to_string();
        let filters = [
            ("type", vec!["container".to_string()]),
            ("event", vec!["start".to_string(), "die".to_string()]),
            ("label", vec![LABEL_APP.to_string()]),
        ]
        .into();
        let options = EventsOptionsBuilder::default()
            .since(&since)
            .filters(&filters)
            .build();
        let engine = self.clone();
        let changes = self.docker.events(Some(options)).filter_map(move |event| {
            let engine = engine.clone();
            async move {
                let actor = match event {
                    Ok(event) => event.actor?,
                    Err(err) => return Some(Err(engine_err(err))),
                };
                let (id, labels) = (actor.id?, actor.attributes.unwrap_or_default());
                engine.instance_now(id, &labels).await.transpose()
            }
        });
        Box::pin(changes)
    }

    /// The instance `id` as it is now (`labels` as the event named them: a container removed
    /// since is not running); `None` for a one-off or a build.
    async fn instance_now(
        &self,
        id: String,
        labels: &HashMap<String, String>,
    ) -> Result<Option<Instance>, SchedulerError> {
        if labels.contains_key(LABEL_ONEOFF) {
            return Ok(None);
        }
        let (running, address) = match self.docker.inspect_container(&id, None).await {
            Ok(inspect) => (
                inspect.state.as_ref().and_then(|s| s.running) == Some(true),
                self.address_of(&inspect),
            ),
            Err(err) if is_not_found(&err) => (false, None),
            Err(err) => return Err(engine_err(err)),
        };
        Ok(self.instance_from_labels(id, labels, running, address))
    }
}
