//! `ps:report [<app>] [--format stdout|json]`: what runs, per instance, Dokku's report shape.

use super::argv::Argv;
use super::output::{report, row_key};
use super::{CommandError, Io};
use crate::context::Ctx;
use crate::names::AppName;
use crate::scheduler::{Instance, SchedulerKind};
use crate::state::AppRecord;

#[derive(Debug)]
pub struct Args {
    pub app: Option<AppName>,
    pub json: bool,
}

impl Args {
    pub fn parse(words: &[String]) -> Result<Args, CommandError> {
        let mut argv = Argv::new("ps:report", words);
        let json = argv.json_format("stdout")?;
        let app = argv.optional()?.map(|a| AppName::parse(&a)).transpose()?;
        argv.finish()?;
        Ok(Args { app, json })
    }
}

/// Dokku's `Running` of an app: whether all its instances run (`true`), some (`mixed`) or none
/// (`false`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Running {
    All,
    Some,
    None,
}

impl Running {
    fn as_str(self) -> &'static str {
        match self {
            Running::All => "true",
            Running::Some => "mixed",
            Running::None => "false",
        }
    }
}

/// How many of the app's instances count, and how many of those run. Instances waiting to
/// retire after a deploy or a scale down do not count: they no longer take requests.
pub fn running(ctx: &Ctx, instances: &[Instance]) -> (usize, Running) {
    let current: Vec<bool> = instances
        .iter()
        .filter(|i| !ctx.retiring.contains(&i.id))
        .map(|i| i.running)
        .collect();
    let running = match (current.iter().any(|r| *r), current.iter().all(|r| *r)) {
        (true, true) => Running::All,
        (true, false) => Running::Some,
        (false, _) => Running::None,
    };
    (current.len(), running)
}

/// The instances but the stopped ones a running one of the same process, number and release
/// replaced (the containers the swarm keeps of tasks it replaced), keeping one stopped
/// container per number at most; instances waiting to retire all stay.
fn without_replaced(instances: Vec<Instance>, retiring: impl Fn(&str) -> bool) -> Vec<Instance> {
    let slot = |i: &Instance| (i.process.clone(), i.index, i.release);
    let running: std::collections::BTreeSet<_> =
        instances.iter().filter(|i| i.running).map(slot).collect();
    let mut stopped_seen = std::collections::BTreeSet::new();
    instances
        .into_iter()
        .filter(|i| {
            i.running
                || retiring(&i.id)
                || (!running.contains(&slot(i)) && stopped_seen.insert(slot(i)))
        })
        .collect()
}

