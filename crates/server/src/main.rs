use clap::{Parser, Subcommand};
use std::process::ExitCode;
use std::sync::Arc;
use userpool::app::serve;
use userpool::clock::SystemClock;
use userpool::config::{ServeArgs, Settings};
use userpool::ctx::Ctx;

/// A server for the Amazon Cognito user pools API. Point any AWS SDK or the aws CLI at it with
/// --endpoint-url.
#[derive(Parser)]
#[command(name = "userpool", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (SQLite in ./userpool-data by default).
    Serve(ServeArgs),
    /// Replace token signing keys with new ones, in the database the server options name. Tokens
    /// already issued keep verifying: retired keys stay in the JWKS for a day. Running servers
    /// sign with the new keys within a minute.
    RotateKeys {
        /// Only this pool (by default every pool).
        #[arg(long)]
        pool: Option<String>,
        #[command(flatten)]
        server: ServeArgs,
    },
    /// Seal the signing keys and the code key under a new master key (the current one from
    /// --master-key-file or USERPOOL_MASTER_KEY; none if the database is in clear). Stop the
    /// servers first; start them again with the new key.
    RotateMasterKey {
        /// A file holding the new master key (64 hex digits).
        #[arg(long)]
        new_master_key_file: std::path::PathBuf,
        #[command(flatten)]
        server: ServeArgs,
    },
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
}

async fn run(args: ServeArgs) -> Result<(), String> {
    let settings = Settings::resolve(args)?;
    let bind = settings.bind;
    let ctx = Arc::new(Ctx::new(settings, Arc::new(SystemClock)).await?);
    let listener = tokio::net::TcpListener::bind(bind).await.map_err(|e| format!("cannot listen on {bind}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    // The first line of stdout: scripts and tests read the real port from it.
    println!("userpool listening on http://{addr}");
    tracing::info!(mode = if ctx.settings.credentials.is_some() { "verify-signatures" } else { "local" }, "started");
    serve(listener, ctx, shutdown_signal()).await.map_err(|e| e.to_string())
}

async fn rotate_keys(pool: Option<String>, args: ServeArgs) -> Result<(), String> {
    let ctx = Ctx::new(Settings::resolve(args)?, Arc::new(SystemClock)).await?;
    let pools = match pool {
        Some(id) => vec![id],
        None => ctx.store.pool_ids().await.map_err(|e| e.to_string())?,
    };
    for id in pools {
        userpool::services::tokens::rotate_keys(&ctx, &id).await.map_err(|e| format!("{id}: {}", e.message()))?;
        println!("rotated the signing keys of {id}");
    }
    ctx.store.close().await;
    Ok(())
}

async fn rotate_master_key(new_key_file: std::path::PathBuf, args: ServeArgs) -> Result<(), String> {
    let ctx = Ctx::new(Settings::resolve(args)?, Arc::new(SystemClock)).await?;
    let new_key = userpool::config::master_key(Some(&new_key_file))?.ok_or("no new master key")?;
    let new = userpool::sealing::Sealer::new(Some(new_key.as_slice()))?;
    userpool::sealing::reseal(&ctx.store, &ctx.sealer, &new).await?;
    ctx.store.close().await;
    println!("the signing keys and the code key are sealed under the new master key");
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("USERPOOL_LOG").unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("userpool: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = match cli.command {
        Command::Serve(args) => runtime.block_on(run(args)),
        Command::RotateKeys { pool, server } => runtime.block_on(rotate_keys(pool, server)),
        Command::RotateMasterKey { new_master_key_file, server } => {
            runtime.block_on(rotate_master_key(new_master_key_file, server))
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("userpool: {e}");
            ExitCode::FAILURE
        }
    }
}
