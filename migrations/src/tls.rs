//! TLS to Postgres as a libpq connection string asks for it. tokio-postgres understands
//! only `sslmode=disable|prefer|require` and no `sslrootcert`, so those two options are
//! read here and the rest of the string is left to tokio-postgres.
//!
//! | sslmode | encrypted | server certificate checked |
//! | --- | --- | --- |
//! | `disable` (or none) | no | – |
//! | `prefer`, `require` | when offered / always | no (as libpq without a root file) |
//! | `verify-ca` | always | signed by `sslrootcert` |
//! | `verify-full` | always | signed by `sslrootcert` and issued for the host |

use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, DigitallySignedStruct, Error as TlsError, RootCertStore, SignatureScheme,
};
use tokio_postgres::config::SslMode;
use tokio_postgres_rustls::MakeRustlsConnect;

/// A connection string, parsed: what tokio-postgres reads, and the TLS it needs.
pub struct Target {
    pub config: tokio_postgres::Config,
    pub tls: MakeRustlsConnect,
}

impl Target {
    pub fn parse(connection_string: &str) -> Result<Self, String> {
        let (rest, sslmode, root_cert) = take_tls_options(connection_string)?;
        let mut config: tokio_postgres::Config = rest
            .parse()
            .map_err(|e| format!("not a valid connection string: {e}"))?;
        let roots = || -> Result<RootCertStore, String> {
            let path = root_cert
                .as_deref()
                .ok_or("sslmode=verify-ca and verify-full need sslrootcert=<CA file>")?;
            let mut roots = RootCertStore::empty();
            for certificate in CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("reading sslrootcert {path}: {e}"))?
            {
                let certificate =
                    certificate.map_err(|e| format!("reading sslrootcert {path}: {e}"))?;
                roots
                    .add(certificate)
                    .map_err(|e| format!("sslrootcert {path}: {e}"))?;
            }
            Ok(roots)
        };
        let verifier: Arc<dyn ServerCertVerifier> = match sslmode.as_deref() {
            None | Some("disable") => {
                config.ssl_mode(SslMode::Disable);
                Arc::new(AnyCertificate(provider()))
            }
            Some("prefer") => {
                config.ssl_mode(SslMode::Prefer);
                Arc::new(AnyCertificate(provider()))
            }
            Some("require") => {
                config.ssl_mode(SslMode::Require);
                Arc::new(AnyCertificate(provider()))
            }
            Some(mode @ ("verify-ca" | "verify-full")) => {
                config.ssl_mode(SslMode::Require);
                let webpki =
                    WebPkiServerVerifier::builder_with_provider(Arc::new(roots()?), provider())
                        .build()
                        .map_err(|e| format!("sslrootcert: {e}"))?;
                if mode == "verify-ca" {
                    Arc::new(SignedByRoot(webpki))
                } else {
                    webpki
                }
            }
            Some(other) => return Err(format!("sslmode={other} is not a TLS mode Postgres knows")),
        };
        let client = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        Ok(Self {
            config,
            tls: MakeRustlsConnect::new(client),
        })
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The connection string without `sslmode` and `sslrootcert`, and their values. Both
/// forms: `postgres://...?sslmode=...&...` and `host=... sslmode=...`.
fn take_tls_options(text: &str) -> Result<(String, Option<String>, Option<String>), String> {
    let (mut sslmode, mut root_cert) = (None, None);
    let mut take = |key: &str, value: &str| match key {
        "sslmode" => {
            sslmode = Some(value.to_owned());
            true
        }
        "sslrootcert" => {
            root_cert = Some(value.to_owned());
            true
        }
        _ => false,
    };
    let rest = if let Some((base, query)) = text
        .split_once('?')
        .filter(|_| text.starts_with("postgres://") || text.starts_with("postgresql://"))
    {
        let kept: Vec<&str> = query
            .split('&')
            .filter(|pair| {
                let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                !take(key, value)
            })
            .collect();
        if kept.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{}", kept.join("&"))
        }
    } else {
        let mut kept = Vec::new();
        for word in text.split_whitespace() {
            let (key, value) = word.split_once('=').unwrap_or((word, ""));
            if matches!(key, "sslmode" | "sslrootcert") && value.starts_with('\'') {
                return Err(format!("write {key} without quotes"));
            }
            if !take(key, value) {
                kept.push(word);
            }
        }
        kept.join(" ")
    };
    Ok((rest, sslmode, root_cert))
}

/// `require`: encrypted, whoever the server is (libpq's meaning without a root file).
#[derive(Debug)]
struct AnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, TlsError> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca`: the certificate must chain to the root, whatever host it names.
#[derive(Debug)]
struct SignedByRoot(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for SignedByRoot {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, TlsError> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(TlsError::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_options_are_taken_from_both_forms_of_connection_string() {
        let (rest, mode, root) = take_tls_options(
            "postgres://u@db:5432/market?sslmode=verify-full&connect_timeout=5&sslrootcert=/ca.pem",
        )
        .unwrap();
        assert_eq!(rest, "postgres://u@db:5432/market?connect_timeout=5");
        assert_eq!(mode.as_deref(), Some("verify-full"));
        assert_eq!(root.as_deref(), Some("/ca.pem"));
        let (rest, mode, root) =
            take_tls_options("host=db user=u sslmode=require dbname=market").unwrap();
        assert_eq!(rest, "host=db user=u dbname=market");
        assert_eq!(mode.as_deref(), Some("require"));
        assert_eq!(root, None);
    }

    #[test]
    fn a_verifying_mode_without_a_root_file_or_an_unknown_mode_is_refused() {
        let error = |text| Target::parse(text).err().unwrap();
        assert!(error("postgres://u@db/m?sslmode=verify-full").contains("sslrootcert"));
        assert!(error("postgres://u@db/m?sslmode=sometimes").contains("sslmode=sometimes"));
        assert!(Target::parse("postgres://u@db/m?sslmode=disable").is_ok());
    }
}
