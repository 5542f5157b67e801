//! `ImageBuilder` for Docker: the classic builder, fed a tar stream, its output streamed back.

use std::collections::HashMap;

use async_trait::async_trait;
use bollard::query_parameters::{
    BuildImageOptionsBuilder, ListImagesOptionsBuilder, RemoveImageOptionsBuilder,
};
use futures_util::StreamExt;

use super::{engine_err, DockerEngine};
use crate::options::{BuildLimits, CPU_PERIOD_MICROS};
use crate::scheduler::{
    Assembly, BuildOutput, BuiltImage, ByteStream, CompileJob, Compiled, DockerfileBuild,
    ImageBuilder, Pull, RegistryAuth, SchedulerError, LABEL_APP,
};

#[async_trait]
impl ImageBuilder for DockerEngine {
    async fn build(
        &self,
        job: DockerfileBuild<'_>,
        output: &mut dyn BuildOutput,
    ) -> Result<BuiltImage, SchedulerError> {
        match self.build_once(&job, output).await {
            Err(SchedulerError::BuildFailed(message)) if lost_cached_layer(&message) => {
                output
                    .line("       A cached layer was deleted during the build (another image's removal); building again")
                    .await;
                self.build_once(&job, output).await
            }
            built => built,
        }
    }

    async fn load_images(
        &self,
        tar: ByteStream,
        output: &mut dyn BuildOutput,
    ) -> Result<Vec<String>, SchedulerError> {
        self.load_saved(tar, output).await
    }

    async fn adopt_image(
        &self,
        image: &str,
        tag: &str,
        pull: Pull,
        auth: Option<&RegistryAuth>,
        output: &mut dyn BuildOutput,
    ) -> Result<BuiltImage, SchedulerError> {
        match pull {
            Pull::IfMissing if self.image_id(image).await?.is_some() => {}
            Pull::IfMissing => self.pull(image, auth, output).await?,
            Pull::Again => match self.pull(image, auth, output).await {
                Err(err) if self.image_id(image).await?.is_some() => {
                    output
                        .line(&format!("{err}; deploying the copy on this server"))
                        .await
                }
                pulled => pulled?,
            },
        }
        self.tag_as(image, tag).await?;
        self.inspect_built(tag).await
    }

    async fn push_image(
        &self,
        image: &str,
        target: &str,
        auth: Option<&RegistryAuth>,
        output: &mut dyn BuildOutput,
    ) -> Result<(), SchedulerError> {
        self.push(image, target, auth, output).await
    }

    async fn image_id(&self, tag: &str) -> Result<Option<String>, SchedulerError> {
        match self.docker.inspect_image(tag).await {
            Ok(image) => Ok(image.id),
            Err(err) if super::is_not_found(&err) => Ok(None),
            Err(err) => Err(engine_err(err)),
        }
    }

    async fn repository_tags(&self, repository: &str) -> Result<Vec<String>, SchedulerError> {
        let filters = [("reference", vec![format!("{repository}:*")])].into();
        let options = ListImagesOptionsBuilder::default()
            .filters(&filters)
            .build();
        let images = self
            .docker
            .list_images(Some(options))
            .await
            .map_err(engine_err)?;
        let prefix = format!("{repository}:");
        Ok(images
            .into_iter()
            .flat_map(|image| image.repo_tags)
            .filter(|tag| tag.starts_with(&prefix))
            .collect())
    }

    async fn tag_image(&self, image: &str, tag: &str) -> Result<(), SchedulerError> {
        self.tag_as(image, tag).await
    }

    async fn remove_image(&self, tag: &str) -> Result<(), SchedulerError> {
        let options = RemoveImageOptionsBuilder::default().build();
        match self.docker.remove_image(tag, Some(options), None).await {
            Ok(_) => Ok(()),
            Err(err) if super::is_not_found(&err) => Ok(()),
            Err(err) => Err(engine_err(err)),
        }
    }

    async fn remove_untagged(&self, id: &str) -> Result<bool, SchedulerError> {
        let image = match self.docker.inspect_image(id).await {
            Ok(image) => image,
            Err(err) if super::is_not_found(&err) => return Ok(false),
            Err(err) => return Err(engine_err(err)),
        };
        if image.repo_tags.is_some_and(|tags| !tags.is_empty()) {
            return Ok(false);
        }
        self.remove_image(id).await?;
        Ok(true)
    }

