//! `docker load` through the API: images from a `docker save` tar streamed from the client
//! (`git:load-image`), for servers that reach no registry.

use bollard::query_parameters::ImportImageOptionsBuilder;
use futures_util::StreamExt;

use super::build::stream_err;
use super::DockerEngine;
use crate::scheduler::{BuildOutput, ByteStream, SchedulerError};

impl DockerEngine {
    /// Loads every image in the tar, showing the engine's lines; returns the names loaded
    /// (`name:tag`, or `sha256:…` for an image saved by id).
    pub(super) async fn load_saved(
        &self,
        tar: ByteStream,
        output: &mut dyn BuildOutput,
    ) -> Result<Vec<String>, SchedulerError> {
        let options = ImportImageOptionsBuilder::default().quiet(true).build();
        let mut stream = self.docker.import_image_stream(options, tar, None);
        let mut loaded = Vec::new();
        while let Some(item) = stream.next().await {
            let info = item.map_err(stream_err)?;
            if let Some(detail) = info.error_detail {
                return Err(SchedulerError::BuildFailed(
                    detail
                        .message
                        .unwrap_or_else(|| "the image did not load".into()),
                ));
            }
            for line in info.stream.iter().flat_map(|text| text.lines()) {
                let name = line
                    .strip_prefix("Loaded image: ")
                    .or_else(|| line.strip_prefix("Loaded image ID: "));
                if let Some(name) = name {
                    loaded.push(name.trim().to_string());
                }
                if !line.trim().is_empty() {
                    output.line(line.trim_end()).await;
                }
            }
        }
        Ok(loaded)
    }
}
