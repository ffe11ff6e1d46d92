//! The SMTP relay: one connection per email (no pool to go stale while the relay
//! restarts), protected as `SMTP_URL` says, every wait bounded, and each failure sorted
//! into worth-a-retry or not.
//!
//! Two things keep the crash window (the relay has the email, the outbox does not say
//! so yet) as small as SMTP allows:
//!
//! - The conversation is driven step by step (lettre's connection, not its transport),
//!   so the relay's 250 comes back to the caller *before* QUIT: the caller commits "sent"
//!   first and says goodbye after ([`Accepted::close`]).
//! - The socket is this module's own, with Nagle's algorithm off. lettre writes the
//!   message and its final `.` in two writes; with Nagle on, the kernel holds the `.`
//!   until the relay acknowledges the message, which a relay that delays its ACKs does
//!   after 40 ms. A sender killed in those 40 ms has its kernel deliver the `.` anyway,
//!   so the relay takes the email and the row stays due: measured with MailDev, that
//!   turned a fraction of kills into a second copy.
//!
//! The whole hand-over of one email takes at most [`SEND_LIMIT`]: the outbox row stays
//! locked meanwhile, in a transaction Postgres ends after 60 s idle
//! (`market_mailer`'s `idle_in_transaction_session_timeout`).

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use lettre::Message;
use lettre::transport::smtp::authentication::{Credentials, DEFAULT_MECHANISMS};
use lettre::transport::smtp::client::{
    AsyncSmtpConnection, AsyncTokioStream, Certificate, TlsParameters,
};
use lettre::transport::smtp::extension::ClientId;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::config::{Security, Smtp};
use crate::policy::Failure;

/// The longest one email may take, from connecting to the relay's 250.
pub const SEND_LIMIT: Duration = Duration::from_secs(30);
/// The longest connecting (and the TLS handshake of `smtps://`) may take.
const CONNECT_LIMIT: Duration = Duration::from_secs(20);
/// The longest saying goodbye may take, once the email is delivered and marked.
const QUIT_LIMIT: Duration = Duration::from_secs(5);

/// SMTP reply codes that speak of the relay or this sender's sign-in, not of the email:
/// a retry may succeed once someone fixes the configuration, so they count as temporary.
const NOT_ABOUT_THE_EMAIL: [&str; 4] = ["530", "534", "535", "538"];

pub struct Relay {
    smtp: Smtp,
    /// TLS for STARTTLS (lettre's).
    starttls: TlsParameters,
    /// TLS from the first byte, for `smtps://`.
    implicit_tls: TlsConnector,
    /// How this sender names itself in EHLO: this machine's host name.
    hello: ClientId,
}

/// An email the relay accepted (answered 250), on the connection still open.
pub struct Accepted {
    connection: AsyncSmtpConnection,
}

impl Accepted {
    /// Ends the conversation politely (QUIT). The email is delivered whatever happens
    /// here, so a failure is of no consequence.
    pub async fn close(mut self) {
        let _ = tokio::time::timeout(QUIT_LIMIT, self.connection.quit()).await;
    }
}

/// Why a hand-over failed: on the way to the relay, or in what it answered.
enum HandOverError {
    Connect(String),
    Smtp(lettre::transport::smtp::Error),
}

impl From<lettre::transport::smtp::Error> for HandOverError {
    fn from(e: lettre::transport::smtp::Error) -> Self {
        HandOverError::Smtp(e)
    }
}

