//! Service containers and networks (the postgres and redis plugins') a test made.

use std::process::Command;

use super::unique;

/// Service containers and networks a test made, removed when it ends (declared before the
/// `Berth`, so after it).
#[derive(Default)]
pub struct Services(std::sync::Mutex<Vec<(&'static str, String)>>);

impl Services {
    pub fn name(&self, kind: &'static str) -> String {
        let name = unique("svc");
        self.0.lock().unwrap().push((kind, name.clone()));
        name
    }
}

impl Services {
    /// Removes every service container and network made so far (as a fresh host lacks them).
    pub fn remove_all(&self) {
        for (kind, name) in self.0.lock().unwrap().iter() {
            let container = format!("berth.{kind}.{name}");
            let _ = Command::new("docker")
                .args(["rm", "-f", &container])
                .output();
            let network = format!("berth-{kind}-{name}");
            let _ = Command::new("docker")
                .args(["network", "rm", &network])
                .output();
        }
    }
}

impl Drop for Services {
    fn drop(&mut self) {
        self.remove_all();
    }
}

/// Docker networks a test made, removed when it ends (after the daemon and its containers,
/// being declared before the `Berth`).
pub struct Networks(pub Vec<String>);

impl Networks {
    pub fn new(count: usize) -> Networks {
        Networks((0..count).map(|_| unique("net")).collect())
    }
}

impl Drop for Networks {
    fn drop(&mut self) {
        for name in &self.0 {
            let _ = Command::new("docker")
                .args(["network", "rm", name])
                .output();
        }
    }
}
