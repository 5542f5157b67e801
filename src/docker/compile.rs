//! Builds that run in containers (buildpacks) and images assembled from tars: the Docker side of
//! `ImageBuilder::compile`, `assemble` and `remove_volume`.

use std::path::Path;

use bollard::models::{ContainerConfig, ContainerCreateBody, HostConfig};
use bollard::query_parameters::{
    CommitContainerOptionsBuilder, CreateContainerOptionsBuilder,
    DownloadFromContainerOptionsBuilder, UploadToContainerOptionsBuilder,
};
use futures_util::{StreamExt, TryStreamExt};
use tokio::io::AsyncWriteExt;

use super::{engine_err, is_not_found, DockerEngine};
use crate::options::CPU_PERIOD_MICROS;
use crate::scheduler::{
    split_timestamp, Assembly, BuildOutput, BuiltImage, CompileJob, Compiled, Scheduler,
    SchedulerError, LABEL_APP,
};

/// Marks build and assembly containers, so nothing mistakes them for instances.
const LABEL_BUILD: &str = "berth.build";

/// Removes a build container when its build ends, including when the build's future is dropped
/// (a client hung up): the removal then runs on its own task.
struct Cleanup {
    engine: DockerEngine,
    id: String,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let engine = self.engine.clone();
        let id = std::mem::take(&mut self.id);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let _ = engine.remove_force(&id).await;
            });
        }
    }
}

impl DockerEngine {
    pub(super) async fn compile_job(
        &self,
        job: &CompileJob,
        output: &mut dyn BuildOutput,
    ) -> Result<Compiled, SchedulerError> {
        self.ensure_image(&job.image, output).await?;
        let labels = [
            (LABEL_APP.to_string(), job.app.to_string()),
            (LABEL_BUILD.to_string(), "true".to_string()),
        ];
        let body = ContainerCreateBody {
            image: Some(job.image.clone()),
            cmd: Some(job.command.clone()),
            env: Some(job.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
            labels: Some(labels.into()),
            // Stack images may default to an unprivileged user (Heroku's do); the build needs
            // to write the files it was given.
            user: Some("root".to_string()),
            host_config: Some(HostConfig {
                network_mode: Some(self.network.clone()),
                binds: Some(vec![format!("{}:{}", job.cache_volume, job.cache_path)]),
                memory: job.limits.memory,
                cpu_quota: job.limits.cpu_quota,
                cpu_period: job.limits.cpu_quota.map(|_| CPU_PERIOD_MICROS),
                cpu_shares: job.limits.cpu_shares,
                cpuset_cpus: job.limits.cpuset_cpus.clone(),
                ..Default::default()
            }),
            ..Default::default()
        };
        let cleanup = Cleanup {
            engine: self.clone(),
            id: self.create_plain(body).await?,
        };
        let id = cleanup.id.as_str();
        self.upload(id, &job.files).await?;
        self.docker
            .start_container(id, None)
            .await
            .map_err(engine_err)?;
        let mut lines = self.log_lines(id, None, true);
        while let Some(line) = lines.next().await {
            output.line(split_timestamp(&line?).1).await;
        }
        let status = self.exit_status(id).await?;
        if status == 0 {
            for (path, into) in &job.collect {
                self.download(id, path, into).await?;
            }
        }
        Ok(Compiled { status })
    }

    pub(super) async fn assemble_image(
        &self,
        assembly: &Assembly,
    ) -> Result<BuiltImage, SchedulerError> {
        let labels = [
            (LABEL_APP.to_string(), assembly.app.to_string()),
            (LABEL_BUILD.to_string(), "true".to_string()),
        ];
        let body = ContainerCreateBody {
            image: Some(assembly.base.clone()),
            cmd: Some(vec!["true".to_string()]),
            labels: Some(labels.into()),
            ..Default::default()
        };
        let cleanup = Cleanup {
            engine: self.clone(),
            id: self.create_plain(body).await?,
        };
        for layer in &assembly.layers {
            self.upload(&cleanup.id, layer).await?;
        }
        let (repo, version) = assembly
            .tag
            .rsplit_once(':')
            .unwrap_or((&assembly.tag, "latest"));
        let options = CommitContainerOptionsBuilder::default()
            .container(&cleanup.id)
            .repo(repo)
            .tag(version)
            .changes(&assembly.changes.join("\n"))
            .build();
        self.docker
            .commit_container(options, ContainerConfig::default())
            .await
            .map_err(|err| SchedulerError::BuildFailed(format!("cannot make the image: {err}")))?;
        self.inspect_built(&assembly.tag).await
    }

    pub(super) async fn remove_named_volume(&self, name: &str) -> Result<bool, SchedulerError> {
        match self
            .docker
            .remove_volume(name, None::<bollard::query_parameters::RemoveVolumeOptions>)
            .await
        {
            Ok(()) => Ok(true),
            Err(err) if is_not_found(&err) => Ok(false),
            Err(err) => Err(engine_err(err)),
        }
    }

    async fn create_plain(&self, body: ContainerCreateBody) -> Result<String, SchedulerError> {
        let options = CreateContainerOptionsBuilder::default().build();
        let created = self
            .docker
            .create_container(Some(options), body)
            .await
            .map_err(engine_err)?;
        Ok(created.id)
    }

    /// Unpacks the tar file `tar` at `/` in the container, streamed from the file.
    async fn upload(&self, id: &str, tar: &Path) -> Result<(), SchedulerError> {
        let file = tokio::fs::File::open(tar)
            .await
            .map_err(|err| file_err("read", tar, err))?;
        let body = tokio_util::io::ReaderStream::with_capacity(file, 256 << 10);
        let options = UploadToContainerOptionsBuilder::default().path("/").build();
        self.docker
            .upload_to_container(id, Some(options), bollard::body_try_stream(body))
            .await
            .map_err(engine_err)
    }

    /// Copies the container's `path` out as a tar, streamed into the file `into`.
    async fn download(&self, id: &str, path: &str, into: &Path) -> Result<(), SchedulerError> {
        let options = DownloadFromContainerOptionsBuilder::default()
            .path(path)
            .build();
        let mut file = tokio::fs::File::create(into)
            .await
            .map_err(|err| file_err("write", into, err))?;
        let mut chunks = self.docker.download_from_container(id, Some(options));
        while let Some(chunk) = chunks.try_next().await.map_err(engine_err)? {
            file.write_all(&chunk)
                .await
                .map_err(|err| file_err("write", into, err))?;
        }
        file.flush()
            .await
            .map_err(|err| file_err("write", into, err))
    }
}

fn file_err(what: &str, path: &Path, err: std::io::Error) -> SchedulerError {
    SchedulerError::Engine(format!("cannot {what} {}: {err}", path.display()))
}
