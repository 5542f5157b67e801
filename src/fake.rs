//! A fake engine behind the `Scheduler` and `ImageBuilder` traits, for unit tests of the deploy
//! pipeline without Docker: images and instances are records in memory. Every web instance
//! answers HTTP on one local server, the port every image EXPOSEs, except the instances of a
//! release told to crash, which have exited by the time anyone looks and answer nowhere.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::context::Ctx;
use crate::names::{AppName, NetworkName};
use crate::scheduler::{
    Assembly, BuildOutput, BuiltImage, ByteStream, CompileJob, Compiled, DockerfileBuild,
    ImageBuilder, Instance, InstanceSpec, InstanceStatus, InstanceStream, LogStream, NetworkInfo,
    OneOff, Pull, RegistryAuth, Scheduler, SchedulerError, Stdin, Stdout,
};

/// Where a crashed instance "listens": a loopback address nothing serves on.
const NOWHERE: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));

pub struct FakeEngine {
    /// The port the local server answers on, which every image EXPOSEs.
    pub port: u16,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Every instance started and not retired, in start order.
    instances: Vec<Instance>,
    /// Image tag → id.
    images: BTreeMap<String, String>,
    /// Instances of this release crash at once.
    crashing: Option<u32>,
    /// Whether a crashed instance's address answers anyway (the engine gave it to another
    /// container, which serves there).
    address_reused: bool,
    /// Ids retired, in order.
    retired: Vec<String>,
    serial: u32,
    /// Networks by name, with the ids of the instances on them.
    networks: BTreeMap<String, Vec<String>>,
}