async fn rows(ctx: &Ctx, record: &AppRecord) -> Result<Vec<(String, String)>, CommandError> {
    let mut instances = ctx
        .scheduler
        .instances(Some(&record.name))
        .await
        .map_err(|err| CommandError::Internal(err.to_string()))?;
    instances
        .sort_by(|a, b| (&a.process, a.index, a.release).cmp(&(&b.process, b.index, b.release)));
    let instances = without_replaced(instances, |id| ctx.retiring.contains(id));
    let (current, running) = running(ctx, &instances);
    let scheduler = super::scheduler::selected(ctx, &record.name);
    let mut rows = vec![
        (
            "Deployed".to_string(),
            record.current_release.is_some().to_string(),
        ),
        ("Processes".to_string(), current.to_string()),
        ("Running".to_string(), running.as_str().to_string()),
        (
            "Restore".to_string(),
            (!record.stopped && !record.restore_disabled).to_string(),
        ),
        (
            "Restart policy".to_string(),
            record
                .restart_policy
                .clone()
                .unwrap_or_else(|| "on-failure:10".into()),
        ),
        (
            "Stop timeout seconds".to_string(),
            ctx.stop_timeout(record).as_secs().to_string(),
        ),
        ("Scheduler".to_string(), scheduler.as_str().to_string()),
        (
            "Procfile path".to_string(),
            record
                .procfile_path
                .clone()
                .unwrap_or_else(|| "Procfile".into()),
        ),
    ];
    for instance in &instances {
        let status = ctx
            .scheduler
            .status(&instance.id)
            .await
            .map_err(|err| CommandError::Internal(err.to_string()))?;
        let cid: String = instance.id.chars().take(11).collect();
        let mut value = format!("{} (CID: {cid}, v{})", status.state, instance.release);
        if status.restarts > 0 {
            value.push_str(&format!(", restarted {} times", status.restarts));
        }
        if ctx.retiring.contains(&instance.id) {
            value.push_str(", retiring");
        }
        rows.push((
            format!("Status {} {}", instance.process, instance.index),
            value,
        ));
    }
    // A Swarm app's services: live against desired tasks, and where each task is (only asked
    // of the engine for apps on the swarm: a report of every app asks once per app).
    let services = match scheduler == SchedulerKind::DockerSwarm {
        true => ctx
            .scheduler
            .services(&record.name)
            .await
            .map_err(|err| CommandError::Internal(err.to_string()))?,
        false => Vec::new(),
    };
    for service in services {
        let live = service
            .tasks
            .iter()
            .filter(|t| t.state == "running")
            .count();
        rows.push((
            format!("Swarm {} v{}", service.process, service.release),
            format!("{live}/{} running ({})", service.desired, service.name),
        ));
        if let Some(update) = service.update {
            rows.push((
                format!("Swarm {} v{} update", service.process, service.release),
                update,
            ));
        }
        for task in service.tasks {
            let mut value = format!("{} on {}", task.state, task.node);
            if let Some(error) = task.error {
                value.push_str(&format!(": {error}"));
            }
            if let Some(replaced) = task.replaced {
                value.push_str(&format!(" (replaced a task {replaced})"));
            }
            rows.push((
                format!(
                    "Swarm task {} {} v{}",
                    service.process, task.slot, service.release
                ),
                value,
            ));
        }
    }
    // Liveness (app.json's "type": "liveness" checks), for the instances the loop checked.
    for health in ctx.health.of(&record.name) {
        let mut value = match health.healthy {
            true => "healthy".to_string(),
            false => "unhealthy (out of rotation)".to_string(),
        };
        if let Some((at, reason)) = &health.last_failure {
            value.push_str(&format!(
                "; last failure {}: {reason}",
                super::output::utc(*at)
            ));
        }
        let (process, index) = health.dyno.split_once('.').unwrap_or((&health.dyno, ""));
        rows.push((format!("Health {process} {index}"), value));
    }
    Ok(rows)
}

pub async fn run(ctx: &Ctx, io: &mut Io, args: Args) -> Result<(), CommandError> {
    let records = match &args.app {
        Some(app) => vec![ctx.store.app(app)?],
        None => ctx.store.apps(),
    };
    let mut json = serde_json::Map::new();
    for record in records {
        let rows = rows(ctx, &record).await?;
        if args.json {
            let fields: serde_json::Map<String, serde_json::Value> = rows
                .into_iter()
                .map(|(label, value)| (row_key(&label), value.into()))
                .collect();
            json.insert(record.name.to_string(), fields.into());
        } else {
            let rows: Vec<(&str, String)> =
                rows.iter().map(|(l, v)| (l.as_str(), v.clone())).collect();
            report(io, &format!("{} ps information", record.name), &rows).await?;
        }
    }
    if args.json {
        let value = match &args.app {
            Some(app) => json.remove(app.as_str()).unwrap_or_default(),
            None => json.into(),
        };
        io.line(&value.to_string()).await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance(id: &str, index: u32, release: u32, running: bool) -> Instance {
        Instance {
            id: id.into(),
            app: AppName::parse("shop").unwrap(),
            process: "web".into(),
            index,
            release,
            running,
            address: None,
            published: None,
        }
    }

    #[test]
    fn a_replaced_task_is_not_reported_beside_its_replacement() {
        let listed = vec![
            instance("dead", 1, 3, false),
            instance("older", 1, 3, false),
            instance("new", 1, 3, true),
            instance("crashed", 2, 3, false),
            instance("history", 2, 3, false),
            instance("draining", 1, 3, false),
        ];
        let ids: Vec<String> = without_replaced(listed, |id| id == "draining")
            .into_iter()
            .map(|i| i.id)
            .collect();
        assert_eq!(ids, ["new", "crashed", "draining"]);
    }
}
