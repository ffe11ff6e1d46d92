//! What the marketplace's tests run the product with: the real `spin up` on the built
//! components, throwaway PostgreSQL clusters, Redis servers and MailDev relays, the email
//! sender, the project's nginx config under the real nginx, and a small HTTP client.

pub mod browser;
pub mod cluster;
pub mod compose;
pub mod forms;
pub mod images;
pub mod maildev;
pub mod mailer;
pub mod nginx;
pub mod otlp;
pub mod photos;
pub mod ports;
pub mod process;
pub mod redis;
pub mod shop;
pub mod spin;
pub mod testing;
pub mod trade;
pub mod upstream;
