//! Docker networks apps join (`network:*`): made with Berth's label, listed, inspected with
//! their containers, removed after every container is disconnected; and connecting an instance
//! to one with its names (`scheduler::aliases`).

use std::collections::HashMap;

use bollard::models::{
    EndpointSettings, NetworkConnectRequest, NetworkCreateRequest, NetworkDisconnectRequest,
};

use super::{engine_err, is_not_found, DockerEngine};
use crate::names::NetworkName;
use crate::scheduler::{NetworkInfo, SchedulerError, LABEL_NETWORK};

fn info(
    name: Option<String>,
    id: Option<String>,
    driver: Option<String>,
    scope: Option<String>,
    labels: Option<&HashMap<String, String>>,
) -> NetworkInfo {
    NetworkInfo {
        name: name.unwrap_or_default(),
        id: id.unwrap_or_default(),
        driver: driver.unwrap_or_default(),
        scope: scope.unwrap_or_default(),
        managed: labels.is_some_and(|l| l.contains_key(LABEL_NETWORK)),
        containers: Vec::new(),
    }
}

impl DockerEngine {
    pub(super) async fn attach_to(
        &self,
        id: &str,
        network: &NetworkName,
        aliases: &[String],
    ) -> Result<(), SchedulerError> {
        let request = NetworkConnectRequest {
            container: id.to_string(),
            endpoint_config: Some(EndpointSettings {
                aliases: (!aliases.is_empty()).then(|| aliases.to_vec()),
                ..Default::default()
            }),
        };
        self.docker
            .connect_network(network.as_str(), request)
            .await
            .map_err(|err| match is_not_found(&err) {
                true => SchedulerError::Engine(format!("Network {network} does not exist")),
                false => engine_err(err),
            })
    }

    pub(super) async fn list_networks(&self) -> Result<Vec<NetworkInfo>, SchedulerError> {
        let networks = self.docker.list_networks(None).await.map_err(engine_err)?;
        let mut infos: Vec<NetworkInfo> = networks
            .into_iter()
            .map(|n| info(n.name, n.id, n.driver, n.scope, n.labels.as_ref()))
            .collect();
        infos.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(infos)
    }

    pub(super) async fn inspect_network(
        &self,
        name: &NetworkName,
    ) -> Result<Option<NetworkInfo>, SchedulerError> {
        let inspect = match self.docker.inspect_network(name.as_str(), None).await {
            Ok(inspect) => inspect,
            Err(err) if is_not_found(&err) => return Ok(None),
            Err(err) => return Err(engine_err(err)),
        };
        // Docker matches a network by id prefix too; only the one of this name counts.
        if inspect.name.as_deref() != Some(name.as_str()) {
            return Ok(None);
        }
        let mut network = info(
            inspect.name,
            inspect.id,
            inspect.driver,
            inspect.scope,
            inspect.labels.as_ref(),
        );
        let mut containers: Vec<String> = inspect
            .containers
            .unwrap_or_default()
            .into_iter()
            .map(|(id, endpoint)| endpoint.name.unwrap_or(id))
            .collect();
        containers.sort();
        network.containers = containers;
        Ok(Some(network))
    }

    pub(super) async fn make_network(&self, name: &NetworkName) -> Result<(), SchedulerError> {
        let request = NetworkCreateRequest {
            name: name.to_string(),
            driver: Some("bridge".into()),
            attachable: Some(true),
            labels: Some([(LABEL_NETWORK.to_string(), name.to_string())].into()),
            ..Default::default()
        };
        self.docker
            .create_network(request)
            .await
            .map(|_| ())
            .map_err(engine_err)
    }

    pub(super) async fn delete_network(&self, name: &NetworkName) -> Result<(), SchedulerError> {
        if let Some(network) = self.inspect_network(name).await? {
            for container in network.containers {
                let request = NetworkDisconnectRequest {
                    container,
                    force: Some(true),
                };
                match self.docker.disconnect_network(name.as_str(), request).await {
                    Err(err) if !is_not_found(&err) => return Err(engine_err(err)),
                    _ => {}
                }
            }
        }
        match self.docker.remove_network(name.as_str()).await {
            Err(err) if !is_not_found(&err) => Err(engine_err(err)),
            _ => Ok(()),
        }
    }
}
