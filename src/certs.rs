//! TLS certificates: checking a PEM certificate chain and key before Berth accepts them,
//! reading what `certs:report` shows, and making self-signed ones (`certs:generate`).

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertError {
    #[error("server.crt holds no PEM certificate")]
    NoCertificate,
    #[error("server.key holds no PEM private key")]
    NoKey,
    #[error("the certificate cannot be read: {0}")]
    BadCertificate(String),
    #[error("the private key cannot be used: {0}")]
    BadKey(String),
    #[error("the private key does not belong to the certificate")]
    Mismatch,
    #[error("cannot make a certificate: {0}")]
    Generate(String),
}

/// What a certificate says, for reports and renewal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    pub subject: String,
    pub issuer: String,
    /// DNS names (subject alternative names, else the common name).
    pub hostnames: Vec<String>,
    /// Unix seconds.
    pub starts_at: i64,
    pub expires_at: i64,
    pub self_signed: bool,
}

/// A certificate chain and key that parse and belong together, ready for rustls.
pub struct Bundle {
    pub key: Arc<CertifiedKey>,
    pub info: CertInfo,
}

/// Parses and checks `crt` (the leaf first, then intermediates) and `key` (PEM).
pub fn load(crt: &[u8], key: &[u8]) -> Result<Bundle, CertError> {
    let chain = CertificateDer::pem_slice_iter(crt)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| CertError::BadCertificate(err.to_string()))?;
    let leaf = chain.first().ok_or(CertError::NoCertificate)?;
    let info = info(leaf)?;
    let key = PrivateKeyDer::from_pem_slice(key).map_err(|err| match err {
        rustls::pki_types::pem::Error::NoItemsFound => CertError::NoKey,
        other => CertError::BadKey(other.to_string()),
    })?;
    let provider = rustls::crypto::ring::default_provider();
    let signing = provider
        .key_provider
        .load_private_key(key)
        .map_err(|err| CertError::BadKey(err.to_string()))?;
    let certified = CertifiedKey::new(chain, signing);
    certified.keys_match().map_err(|_| CertError::Mismatch)?;
    Ok(Bundle {
        key: Arc::new(certified),
        info,
    })
}