    async fn compile(
        &self,
        job: &CompileJob,
        output: &mut dyn BuildOutput,
    ) -> Result<Compiled, SchedulerError> {
        self.compile_job(job, output).await
    }

    async fn assemble(&self, assembly: &Assembly) -> Result<BuiltImage, SchedulerError> {
        self.assemble_image(assembly).await
    }

    async fn remove_volume(&self, name: &str) -> Result<bool, SchedulerError> {
        self.remove_named_volume(name).await
    }
}

/// An error in a build's (or load's) stream: the engine's own message when it gave one.
pub(super) fn stream_err(err: bollard::errors::Error) -> SchedulerError {
    match err {
        bollard::errors::Error::DockerStreamError { error } => SchedulerError::BuildFailed(error),
        bollard::errors::Error::DockerResponseServerError { message, .. } => {
            SchedulerError::BuildFailed(message)
        }
        other => engine_err(other),
    }
}

impl DockerEngine {
    /// One run of the classic builder on `job`, its context streamed from its file.
    async fn build_once(
        &self,
        job: &DockerfileBuild<'_>,
        output: &mut dyn BuildOutput,
    ) -> Result<BuiltImage, SchedulerError> {
        let context = tokio::fs::File::open(job.context).await.map_err(|err| {
            SchedulerError::Engine(format!("cannot read the build context: {err}"))
        })?;
        let context = tokio_util::io::ReaderStream::with_capacity(context, 256 << 10);
        let build_args: HashMap<&str, &str> = job
            .build_args
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let options = BuildImageOptionsBuilder::default()
            .dockerfile(job.dockerfile)
            .t(job.tag)
            .rm(true)
            .forcerm(true)
            .labels(&[(LABEL_APP, job.app.as_str())].into())
            .buildargs(&build_args);
        let options = with_limits(options, job.limits)?.build();
        let mut stream =
            self.docker
                .build_image(options, None, Some(bollard::body_try_stream(context)));
        let mut partial = String::new();
        while let Some(item) = stream.next().await {
            // An error item mid-stream fails the build even though the HTTP call succeeded.
            let info = item.map_err(stream_err)?;
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
        self.inspect_built(job.tag).await
    }

    /// Pulls `image` unless this host has it.
    pub(super) async fn ensure_image(
        &self,
        image: &str,
        output: &mut dyn BuildOutput,
    ) -> Result<(), SchedulerError> {
        if self.image_id(image).await?.is_some() {
            return Ok(());
        }
        self.pull(image, None, output).await
    }

    pub(super) async fn inspect_built(&self, tag: &str) -> Result<BuiltImage, SchedulerError> {
        let inspect = self.docker.inspect_image(tag).await.map_err(engine_err)?;
        let digest = inspect
            .repo_digests
            .as_ref()
            .and_then(|digests| digests.first().cloned());
        let app = inspect
            .config
            .as_ref()
            .and_then(|c| c.labels.as_ref())
            .and_then(|labels| labels.get(LABEL_APP).cloned());
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
            digest,
            app,
        })
    }
}

/// `options::CPU_PERIOD_MICROS` as the build API takes it.
const CPU_PERIOD: i32 = CPU_PERIOD_MICROS as i32;

/// A build's limits as the build API takes them (32-bit numbers; `options` keeps them in range).
fn with_limits(
    mut options: BuildImageOptionsBuilder,
    limits: &BuildLimits,
) -> Result<BuildImageOptionsBuilder, SchedulerError> {
    let narrow = |value: i64, what: &str| {
        i32::try_from(value)
            .map_err(|_| SchedulerError::BuildFailed(format!("the build's {what} is out of range")))
    };
    if let Some(memory) = limits.memory {
        options = options.memory(narrow(memory, "memory limit")?);
    }
    if let Some(quota) = limits.cpu_quota {
        options = options
            .cpuquota(narrow(quota, "CPU quota")?)
            .cpuperiod(CPU_PERIOD);
    }
    if let Some(shares) = limits.cpu_shares {
        options = options.cpushares(narrow(shares, "CPU shares")?);
    }
    if let Some(cpus) = &limits.cpuset_cpus {
        options = options.cpusetcpus(cpus);
    }
    Ok(options)
}

/// Docker's classic builder fails this way when a layer it took from its cache is deleted
/// mid-build, by the removal of another image that shared it (`apps:destroy`, a cleanup).
fn lost_cached_layer(message: &str) -> bool {
    message.contains("unable to find image")
}
