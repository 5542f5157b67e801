//! One certificate order against an ACME directory: the account (created once per directory
//! and contact, kept in `<data_dir>/acme/`), http-01 challenges published to the proxy, a fresh
//! P-256 key and its CSR, and the issued chain.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use instant_acme::{
    Account, AccountBuilder, AccountCredentials, AuthorizationStatus, ChallengeType, Identifier,
    NewAccount, NewOrder, Order, OrderStatus, RetryPolicy, RevocationRequest,
};

use crate::proxy::Challenges;

/// How long validation and issuance may take before the order is given up.
const ORDER_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Debug, thiserror::Error)]
pub enum AcmeError {
    #[error("the ACME server {directory} cannot be used: {detail}")]
    Server { directory: String, detail: String },
    #[error("the ACME server refused the order: {0}")]
    Refused(String),
    #[error("validation failed for {domain}: {detail}")]
    Validation { domain: String, detail: String },
    #[error("cannot keep the ACME account in {path}: {detail}")]
    Account { path: PathBuf, detail: String },
    #[error("cannot make a certificate request: {0}")]
    Request(String),
}

/// A certificate chain and its private key, both PEM.
pub struct Issued {
    pub crt: String,
    pub key: String,
}

pub struct Issuer {
    accounts_dir: PathBuf,
    /// A root to trust for the ACME server's HTTPS instead of the system's.
    ca_file: Option<PathBuf>,
    challenges: Arc<Challenges>,
    /// One order at a time, so the renewal loop and a command never race for an app.
    busy: tokio::sync::Mutex<()>,
}

const ACCOUNT_GONE: &str = "urn:ietf:params:acme:error:accountDoesNotExist";

fn refused(err: instant_acme::Error) -> AcmeError {
    AcmeError::Refused(err.to_string())
}

/// Problem types that mean a domain could not be validated (RFC 8555 §6.7).
const VALIDATION_PROBLEMS: [&str; 6] = [
    "connection",
    "dns",
    "incorrectResponse",
    "unauthorized",
    "tls",
    "caa",
];

/// An error about the order: a validation failure when the server's problem is one and names
/// (in a subproblem, or in the URL it fetched) one of `domains`; else a refusal.
fn order_error(err: instant_acme::Error, domains: &[String]) -> AcmeError {
    let instant_acme::Error::Api(problem) = &err else {
        return refused(err);
    };
    let kind = problem.r#type.as_deref().unwrap_or_default();
    let validation = VALIDATION_PROBLEMS
        .iter()
        .any(|v| kind == format!("urn:ietf:params:acme:error:{v}"));
    let detail = problem.detail.clone().unwrap_or_default();
    let named = problem
        .subproblems
        .iter()
        .find_map(|sub| match &sub.identifier {
            Some(Identifier::Dns(domain)) => Some(domain.clone()),
            _ => None,
        })
        .or_else(|| {
            domains
                .iter()
                .find(|d| {
                    [':', '/', '"']
                        .iter()
                        .any(|end| detail.contains(&format!("://{d}{end}")))
                })
                .cloned()
        });
    match (validation, named) {
        (true, Some(domain)) => AcmeError::Validation { domain, detail },
        _ => refused(err),
    }
}

/// Removes the challenge answers an order published, however the order ends.
struct Published<'a> {
    challenges: &'a Challenges,
    tokens: Vec<String>,
}

impl Published<'_> {
    /// Serves the http-01 answer of every authorization not yet valid and tells the server
    /// to validate it.
    async fn answer_all(&mut self, order: &mut Order, domains: &[String]) -> Result<(), AcmeError> {
        let failed = |err| order_error(err, domains);
        let mut authorizations = order.authorizations();
        while let Some(authorization) = authorizations.next().await {
            let mut authorization = authorization.map_err(failed)?;
            if authorization.status == AuthorizationStatus::Valid {
                continue;
            }
            let domain = authorization.identifier().to_string();
            let mut challenge =
                authorization
                    .challenge(ChallengeType::Http01)
                    .ok_or_else(|| {
                        AcmeError::Refused(format!("no http-01 challenge offered for {domain}"))
                    })?;
            let answer = challenge.key_authorization();
            self.challenges.insert(&challenge.token, answer.as_str());
            self.tokens.push(challenge.token.clone());
            challenge.set_ready().await.map_err(failed)?;
        }
        Ok(())
    }
}