fn info(leaf: &CertificateDer<'_>) -> Result<CertInfo, CertError> {
    use x509_parser::prelude::*;
    let (_, cert) = X509Certificate::from_der(leaf.as_ref())
        .map_err(|err| CertError::BadCertificate(err.to_string()))?;
    let mut hostnames: Vec<String> = cert
        .subject_alternative_name()
        .ok()
        .flatten()
        .map(|ext| {
            ext.value
                .general_names
                .iter()
                .filter_map(|name| match name {
                    GeneralName::DNSName(dns) => Some(dns.to_ascii_lowercase()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    if hostnames.is_empty() {
        hostnames.extend(
            cert.subject()
                .iter_common_name()
                .filter_map(|cn| cn.as_str().ok())
                .map(str::to_ascii_lowercase),
        );
    }
    Ok(CertInfo {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        hostnames,
        starts_at: cert.validity().not_before.timestamp(),
        expires_at: cert.validity().not_after.timestamp(),
        self_signed: cert.subject() == cert.issuer(),
    })
}

/// Whether the host's trusted roots vouch for the chain `crt` (leaf first) for its first
/// hostname, as `certs:report` shows it: `verified by a certificate authority`, `self signed`,
/// or `not verified: <why>`. The roots are the system's (`SSL_CERT_FILE` and `SSL_CERT_DIR`
/// override them, as for OpenSSL), read at each call.
pub fn verification(crt: &[u8], info: &CertInfo) -> String {
    let chain = match CertificateDer::pem_slice_iter(crt).collect::<Result<Vec<_>, _>>() {
        Ok(chain) => chain,
        Err(err) => return format!("not verified: {err}"),
    };
    let Some((leaf, intermediates)) = chain.split_first() else {
        return "not verified: no certificate".to_string();
    };
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = match rustls::client::WebPkiServerVerifier::builder_with_provider(
        Arc::new(roots),
        provider,
    )
    .build()
    {
        Ok(verifier) => verifier,
        Err(_) if info.self_signed => return "self signed".to_string(),
        Err(err) => return format!("not verified: {err}"),
    };
    // A wildcard name stands for any one label under it.
    let host = info
        .hostnames
        .first()
        .map(|h| h.replacen("*.", "any.", 1))
        .unwrap_or_default();
    let Ok(name) = rustls::pki_types::ServerName::try_from(host.clone()) else {
        return format!("not verified: {host:?} is not a host name");
    };
    use rustls::client::danger::ServerCertVerifier;
    let now = rustls::pki_types::UnixTime::now();
    match verifier.verify_server_cert(leaf, intermediates, &name, &[], now) {
        Ok(_) => "verified by a certificate authority".to_string(),
        Err(_) if info.self_signed => "self signed".to_string(),
        Err(rustls::Error::InvalidCertificate(why)) => format!("not verified: {}", reason(&why)),
        Err(err) => format!("not verified: {err}"),
    }
}

fn reason(why: &rustls::CertificateError) -> String {
    use rustls::CertificateError as E;
    match why {
        E::UnknownIssuer => "issued by an authority this server does not trust".to_string(),
        E::Expired | E::ExpiredContext { .. } => "expired".to_string(),
        E::NotValidYet | E::NotValidYetContext { .. } => "not valid yet".to_string(),
        E::NotValidForName | E::NotValidForNameContext { .. } => {
            "not valid for its own first host name".to_string()
        }
        E::Revoked => "revoked".to_string(),
        other => format!("{other:?}"),
    }
}

/// A self-signed certificate for `hostnames` (the first is the common name), valid a year:
/// (certificate PEM, key PEM).
pub fn self_signed(hostnames: &[String]) -> Result<(String, String), CertError> {
    let generate = |err: rcgen::Error| CertError::Generate(err.to_string());
    let key = rcgen::KeyPair::generate().map_err(generate)?;
    let mut params = rcgen::CertificateParams::new(hostnames.to_vec()).map_err(generate)?;
    let mut name = rcgen::DistinguishedName::new();
    if let Some(first) = hostnames.first() {
        name.push(rcgen::DnType::CommonName, first.clone());
    }
    params.distinguished_name = name;
    let now = std::time::SystemTime::now();
    params.not_before = now.into();
    params.not_after = (now + std::time::Duration::from_secs(365 * 24 * 3600)).into();
    let cert = params.self_signed(&key).map_err(generate)?;
    Ok((cert.pem(), key.serialize_pem()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verification_names_self_signed_and_untrusted_chains() {
        let names = vec!["shop.example".to_string()];
        let (crt, key) = self_signed(&names).unwrap();
        let info = load(crt.as_bytes(), key.as_bytes()).unwrap().info;
        assert_eq!(verification(crt.as_bytes(), &info), "self signed");

        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(rcgen::DnType::CommonName, "Nobody's CA");
        let issuer = rcgen::Issuer::new(ca, ca_key);
        let leaf_key = rcgen::KeyPair::generate().unwrap();
        let leaf = rcgen::CertificateParams::new(vec!["*.shop.example".to_string()])
            .unwrap()
            .signed_by(&leaf_key, &issuer)
            .unwrap();
        let info = load(leaf.pem().as_bytes(), leaf_key.serialize_pem().as_bytes())
            .unwrap()
            .info;
        assert!(!info.self_signed);
        assert_eq!(
            verification(leaf.pem().as_bytes(), &info),
            "not verified: issued by an authority this server does not trust"
        );
    }

    #[test]
    fn a_generated_certificate_loads_and_reports_its_names() {
        let names = vec!["shop.example".to_string(), "*.shop.example".to_string()];
        let (crt, key) = self_signed(&names).unwrap();
        let bundle = load(crt.as_bytes(), key.as_bytes()).unwrap();
        assert_eq!(bundle.info.hostnames, names);
        assert!(bundle.info.self_signed);
        assert!(bundle.info.subject.contains("shop.example"));
        let year = bundle.info.expires_at - bundle.info.starts_at;
        assert!((364 * 86400..=366 * 86400).contains(&year), "{year}");
    }

    #[test]
    fn mismatched_or_missing_parts_are_refused() {
        let (crt, _) = self_signed(&["a.example".to_string()]).unwrap();
        let (_, other_key) = self_signed(&["b.example".to_string()]).unwrap();
        assert_eq!(
            load(crt.as_bytes(), other_key.as_bytes()).err(),
            Some(CertError::Mismatch)
        );
        assert_eq!(
            load(b"", other_key.as_bytes()).err(),
            Some(CertError::NoCertificate)
        );
        assert_eq!(load(crt.as_bytes(), b"").err(), Some(CertError::NoKey));
    }
}
