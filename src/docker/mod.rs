//! Docker on this host, through bollard: image builds and the local scheduler.
//!
//! This is the only module that imports bollard. It implements `scheduler::ImageBuilder` and
//! `scheduler::Scheduler`; everything above talks to those traits. Every container it creates
//! carries Berth's labels and sits on Berth's own bridge network (or the app's `initial-network`),
//! with no published ports.

mod build;
mod compile;
mod containers;
mod events;
mod load;
mod networks;
mod oneoffs;
mod probe;
mod registry;
mod swarm;
mod swarm_remote;
mod swarm_secrets;
mod swarm_spec;

pub use probe::{probe, EngineFacts};

use bollard::models::NetworkCreateRequest;
use bollard::Docker;

use crate::scheduler::SchedulerError;

/// A connection to the Docker engine plus the network Berth attaches containers to.
#[derive(Clone)]
pub struct DockerEngine {
    docker: Docker,
    network: String,
    /// The engine's default log driver (`docker info`), which decides whether a log size cap
    /// can be given (`json-file` and `local` take `max-size`).
    logging_driver: String,
}

pub(crate) fn engine_err(err: bollard::errors::Error) -> SchedulerError {
    SchedulerError::Engine(err.to_string())
}

fn is_not_found(err: &bollard::errors::Error) -> bool {
    matches!(
        err,
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

impl DockerEngine {
    /// Connects to `host` (`unix://…` or `tcp://…`), agrees an API version with the engine and
    /// makes sure Berth's network exists.
    pub async fn connect(host: &str, network: &str) -> Result<DockerEngine, SchedulerError> {
        let docker = Docker::connect_with_host(host).map_err(engine_err)?;
        let docker = docker.negotiate_version().await.map_err(|err| {
            SchedulerError::Engine(format!("cannot reach the Docker engine at {host}: {err}"))
        })?;
        let logging_driver = docker
            .info()
            .await
            .map_err(engine_err)?
            .logging_driver
            .unwrap_or_default();
        let engine = DockerEngine {
            docker,
            network: network.to_string(),
            logging_driver,
        };
        engine.ensure_network().await?;
        Ok(engine)
    }

    async fn ensure_network(&self) -> Result<(), SchedulerError> {
        match self.docker.inspect_network(&self.network, None).await {
            Ok(_) => return Ok(()),
            Err(err) if is_not_found(&err) => {}
            Err(err) => {
                // Two of the name, made by daemons starting at once: keep one, then look again.
                self.keep_one_network().await?;
                self.docker
                    .inspect_network(&self.network, None)
                    .await
                    .map_err(|_| engine_err(err))?;
                return Ok(());
            }
        }
        let request = NetworkCreateRequest {
            name: self.network.clone(),
            driver: Some("bridge".to_string()),
            labels: Some([("berth.network".to_string(), "true".to_string())].into()),
            ..Default::default()
        };
        match self.docker.create_network(request).await {
            Ok(_) => {}
            // Another daemon (a test running beside us) may have created it in the meantime.
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 409, ..
            }) => {}
            Err(err) => return Err(engine_err(err)),
        }
        self.keep_one_network().await
    }

    /// Engines before API 1.44 let two daemons starting at once each create a network of the
    /// name (then every container create fails: the name is ambiguous). Every daemon keeps the
    /// same one, the smallest id, and removes the others, which no container uses yet.
    async fn keep_one_network(&self) -> Result<(), SchedulerError> {
        let options = bollard::query_parameters::ListNetworksOptions {
            filters: Some([("name".to_string(), vec![self.network.clone()])].into()),
        };
        let mut ids: Vec<String> = self
            .docker
            .list_networks(Some(options))
            .await
            .map_err(engine_err)?
            .into_iter()
            .filter(|network| network.name.as_deref() == Some(self.network.as_str()))
            .filter_map(|network| network.id)
            .collect();
        ids.sort();
        for id in ids.iter().skip(1) {
            if let Err(err) = self.docker.remove_network(id).await {
                tracing::debug!(network = %id, error = %err, "duplicate network already gone");
            }
        }
        Ok(())
    }
}
