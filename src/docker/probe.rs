//! What `berth doctor` asks the engine, without changing anything: its version, and whether an
//! image is there.

use bollard::Docker;

/// The engine at `host` and whether it has `image`.
pub struct EngineFacts {
    pub version: String,
    pub api: String,
    pub has_image: bool,
}

/// Asks the engine at `host` its version and looks for `image`; `Err` says why it cannot be
/// reached.
pub async fn probe(host: &str, image: &str) -> Result<EngineFacts, String> {
    let docker = Docker::connect_with_host(host).map_err(|e| e.to_string())?;
    let docker = docker
        .negotiate_version()
        .await
        .map_err(|e| e.to_string())?;
    let version = docker.version().await.map_err(|e| e.to_string())?;
    let has_image = docker.inspect_image(image).await.is_ok();
    Ok(EngineFacts {
        version: version.version.unwrap_or_else(|| "unknown".into()),
        api: version.api_version.unwrap_or_else(|| "unknown".into()),
        has_image,
    })
}
