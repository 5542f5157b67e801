//! `ImageBuilder` for Docker: the classic builder, fed a tar stream, its output streamed back.

use async_trait::async_trait;
use bollard::query_parameters::{
    BuildImageOptionsBuilder, ListImagesOptionsBuilder, RemoveImageOptionsBuilder,
};
use futures_util::StreamExt;

use super::{engine_err, DockerEngine};
use crate::names::AppName;
use crate::scheduler::{BuildOutput, BuiltImage, ImageBuilder, SchedulerError, LABEL_APP};

#[async_trait]
impl ImageBuilder for DockerEngine {
    async fn build(
        &self,
        app: &AppName,
        context: Vec<u8>,
        tag: &str,
        output: &mut dyn BuildOutput,
    ) -> Result<BuiltImage, SchedulerError> {
        let options = BuildImageOptionsBuilder::default()
            .dockerfile("Dockerfile")
            .t(tag)
            .rm(true)
            .forcerm(true)
            .labels(&[(LABEL_APP, app.as_str())].into())
            .build();
        let mut stream =
            self.docker
                .build_image(options, None, Some(bollard::body_full(context.into())));
        let mut partial = String::new();
        while let Some(item) = stream.next().await {
            // An error item mid-stream fails the build even though the HTTP call succeeded.
            let info = item.map_err(|err| match err {
                bollard::errors::Error::DockerStreamError { error } => {
                    SchedulerError::BuildFailed(error)
                }
                bollard::errors::Error::DockerResponseServerError { message, .. } => {
                    SchedulerError::BuildFailed(message)
                }
                other => engine_err(other),
            })?;
            if let Some(detail) = info.error_detail {
                return Err(SchedulerError::BuildFailed(
                    detail.message.unwrap_or_else(|| "build failed".to_string()),
                ));
            }
            if let Some(text) = info.stream {
                partial.push_str(&text);
                while let Some(end) = partial.find('\n') {
                    let line: String = partial.drain(..=end).collect();
                    output.line(line.trim_end()).await;
                }
            }
        }
        if !partial.trim().is_empty() {
            output.line(partial.trim_end()).await;
        }
        let inspect = self.docker.inspect_image(tag).await.map_err(engine_err)?;
        let exposed_ports = inspect
            .config
            .and_then(|c| c.exposed_ports)
            .unwrap_or_default()
            .iter()
            .filter_map(|p| p.strip_suffix("/tcp").and_then(|n| n.parse().ok()))
            .collect();
        Ok(BuiltImage {
            tag: tag.to_string(),
            exposed_ports,
        })
    }

    async fn remove_images(&self, app: &AppName) -> Result<(), SchedulerError> {
        let filters = [("label", vec![format!("{LABEL_APP}={app}")])].into();
        let options = ListImagesOptionsBuilder::default()
            .filters(&filters)
            .build();
        let images = self
            .docker
            .list_images(Some(options))
            .await
            .map_err(engine_err)?;
        for image in images {
            let options = RemoveImageOptionsBuilder::default().force(true).build();
            match self
                .docker
                .remove_image(&image.id, Some(options), None)
                .await
            {
                Ok(_) => {}
                Err(err) if super::is_not_found(&err) => {}
                Err(err) => return Err(engine_err(err)),
            }
        }
        Ok(())
    }
}
