//! What a deploy-webhook delivery asks for, from its body: Berth's own (`{"repository": URL,
//! "ref": REF}` or `{"image": IMAGE}`), or a forge's push event, told apart by its event header
//! (`X-GitHub-Event: push`, `X-Gitlab-Event: Push Hook`). A push deploys only when it moved the
//! app's deploy branch; a tag, another branch or a deleted branch is acknowledged and ignored.

use serde::Deserialize;

/// The deploy a delivery asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Wanted {
    /// `git:sync --build` of `git_ref` (the remote's default branch when `None`).
    Sync {
        repository: String,
        git_ref: Option<String>,
    },
    /// `git:from-image`.
    Image(String),
    /// Nothing to deploy, and why (a ping, another branch).
    Nothing(String),
}

impl Wanted {
    /// The command line that deploys it, or why there is nothing to deploy.
    pub fn command(&self, app: &str) -> Result<Vec<String>, &str> {
        let words = match self {
            Wanted::Sync {
                repository,
                git_ref,
            } => {
                let mut words = vec!["git:sync", "--build", app, repository];
                words.extend(git_ref.as_deref());
                words
            }
            Wanted::Image(image) => vec!["git:from-image", app, image],
            Wanted::Nothing(why) => return Err(why),
        };
        Ok(words.into_iter().map(String::from).collect())
    }
}

/// The forge event headers of a delivery.
#[derive(Debug, Default)]
pub struct Event<'a> {
    pub github: Option<&'a str>,
    pub gitlab: Option<&'a str>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Own {
    repository: Option<String>,
    #[serde(rename = "ref")]
    git_ref: Option<String>,
    image: Option<String>,
}

#[derive(Deserialize)]
struct GitHubPush {
    #[serde(rename = "ref")]
    git_ref: String,
    #[serde(default)]
    deleted: bool,
    repository: GitHubRepository,
}

#[derive(Deserialize)]
struct GitHubRepository {
    clone_url: String,
}

#[derive(Deserialize)]
struct GitLabPush {
    #[serde(rename = "ref")]
    git_ref: String,
    after: String,
    project: GitLabProject,
}

#[derive(Deserialize)]
struct GitLabProject {
    git_http_url: String,
}

/// What `body` asks for; `deploys(refname)` says whether a pushed ref is the app's deploy
/// branch. `Err` says what is wrong with the body.
pub fn wanted(
    event: &Event<'_>,
    body: &[u8],
    deploys: impl Fn(&str) -> bool,
) -> Result<Wanted, String> {
    let parse_error = |err: serde_json::Error| format!("the body is not what was expected: {err}");
    let (git_ref, repository, deleted) = match (event.github, event.gitlab) {
        (Some("ping"), _) => return Ok(Wanted::Nothing("ping: nothing to deploy".into())),
        (Some("push"), _) => {
            let push: GitHubPush = serde_json::from_slice(body).map_err(parse_error)?;
            (push.git_ref, push.repository.clone_url, push.deleted)
        }
        (None, Some("Push Hook")) => {
            let push: GitLabPush = serde_json::from_slice(body).map_err(parse_error)?;
            let deleted = push.after.bytes().all(|b| b == b'0');
            (push.git_ref, push.project.git_http_url, deleted)
        }
        (Some(other), _) | (None, Some(other)) => {
            return Ok(Wanted::Nothing(format!(
                "{} events deploy nothing; push events do",
                crate::names::shown(other)
            )))
        }
        (None, None) => return own(body),
    };
    if deleted {
        return Ok(Wanted::Nothing(format!("{git_ref} was deleted")));
    }
    if !deploys(&git_ref) {
        return Ok(Wanted::Nothing(format!(
            "{} is not the deploy branch",
            crate::names::shown(&git_ref)
        )));
    }
    let branch = git_ref.trim_start_matches("refs/heads/").to_string();
    Ok(Wanted::Sync {
        repository,
        git_ref: Some(branch),
    })
}

fn own(body: &[u8]) -> Result<Wanted, String> {
    let own: Own = serde_json::from_slice(body).map_err(|err| {
        format!(r#"the body is not {{"repository": URL, "ref": REF}} or {{"image": IMAGE}}: {err}"#)
    })?;
    match own {
        Own {
            image: Some(image),
            repository: None,
            git_ref: None,
        } => Ok(Wanted::Image(image)),
        Own {
            image: None,
            repository: Some(repository),
            git_ref,
        } => Ok(Wanted::Sync {
            repository,
            git_ref,
        }),
        _ => Err(r#"give either "repository" (and "ref") or "image""#.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn main_only(refname: &str) -> bool {
        refname == "refs/heads/main"
    }

    #[test]
    fn berths_own_body() {
        let none = Event::default();
        let sync = wanted(
            &none,
            br#"{"repository":"https://x/y.git","ref":"v2"}"#,
            main_only,
        );
        assert_eq!(
            sync.unwrap().command("shop").unwrap(),
            ["git:sync", "--build", "shop", "https://x/y.git", "v2"]
        );
        let image = wanted(&none, br#"{"image":"ghcr.io/a/b:1"}"#, main_only).unwrap();
        assert_eq!(image, Wanted::Image("ghcr.io/a/b:1".into()));
        for bad in [
            &br#"{"image":"a","repository":"b"}"#[..],
            br#"{"ref":"v1"}"#,
            br#"{"repository":"b","extra":1}"#,
            b"v1",
            b"",
        ] {
            assert!(wanted(&none, bad, main_only).is_err());
        }
    }

    #[test]
    fn forge_pushes_deploy_the_deploy_branch_only() {
        let github = Event {
            github: Some("push"),
            ..Event::default()
        };
        let push = |r: &str, deleted: bool| {
            format!(
                r#"{{"ref":"{r}","deleted":{deleted},"repository":{{"clone_url":"https://github.com/a/b.git"}}}}"#
            )
        };
        let wants = wanted(
            &github,
            push("refs/heads/main", false).as_bytes(),
            main_only,
        );
        assert_eq!(
            wants.unwrap(),
            Wanted::Sync {
                repository: "https://github.com/a/b.git".into(),
                git_ref: Some("main".into())
            }
        );
        for (r, deleted) in [
            ("refs/heads/feature", false),
            ("refs/tags/v1", false),
            ("refs/heads/main", true),
        ] {
            let wants = wanted(&github, push(r, deleted).as_bytes(), main_only).unwrap();
            assert!(matches!(wants, Wanted::Nothing(_)), "{r}");
        }
        let gitlab = Event {
            gitlab: Some("Push Hook"),
            ..Event::default()
        };
        let body = br#"{"ref":"refs/heads/main","after":"0000000000000000000000000000000000000000","project":{"git_http_url":"https://gitlab.com/a/b.git"}}"#;
        assert!(matches!(
            wanted(&gitlab, body, main_only),
            Ok(Wanted::Nothing(_))
        ));
        let ping = Event {
            github: Some("ping"),
            ..Event::default()
        };
        assert!(matches!(
            wanted(&ping, b"{}", main_only),
            Ok(Wanted::Nothing(_))
        ));
    }
}
