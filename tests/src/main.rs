//! `spin-harness`: serves the app like `spin up`, for trying it out and for putting nginx
//! or a browser in front of it where the Spin CLI is not available.
//!
//! spin-harness [--from spin.toml] [--listen 127.0.0.1:3000]
//!              [--runtime-config-file runtime-config.toml] [--variable name=value]...

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, bail};
use spin_harness::runtime::{App, AppOptions};
use spin_harness::server::Server;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut options = AppOptions {
        manifest: PathBuf::from("spin.toml"),
        ..AppOptions::default()
    };
    let mut listen: SocketAddr = "127.0.0.1:3000".parse()?;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--from" | "-f" => options.manifest = value()?.into(),
            "--listen" => listen = value()?.parse()?,
            "--runtime-config-file" => options.runtime_config = Some(value()?.into()),
            "--variable" => {
                let pair = value()?;
                let (name, val) = pair
                    .split_once('=')
                    .context("--variable takes name=value")?;
                options.variables.insert(name.to_owned(), val.to_owned());
            }
            other => bail!("unknown argument {other}"),
        }
    }
    let app = App::load(&options)?;
    let server = Server::start(app, listen).await?;
    println!("Serving {}", server.url());
    tokio::signal::ctrl_c().await?;
    Ok(())
}