impl Relay {
    /// The relay `smtp` names. Its certificate must chain to Mozilla's roots (compiled
    /// in: no CA bundle needed in the image) or to one of `smtp.ca_pem`'s.
    pub fn new(smtp: &Smtp) -> Result<Relay, String> {
        let extra_roots: Vec<CertificateDer<'static>> = match &smtp.ca_pem {
            None => Vec::new(),
            Some(pem) => CertificateDer::pem_slice_iter(pem)
                .collect::<Result<_, _>>()
                .map_err(|e| format!("SMTP_CA_FILE: not PEM certificates ({e})"))?,
        };
        let mut starttls = TlsParameters::builder(smtp.host.clone());
        for root in &extra_roots {
            let root =
                Certificate::from_der(root.to_vec()).map_err(|e| format!("SMTP_CA_FILE: {e}"))?;
            starttls = starttls.add_root_certificate(root);
        }
        let starttls = starttls
            .build_rustls()
            .map_err(|e| format!("TLS for the relay: {e}"))?;
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        for root in extra_roots {
            roots.add(root).map_err(|e| format!("SMTP_CA_FILE: {e}"))?;
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let implicit_tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS for the relay: {e}"))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Relay {
            smtp: smtp.clone(),
            starttls,
            implicit_tls: TlsConnector::from(Arc::new(implicit_tls)),
            hello: ClientId::default(),
        })
    }

    /// Hands `message` to the relay: `Ok` once the relay answered 250 to its data.
    pub async fn send(&self, message: &Message) -> Result<Accepted, Failure> {
        match tokio::time::timeout(SEND_LIMIT, self.hand_over(message)).await {
            Ok(Ok(connection)) => Ok(Accepted { connection }),
            Ok(Err(HandOverError::Connect(e))) => Err(Failure::Temporary(e)),
            Ok(Err(HandOverError::Smtp(e))) => Err(classify(&e)),
            Err(_) => Err(Failure::Temporary(format!(
                "the relay did not take the email within {} s",
                SEND_LIMIT.as_secs()
            ))),
        }
    }

    /// Connects (TLS as configured), signs in if configured, and sends `message`.
    async fn hand_over(&self, message: &Message) -> Result<AsyncSmtpConnection, HandOverError> {
        let stream = tokio::time::timeout(CONNECT_LIMIT, self.open())
            .await
            .map_err(|_| {
                HandOverError::Connect(format!(
                    "connecting to the relay took over {} s",
                    CONNECT_LIMIT.as_secs()
                ))
            })??;
        let mut connection =
            AsyncSmtpConnection::connect_with_transport(stream, &self.hello).await?;
        let upgrade = match self.smtp.security {
            Security::StartTlsWhenOffered => connection.can_starttls(),
            // Fails ("STARTTLS is not supported") if the relay does not offer it.
            Security::StartTlsRequired => true,
            Security::Tls => false,
        };
        if upgrade {
            connection
                .starttls(self.starttls.clone(), &self.hello)
                .await?;
        }
        if let Some((user, password)) = &self.smtp.credentials {
            let credentials = Credentials::new(user.clone(), password.clone());
            connection.auth(DEFAULT_MECHANISMS, &credentials).await?;
        }
        connection
            .send(message.envelope(), &message.formatted())
            .await?;
        Ok(connection)
    }

    /// A TCP connection to the relay, Nagle's algorithm off, wrapped in TLS for
    /// `smtps://`.
    async fn open(&self) -> Result<Box<dyn AsyncTokioStream>, HandOverError> {
        let (host, port) = (self.smtp.host.as_str(), self.smtp.port);
        let failed = |what: &str, e: &dyn std::error::Error| {
            HandOverError::Connect(format!("{what} {host}:{port}: {}", error_chain(e)))
        };
        let tcp = TcpStream::connect((host, port))
            .await
            .map_err(|e| failed("connecting to", &e))?;
        tcp.set_nodelay(true)
            .map_err(|e| failed("setting TCP_NODELAY for", &e))?;
        if self.smtp.security != Security::Tls {
            return Ok(Box::new(tcp));
        }
        let name =
            ServerName::try_from(host.to_owned()).map_err(|e| failed("the TLS name of", &e))?;
        let tls = self
            .implicit_tls
            .connect(name, tcp)
            .await
            .map_err(|e| failed("TLS with", &e))?;
        Ok(Box::new(ImplicitTls(tls)))
    }
}

/// A TLS stream lettre drives as if it were plain TCP: for `smtps://`, where TLS starts
/// before the relay's greeting (lettre's own connector would open the socket itself).
#[derive(Debug)]
struct ImplicitTls(TlsStream<TcpStream>);

impl AsyncTokioStream for ImplicitTls {
    fn peer_addr(&self) -> std::io::Result<SocketAddr> {
        self.0.get_ref().0.peer_addr()
    }
}

impl AsyncRead for ImplicitTls {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for ImplicitTls {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

/// Whether a relay failure is worth another try: a 5xx answer about the email is not,
/// everything else is (4xx, no connection, a timeout, TLS, a refused sign-in).
pub fn classify(error: &lettre::transport::smtp::Error) -> Failure {
    let text = error_chain(error);
    match error.status() {
        Some(code)
            if error.is_permanent()
                && !NOT_ABOUT_THE_EMAIL.contains(&code.to_string().as_str()) =>
        {
            Failure::Permanent(text)
        }
        _ => Failure::Temporary(text),
    }
}

/// An error and its causes, each once, on one line.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text.replace(['\r', '\n'], " ")
}
