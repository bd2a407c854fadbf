//! TLS for outgoing connections: SMTP (STARTTLS or implicit TLS), https webhooks and the Lambda
//! Invoke API. rustls with the system's root certificates, or the CA certificates of
//! `tls_ca_file` (a private CA, or a test's); loaded on first use, so a server that never dials
//! out does not read them at start (issue 6: start in milliseconds).

use rustls::ClientConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use std::path::PathBuf;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::OnceCell;

/// A byte stream, plain or encrypted.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

pub struct TlsConnector {
    ca_file: Option<PathBuf>,
    config: OnceCell<Arc<ClientConfig>>,
}

impl TlsConnector {
    pub fn new(ca_file: Option<PathBuf>) -> TlsConnector {
        TlsConnector { ca_file, config: OnceCell::new() }
    }

    async fn config(&self) -> Result<Arc<ClientConfig>, String> {
        self.config
            .get_or_try_init(|| async {
                let mut roots = rustls::RootCertStore::empty();
                let certs: Vec<CertificateDer<'static>> = match &self.ca_file {
                    Some(path) => CertificateDer::pem_file_iter(path)
                        .and_then(Iterator::collect)
                        .map_err(|e| format!("{}: {e}", path.display()))?,
                    None => rustls_native_certs::load_native_certs().certs,
                };
                let (added, _) = roots.add_parsable_certificates(certs);
                if added == 0 {
                    return Err("no trusted CA certificates (set tls_ca_file)".to_string());
                }
                let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
                let config = ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .map_err(|e| e.to_string())?
                    .with_root_certificates(roots)
                    .with_no_client_auth();
                Ok(Arc::new(config))
            })
            .await
            .cloned()
    }

    /// The stream encrypted for `host`, whose certificate must be valid for that name.
    pub async fn wrap(&self, host: &str, stream: Box<dyn Io>) -> Result<Box<dyn Io>, String> {
        let name = ServerName::try_from(host.to_string()).map_err(|e| format!("{host}: {e}"))?;
        let connector = tokio_rustls::TlsConnector::from(self.config().await?);
        let tls = connector.connect(name, stream).await.map_err(|e| format!("TLS with {host}: {e}"))?;
        Ok(Box::new(tls))
    }
}