impl Drop for Published<'_> {
    fn drop(&mut self) {
        for token in &self.tokens {
            self.challenges.remove(token);
        }
    }
}

impl Issuer {
    pub fn new(
        accounts_dir: PathBuf,
        ca_file: Option<PathBuf>,
        challenges: Arc<Challenges>,
    ) -> Self {
        Issuer {
            accounts_dir,
            ca_file,
            challenges,
            busy: tokio::sync::Mutex::new(()),
        }
    }

    /// Orders a certificate for `domains` (DNS names, no wildcards) from `directory`.
    pub async fn issue(
        &self,
        directory: &str,
        email: Option<&str>,
        domains: &[String],
    ) -> Result<Issued, AcmeError> {
        let _one = self.busy.lock().await;
        let account = self.account(directory, email).await?;
        let identifiers: Vec<Identifier> = domains.iter().cloned().map(Identifier::Dns).collect();
        let new_order = NewOrder::new(&identifiers);
        let mut order = match account.new_order(&new_order).await {
            // The server forgot the stored account (a test server restarted, an account
            // deactivated elsewhere): make a new one, once.
            Err(instant_acme::Error::Api(problem))
                if problem.r#type.as_deref() == Some(ACCOUNT_GONE) =>
            {
                let _ = std::fs::remove_file(self.account_path(directory, email));
                let account = self.account(directory, email).await?;
                account.new_order(&new_order).await.map_err(refused)?
            }
            other => other.map_err(refused)?,
        };
        let mut published = Published {
            challenges: &self.challenges,
            tokens: Vec::new(),
        };
        // A challenge that fails at once can end the order while the others are being set up
        // (the server then refuses those): the failed challenge says why.
        if let Err(err) = published.answer_all(&mut order, domains).await {
            return Err(why_invalid(&mut order).await.unwrap_or(err));
        }
        let retries = RetryPolicy::new().timeout(ORDER_TIMEOUT);
        let status = match order.poll_ready(&retries).await {
            Ok(status) => status,
            Err(err) => {
                return Err(why_invalid(&mut order)
                    .await
                    .unwrap_or_else(|| order_error(err, domains)))
            }
        };
        if status != OrderStatus::Ready {
            return Err(why_invalid(&mut order)
                .await
                .unwrap_or_else(|| AcmeError::Refused(format!("the order ended {status:?}"))));
        }
        drop(published);
        let (key, csr) = request(domains)?;
        order.finalize_csr(&csr).await.map_err(refused)?;
        let crt = order.poll_certificate(&retries).await.map_err(refused)?;
        Ok(Issued { crt, key })
    }

    /// Revokes the first certificate of `crt` (a PEM chain this directory issued) with the
    /// account of this directory and contact.
    pub async fn revoke(
        &self,
        directory: &str,
        email: Option<&str>,
        crt: &[u8],
    ) -> Result<(), AcmeError> {
        use rustls::pki_types::pem::PemObject;
        let certificate = rustls::pki_types::CertificateDer::pem_slice_iter(crt)
            .next()
            .and_then(Result::ok)
            .ok_or_else(|| AcmeError::Request("the certificate does not parse".into()))?;
        let _one = self.busy.lock().await;
        let account = self.account(directory, email).await?;
        let request = RevocationRequest {
            certificate: &certificate,
            reason: None,
        };
        account.revoke(&request).await.map_err(refused)
    }

