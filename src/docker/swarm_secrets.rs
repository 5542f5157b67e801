//! An app's secrets on the swarm: each name and value is one Swarm secret
//! (`berth-<digest>`, labelled with the app and the secret's name), shown to the service's
//! tasks at `/run/secrets/<name>`. A changed value is a new secret, which the new release's
//! service uses while the old service keeps its own until it goes; secrets no service uses
//! any more are removed with the last service that did.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use bollard::models::{SecretSpec, TaskSpecContainerSpecFile, TaskSpecContainerSpecSecrets};

use super::{engine_err, is_not_found, DockerEngine};
use crate::scheduler::{InstanceSpec, SchedulerError, LABEL_APP};

/// On Berth's Swarm secrets: the name the app knows the secret by.
const LABEL_SECRET: &str = "berth.secret";

/// The Swarm secret's name for `value` of the app's secret `name`.
fn secret_name(app: &str, name: &str, value: &[u8]) -> String {
    let mut digest = ring::digest::Context::new(&ring::digest::SHA256);
    for part in [app.as_bytes(), name.as_bytes(), value] {
        digest.update(&(part.len() as u64).to_be_bytes());
        digest.update(part);
    }
    let hex: String = digest.finish().as_ref()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("berth-{hex}")
}

impl DockerEngine {
    /// `spec`'s secrets as Swarm secrets, made when missing, for its service's tasks.
    pub(super) async fn swarm_secrets(
        &self,
        spec: &InstanceSpec,
    ) -> Result<Vec<TaskSpecContainerSpecSecrets>, SchedulerError> {
        let mut secrets = Vec::new();
        for secret in &spec.secrets {
            let value = tokio::fs::read(&secret.file).await.map_err(|err| {
                SchedulerError::Engine(format!("cannot read secret {}: {err}", secret.name))
            })?;
            let name = secret_name(spec.app.as_str(), &secret.name, &value);
            let id = match self.docker.inspect_secret(&name).await {
                Ok(found) => found.id.unwrap_or_default(),
                Err(err) if is_not_found(&err) => {
                    let created = SecretSpec {
                        name: Some(name.clone()),
                        labels: Some(
                            [
                                (LABEL_APP.to_string(), spec.app.to_string()),
                                (LABEL_SECRET.to_string(), secret.name.clone()),
                            ]
                            .into(),
                        ),
                        data: Some(STANDARD.encode(&value)),
                        ..Default::default()
                    };
                    self.docker
                        .create_secret(created)
                        .await
                        .map_err(engine_err)?
                        .id
                }
                Err(err) => return Err(engine_err(err)),
            };
            secrets.push(TaskSpecContainerSpecSecrets {
                file: Some(TaskSpecContainerSpecFile {
                    name: Some(secret.name.clone()),
                    uid: Some("0".to_string()),
                    gid: Some("0".to_string()),
                    mode: Some(0o444),
                }),
                secret_id: Some(id),
                secret_name: Some(name),
            });
        }
        Ok(secrets)
    }

    /// Removes the app's Swarm secrets that no service uses (the swarm refuses the others).
    pub(super) async fn prune_secrets(&self, app: &str) {
        let options = bollard::query_parameters::ListSecretsOptions {
            filters: Some([("label".to_string(), vec![format!("{LABEL_APP}={app}")])].into()),
        };
        let secrets = match self.docker.list_secrets(Some(options)).await {
            Ok(secrets) => secrets,
            Err(err) => {
                tracing::warn!(app, error = %err, "could not list the app's Swarm secrets");
                return;
            }
        };
        for id in secrets.into_iter().filter_map(|secret| secret.id) {
            if let Err(err) = self.docker.delete_secret(&id).await {
                tracing::debug!(secret = %id, error = %err, "Swarm secret still in use");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_is_named_by_its_app_name_and_value() {
        let one = secret_name("shop", "token", b"abc");
        assert!(one.starts_with("berth-") && one.len() == 38, "{one}");
        assert_eq!(one, secret_name("shop", "token", b"abc"));
        assert_ne!(one, secret_name("shop", "token", b"abd"));
        assert_ne!(one, secret_name("shop", "tokena", b"bc"));
        assert_ne!(one, secret_name("shopt", "oken", b"abc"));
    }
}