impl FakeEngine {
    /// A fake engine and its HTTP server (on the current runtime).
    pub async fn start() -> Arc<FakeEngine> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut head = [0u8; 1024];
                    let _ = stream.read(&mut head).await;
                    let answer =
                        "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok";
                    let _ = stream.write_all(answer.as_bytes()).await;
                });
            }
        });
        Arc::new(FakeEngine {
            port,
            state: Mutex::default(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Instances of `release` crash as soon as they start (`None`: none do).
    pub fn crash_release(&self, release: Option<u32>) {
        self.lock().crashing = release;
    }

    /// Crashed instances' addresses answer HTTP, as when the engine has given a crashed
    /// container's address to another one.
    pub fn reuse_crashed_addresses(&self) {
        self.lock().address_reused = true;
    }

    /// The instances of `app` not retired (running or crashed), as (dyno, release), in start
    /// order.
    pub fn running(&self, app: &str) -> Vec<(String, u32)> {
        self.lock()
            .instances
            .iter()
            .filter(|i| i.app.as_str() == app)
            .map(|i| (i.dyno(), i.release))
            .collect()
    }

    /// How many instances were retired so far.
    pub fn retired(&self) -> usize {
        self.lock().retired.len()
    }

    fn image(&self, tag: &str) -> BuiltImage {
        let mut state = self.lock();
        state.serial += 1;
        let id = format!("sha256:{:04}", state.serial);
        state.images.insert(tag.to_string(), id);
        BuiltImage {
            tag: tag.to_string(),
            exposed_ports: vec![self.port],
            digest: None,
            app: None,
        }
    }

    fn unsupported<T>(what: &str) -> Result<T, SchedulerError> {
        Err(SchedulerError::Engine(format!(
            "the fake engine has no {what}"
        )))
    }
}

#[async_trait]
impl Scheduler for FakeEngine {
    async fn start(&self, spec: &InstanceSpec) -> Result<Instance, SchedulerError> {
        let mut state = self.lock();
        let wanted = spec
            .networks
            .initial
            .iter()
            .chain(&spec.networks.post_create);
        for network in wanted.clone() {
            if !state.networks.contains_key(network.as_str()) {
                return Err(SchedulerError::Engine(format!(
                    "network {network} not found"
                )));
            }
        }
        state.serial += 1;
        let id = format!("c{:04}", state.serial);
        for network in wanted {
            let on = state.networks.entry(network.to_string()).or_default();
            on.push(id.clone());
        }
        let crashed = state.crashing == Some(spec.release);
        let instance = Instance {
            id,
            app: spec.app.clone(),
            process: spec.process.clone(),
            index: spec.index,
            release: spec.release,
            running: !crashed,
            address: Some(match crashed && !state.address_reused {
                true => NOWHERE,
                false => IpAddr::V4(Ipv4Addr::LOCALHOST),
            }),
            published: None,
        };
        state.instances.push(instance.clone());
        Ok(instance)
    }

    async fn instances(&self, app: Option<&AppName>) -> Result<Vec<Instance>, SchedulerError> {
        Ok(self
            .lock()
            .instances
            .iter()
            .filter(|i| app.is_none_or(|app| &i.app == app))
            .cloned()
            .collect())
    }

    async fn restart(&self, _id: &str, _grace: std::time::Duration) -> Result<(), SchedulerError> {
        Ok(())
    }

    async fn usage(&self, _id: &str) -> Result<crate::scheduler::Usage, SchedulerError> {
        Ok(crate::scheduler::Usage::default())
    }

    fn changes(&self, _since: std::time::SystemTime) -> InstanceStream {
        Box::pin(futures_util::stream::pending())
    }

    async fn is_up_since_start(&self, id: &str) -> Result<bool, SchedulerError> {
        Ok(self
            .lock()
            .instances
            .iter()
            .any(|i| i.id == id && i.running))
    }

    fn log_lines(&self, _id: &str, _tail: Option<usize>, _follow: bool) -> LogStream {
        Box::pin(futures_util::stream::iter([Ok(
            "2026-12-07T00:00:00.000000000Z crashed: no database".to_string(),
        )]))
    }

    async fn status(&self, id: &str) -> Result<InstanceStatus, SchedulerError> {
        let running = self.is_up_since_start(id).await?;
        Ok(InstanceStatus {
            state: if running { "running" } else { "exited" }.to_string(),
            restarts: 0,
            exit_code: (!running).then_some(3),
        })
    }

    async fn inspect(&self, _id: &str) -> Result<serde_json::Value, SchedulerError> {
        Ok(serde_json::json!({}))
    }

    async fn run_once(
        &self,
        _spec: &InstanceSpec,
        _output: &mut dyn BuildOutput,
        _stop: &tokio_util::sync::CancellationToken,
    ) -> Result<i64, SchedulerError> {
        Ok(0)
    }

    async fn run_attached(
        &self,
        _spec: &InstanceSpec,
        _tty: bool,
        _stdin: Stdin<'_>,
        _output: Stdout<'_>,
        _stop: &tokio_util::sync::CancellationToken,
    ) -> Result<i64, SchedulerError> {
        Self::unsupported("attached one-offs")
    }

    async fn run_detached(&self, _spec: &InstanceSpec) -> Result<OneOff, SchedulerError> {
        Self::unsupported("detached one-offs")
    }

    async fn one_offs(&self, _app: &AppName) -> Result<Vec<OneOff>, SchedulerError> {
        Ok(Vec::new())
    }

    async fn exec_attached(
        &self,
        _id: &str,
        _command: &[String],
        _tty: bool,
        _stdin: Stdin<'_>,
        _output: Stdout<'_>,
        _stop: &tokio_util::sync::CancellationToken,
    ) -> Result<i64, SchedulerError> {
        Self::unsupported("exec")
    }

    async fn exec(
        &self,
        _id: &str,
        _command: &[String],
        _limit: Duration,
    ) -> Result<i64, SchedulerError> {
        Self::unsupported("exec")
    }

    async fn retire(&self, id: &str, _grace: Duration) -> Result<(), SchedulerError> {
        let mut state = self.lock();
        state.instances.retain(|i| i.id != id);
        state.retired.push(id.to_string());
        for on in state.networks.values_mut() {
            on.retain(|i| i != id);
        }
        Ok(())
    }

    async fn attach(
        &self,
        id: &str,
        network: &NetworkName,
        _aliases: &[String],
    ) -> Result<(), SchedulerError> {
        match self.lock().networks.get_mut(network.as_str()) {
            Some(on) => {
                on.push(id.to_string());
                Ok(())
            }
            None => Err(SchedulerError::Engine(format!(
                "Network {network} does not exist"
            ))),
        }
    }

    async fn networks(&self) -> Result<Vec<NetworkInfo>, SchedulerError> {
        let state = self.lock();
        Ok(state
            .networks
            .keys()
            .map(|name| network_info(name, &[]))
            .collect())
    }

    async fn network(&self, name: &NetworkName) -> Result<Option<NetworkInfo>, SchedulerError> {
        let state = self.lock();
        Ok(state
            .networks
            .get(name.as_str())
            .map(|on| network_info(name.as_str(), on)))
    }

    async fn create_network(&self, name: &NetworkName) -> Result<(), SchedulerError> {
        self.lock().networks.insert(name.to_string(), Vec::new());
        Ok(())
    }

    async fn remove_network(&self, name: &NetworkName) -> Result<(), SchedulerError> {
        self.lock().networks.remove(name.as_str());
        Ok(())
    }
}

fn network_info(name: &str, containers: &[String]) -> NetworkInfo {
    NetworkInfo {
        name: name.to_string(),
        id: format!("net-{name}"),
        driver: "bridge".into(),
        scope: "local".into(),
        managed: true,
        containers: containers.to_vec(),
    }
}

#[async_trait]
impl ImageBuilder for FakeEngine {
    async fn build(
        &self,
        job: DockerfileBuild<'_>,
        _output: &mut dyn BuildOutput,
    ) -> Result<BuiltImage, SchedulerError> {
        Ok(self.image(job.tag))
    }

    async fn load_images(
        &self,
        _tar: ByteStream,
        _output: &mut dyn BuildOutput,
    ) -> Result<Vec<String>, SchedulerError> {
        Self::unsupported("docker load")
    }

    async fn adopt_image(
        &self,
        _image: &str,
        tag: &str,
        _pull: Pull,
        _auth: Option<&RegistryAuth>,
        _output: &mut dyn BuildOutput,
    ) -> Result<BuiltImage, SchedulerError> {
        Ok(self.image(tag))
    }

    async fn push_image(
        &self,
        _image: &str,
        _target: &str,
        _auth: Option<&RegistryAuth>,
        _output: &mut dyn BuildOutput,
    ) -> Result<(), SchedulerError> {
        Self::unsupported("docker push")
    }

    async fn image_id(&self, tag: &str) -> Result<Option<String>, SchedulerError> {
        Ok(self.lock().images.get(tag).cloned())
    }

    async fn repository_tags(&self, repository: &str) -> Result<Vec<String>, SchedulerError> {
        let prefix = format!("{repository}:");
        Ok(self
            .lock()
            .images
            .keys()
            .filter(|tag| tag.starts_with(&prefix))
            .cloned()
            .collect())
    }

    async fn tag_image(&self, image: &str, tag: &str) -> Result<(), SchedulerError> {
        let mut state = self.lock();
        let id = state.images.get(image).cloned();
        match id {
            Some(id) => {
                state.images.insert(tag.to_string(), id);
                Ok(())
            }
            None => Err(SchedulerError::Engine(format!("no such image: {image}"))),
        }
    }

    async fn remove_image(&self, tag: &str) -> Result<(), SchedulerError> {
        self.lock().images.remove(tag);
        Ok(())
    }

    async fn remove_untagged(&self, _id: &str) -> Result<bool, SchedulerError> {
        Ok(false)
    }

    async fn compile(
        &self,
        _job: &CompileJob,
        _output: &mut dyn BuildOutput,
    ) -> Result<Compiled, SchedulerError> {
        Self::unsupported("buildpack builds")
    }

    async fn assemble(&self, _assembly: &Assembly) -> Result<BuiltImage, SchedulerError> {
        Self::unsupported("buildpack builds")
    }

    async fn remove_volume(&self, _name: &str) -> Result<bool, SchedulerError> {
        Ok(false)
    }
}

/// A context with the fake engine on `dir`, for commands' unit tests.
pub async fn test_ctx(dir: &std::path::Path) -> Arc<Ctx> {
    let config = crate::config::Config {
        data_dir: dir.to_path_buf(),
        ..Default::default()
    };
    Ctx::for_tests(config, FakeEngine::start().await)
}

/// Runs every command line at once, each in its own task (on several threads under a
/// multi-threaded runtime), from the server's CLI; returns their exit statuses in order.
pub async fn at_once(ctx: &Arc<Ctx>, lines: &[String]) -> Vec<i32> {
    let tasks: Vec<_> = lines
        .iter()
        .map(|line| {
            let ctx = ctx.clone();
            let words = shell_words::split(line).expect("a command line");
            tokio::spawn(async move {
                let mut io = crate::io::Io::detached(tokio_util::sync::CancellationToken::new());
                crate::commands::execute(
                    &ctx,
                    &crate::caller::Caller::Local,
                    "local",
                    &words,
                    &mut io,
                )
                .await
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.expect("the command's task"));
    }
    statuses
}
