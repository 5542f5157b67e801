//! The engine in a swarm while tests need it, and a second engine on this machine that joins
//! it as a worker node (`scripts/swarm-node.sh`) for the tests across nodes.

use std::path::Path;
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

use super::{docker_lines, eventually};

/// Tests using the swarm now, and whether one of them made it.
static SWARM: Mutex<(usize, bool)> = Mutex::new((0, false));

/// The engine in a swarm while a test needs it: `docker swarm init` unless it is in one
/// already, and `docker swarm leave --force` when the last test is done, only if a test made
/// it. Declared before the `Berth`, so it outlives the daemon and its services.
pub struct Swarm;

impl Swarm {
    pub fn join() -> Swarm {
        let mut users = SWARM.lock().unwrap_or_else(|e| e.into_inner());
        let state = docker_lines(&["info", "--format", "{{.Swarm.LocalNodeState}}"]);
        if users.0 == 0 && state.first().map(String::as_str) != Some("active") {
            let init = Command::new("docker")
                .args(["swarm", "init", "--advertise-addr", "127.0.0.1"])
                .output()
                .expect("docker swarm init");
            assert!(init.status.success(), "{init:?}");
            users.1 = true;
        }
        users.0 += 1;
        Swarm
    }
}

impl Drop for Swarm {
    fn drop(&mut self) {
        let mut users = SWARM.lock().unwrap_or_else(|e| e.into_inner());
        users.0 -= 1;
        if users.0 == 0 && users.1 {
            let _ = Command::new("docker")
                .args(["swarm", "leave", "--force"])
                .output();
            users.1 = false;
        }
    }
}

/// The config-only network that gives each node's copy of `berth-swarm` its own bridge.
const SWARM_NETWORK_CONFIG: &str = "berth-swarm-node";

/// A worker node: engine `n` of `scripts/swarm-node.sh`, joined to the swarm this engine
/// manages. Dropped, it leaves and its engine stops (declare it after the `Swarm`).
pub struct Worker {
    n: u8,
    /// Its engine's socket.
    pub socket: String,
    /// Its node id in the swarm.
    pub node: String,
}

fn script(args: &[&str]) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/swarm-node.sh");
    let out = Command::new("bash")
        .arg(script)
        .args(args)
        .output()
        .expect("scripts/swarm-node.sh");
    assert!(out.status.success(), "swarm-node.sh {args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

impl Worker {
    pub fn join(n: u8) -> Worker {
        let socket = script(&["up", &n.to_string()]);
        let mut worker = Worker {
            n,
            socket,
            node: String::new(),
        };
        let token = docker_lines(&["swarm", "join-token", "-q", "worker"]);
        let addr = format!("127.0.0.1:237{n}");
        let joined = worker
            .docker()
            .args([
                "swarm",
                "join",
                "--listen-addr",
                &addr,
                "--advertise-addr",
                &addr,
            ])
            .args(["--token", &token[0], "127.0.0.1:2377"])
            .output()
            .expect("docker swarm join");
        assert!(joined.status.success(), "{joined:?}");
        worker.node = worker
            .lines(&["info", "--format", "{{.Swarm.NodeID}}"])
            .concat();
        worker.bridge_per_node();
        worker
    }

    /// Makes Berth's swarm network (`berth-swarm`) give each node a bridge of its own. The
    /// two engines share this machine's kernel, where a swarm-scoped bridge network is one
    /// bridge (`br-<id>`) for both: the worker leaving would delete the manager's. Separate
    /// machines need none of this. Per node, a config-only network names the bridge and its
    /// subnet; the swarm network takes its configuration from it.
    fn bridge_per_node(&self) {
        let config = |mut docker: Command, n: u8| {
            // Left by a run that stopped before its clean-up.
            let _ = Command::new(docker.get_program())
                .args(docker.get_args())
                .args(["network", "rm", SWARM_NETWORK_CONFIG])
                .output();
            let out = docker
                .args(["network", "create", "--config-only"])
                .args(["--subnet", &format!("10.252.{n}.0/24")])
                .args([
                    "--opt",
                    &format!("com.docker.network.bridge.name=bswarm{n}"),
                ])
                .arg(SWARM_NETWORK_CONFIG)
                .output()
                .expect("docker network create");
            assert!(out.status.success(), "{out:?}");
        };
        config(Command::new("docker"), 0);
        config(self.docker(), self.n);
        // A swarm left just before (by another test binary) may still hold its own.
        let made = eventually(Duration::from_secs(30), || {
            let _ = Command::new("docker")
                .args(["network", "rm", "berth-swarm"])
                .output();
            Command::new("docker")
                .args([
                    "network", "create", "--scope", "swarm", "--driver", "bridge",
                ])
                .args(["--config-from", SWARM_NETWORK_CONFIG, "berth-swarm"])
                .output()
                .is_ok_and(|out| out.status.success())
        });
        assert!(
            made,
            "cannot make berth-swarm from its per-node configuration"
        );
    }

    /// `docker` talking to this node's engine.
    pub fn docker(&self) -> Command {
        let mut command = Command::new("docker");
        command.args(["-H", &format!("unix://{}", self.socket)]);
        command
    }

    /// Lines `docker` prints for `args` on this node's engine.
    pub fn lines(&self, args: &[&str]) -> Vec<String> {
        let out = self.docker().args(args).output().expect("docker");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// Leaves the swarm and stops, as a node that goes away.
    pub fn leave(&mut self) {
        script(&["down", &self.n.to_string()]);
    }
}

impl Drop for Worker {
    /// Leaves, and the manager forgets the node and the per-node network configuration (the
    /// swarm network goes when the test's swarm does).
    fn drop(&mut self) {
        self.leave();
        let forget: [&[&str]; 2] = [
            &["node", "rm", "--force", &self.node],
            &["network", "rm", "berth-swarm"],
        ];
        for args in forget {
            let _ = Command::new("docker").args(args).output();
        }
        // The swarm network's removal reaches this engine a moment later.
        eventually(Duration::from_secs(10), || {
            let out = Command::new("docker")
                .args(["network", "rm", SWARM_NETWORK_CONFIG])
                .output();
            out.is_ok_and(|out| out.status.success())
        });
    }
}
