//! Images to and from registries: pulls and pushes, logged in with `registry:login`'s
//! credentials (sent to the engine, which talks to the registry).

use bollard::auth::DockerCredentials;
use bollard::query_parameters::{
    CreateImageOptionsBuilder, PushImageOptionsBuilder, TagImageOptionsBuilder,
};
use futures_util::StreamExt;

use super::{engine_err, DockerEngine};
use crate::scheduler::{BuildOutput, RegistryAuth, SchedulerError};

/// The engine's form of a login.
pub(super) fn credentials(auth: Option<&RegistryAuth>) -> Option<DockerCredentials> {
    auth.map(|auth| DockerCredentials {
        username: Some(auth.user.clone()),
        password: Some(auth.password.clone()),
        serveraddress: Some(auth.server.clone()),
        ..Default::default()
    })
}

/// `repo:tag` of a reference (the tag after the last `:` that follows the last `/`).
fn split_tag(reference: &str) -> (&str, &str) {
    match reference.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => (repo, tag),
        _ => (reference, "latest"),
    }
}

impl DockerEngine {
    /// Pulls `image` from its registry.
    pub(super) async fn pull(
        &self,
        image: &str,
        auth: Option<&RegistryAuth>,
        output: &mut dyn BuildOutput,
    ) -> Result<(), SchedulerError> {
        output.line(&format!("Pulling {image}")).await;
        let options = CreateImageOptionsBuilder::default()
            .from_image(image)
            .build();
        let mut stream = self
            .docker
            .create_image(Some(options), None, credentials(auth));
        while let Some(item) = stream.next().await {
            let info = item.map_err(|err| {
                SchedulerError::BuildFailed(format!("cannot pull {image}: {err}"))
            })?;
            if let Some(detail) = info.error_detail {
                return Err(SchedulerError::BuildFailed(format!(
                    "cannot pull {image}: {}",
                    detail.message.unwrap_or_default()
                )));
            }
        }
        Ok(())
    }

    /// Names the image `image` names also `tag` (`repo:tag`).
    pub(super) async fn tag_as(&self, image: &str, tag: &str) -> Result<(), SchedulerError> {
        let (repo, version) = split_tag(tag);
        let options = TagImageOptionsBuilder::default()
            .repo(repo)
            .tag(version)
            .build();
        self.docker
            .tag_image(image, Some(options))
            .await
            .map_err(engine_err)
    }

    /// Tags `image` as `target` and pushes it there; the tag goes again afterwards (whatever
    /// pushed or not), so it never keeps an image the app's pruning removed alive.
    pub(super) async fn push(
        &self,
        image: &str,
        target: &str,
        auth: Option<&RegistryAuth>,
        output: &mut dyn BuildOutput,
    ) -> Result<(), SchedulerError> {
        self.tag_as(image, target).await?;
        let (repo, tag) = split_tag(target);
        let options = PushImageOptionsBuilder::default().tag(tag).build();
        let mut stream = self
            .docker
            .push_image(repo, Some(options), credentials(auth));
        let mut pushed = Ok(());
        while let Some(item) = stream.next().await {
            match item {
                Err(err) => {
                    pushed = Err(SchedulerError::BuildFailed(format!(
                        "cannot push {target}: {err}"
                    )));
                    break;
                }
                // The registry's digest of what it now holds (`3: digest: sha256:… size: 527`).
                Ok(info) => {
                    if let Some(status) = info.status.filter(|s| s.contains("digest:")) {
                        output.line(&status).await;
                    }
                }
            }
        }
        drop(stream);
        crate::scheduler::ImageBuilder::remove_image(self, target).await?;
        pushed
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn tags_of_references() {
        assert_eq!(
            super::split_tag("127.0.0.1:5000/shop:3"),
            ("127.0.0.1:5000/shop", "3")
        );
        assert_eq!(
            super::split_tag("127.0.0.1:5000/shop"),
            ("127.0.0.1:5000/shop", "latest")
        );
        assert_eq!(super::split_tag("berth/shop:3"), ("berth/shop", "3"));
    }
}