    /// The stored account for this directory and contact, or a new one (stored at once).
    async fn account(&self, directory: &str, email: Option<&str>) -> Result<Account, AcmeError> {
        let path = self.account_path(directory, email);
        let unusable = |err: instant_acme::Error| AcmeError::Server {
            directory: directory.to_string(),
            detail: err.to_string(),
        };
        if let Ok(stored) = std::fs::read(&path) {
            if let Ok(credentials) = serde_json::from_slice::<AccountCredentials>(&stored) {
                return self
                    .builder(directory)?
                    .from_credentials(credentials)
                    .await
                    .map_err(unusable);
            }
        }
        let contact = email.map(|email| format!("mailto:{email}"));
        let contacts: Vec<&str> = contact.iter().map(String::as_str).collect();
        let (account, credentials) = self
            .builder(directory)?
            .create(
                &NewAccount {
                    contact: &contacts,
                    terms_of_service_agreed: true,
                    only_return_existing: false,
                },
                directory.to_string(),
                None,
            )
            .await
            .map_err(unusable)?;
        let keep = |detail: String| AcmeError::Account {
            path: path.clone(),
            detail,
        };
        let json = serde_json::to_vec(&credentials).map_err(|err| keep(err.to_string()))?;
        std::fs::create_dir_all(&self.accounts_dir).map_err(|err| keep(err.to_string()))?;
        crate::state::write_atomic(&path, &json, 0o600).map_err(|err| keep(err.to_string()))?;
        Ok(account)
    }

    fn builder(&self, directory: &str) -> Result<AccountBuilder, AcmeError> {
        let built = match &self.ca_file {
            Some(root) => Account::builder_with_root(root),
            None => Account::builder(),
        };
        built.map_err(|err| AcmeError::Server {
            directory: directory.to_string(),
            detail: err.to_string(),
        })
    }

    fn account_path(&self, directory: &str, email: Option<&str>) -> PathBuf {
        let seed = format!("{directory}\n{}", email.unwrap_or(""));
        let digest = ring::digest::digest(&ring::digest::SHA256, seed.as_bytes());
        let name: String = digest.as_ref()[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        self.accounts_dir.join(format!("account-{name}.json"))
    }
}

/// Why an order did not become ready: the first failed challenge's problem, if one failed
/// (authorizations the server will not show are passed over).
async fn why_invalid(order: &mut Order) -> Option<AcmeError> {
    let mut authorizations = order.authorizations();
    while let Some(authorization) = authorizations.next().await {
        let Ok(authorization) = authorization else {
            continue;
        };
        let problem = authorization
            .challenges
            .iter()
            .find_map(|challenge| challenge.error.as_ref());
        if let Some(problem) = problem {
            return Some(AcmeError::Validation {
                domain: authorization.identifier().to_string(),
                detail: problem
                    .detail
                    .clone()
                    .unwrap_or_else(|| problem.to_string()),
            });
        }
    }
    None
}

/// A new P-256 key (PEM) and a certificate request (DER) for `domains`.
fn request(domains: &[String]) -> Result<(String, Vec<u8>), AcmeError> {
    let failed = |err: rcgen::Error| AcmeError::Request(err.to_string());
    let key = rcgen::KeyPair::generate().map_err(failed)?;
    let mut params = rcgen::CertificateParams::new(domains.to_vec()).map_err(failed)?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    let csr = params.serialize_request(&key).map_err(failed)?;
    Ok((key.serialize_pem(), csr.der().to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(json: &str) -> instant_acme::Error {
        instant_acme::Error::Api(serde_json::from_str(json).unwrap())
    }

    #[test]
    fn a_validation_problem_names_the_domain_it_fetched() {
        let domains = [
            "shop.example.test".to_string(),
            "bad.shop.example.test".to_string(),
        ];
        let fetched = problem(
            r#"{"type": "urn:ietf:params:acme:error:connection", "status": 400,
                "detail": "Get \"http://bad.shop.example.test:40689/.well-known/acme-challenge/x\": connection refused"}"#,
        );
        match order_error(fetched, &domains) {
            AcmeError::Validation { domain, .. } => assert_eq!(domain, "bad.shop.example.test"),
            other => panic!("{other}"),
        }
        let sub = problem(
            r#"{"type": "urn:ietf:params:acme:error:dns", "detail": "DNS problem",
                "subproblems": [{"type": "urn:ietf:params:acme:error:dns",
                                 "identifier": {"type": "dns", "value": "shop.example.test"}}]}"#,
        );
        assert!(matches!(
            order_error(sub, &domains),
            AcmeError::Validation { domain, .. } if domain == "shop.example.test"
        ));
        let limit =
            problem(r#"{"type": "urn:ietf:params:acme:error:rateLimited", "detail": "slow down"}"#);
        assert!(matches!(
            order_error(limit, &domains),
            AcmeError::Refused(_)
        ));
    }
}
