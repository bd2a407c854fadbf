//! `cargo xtask codegen` writes `crates/model/src/generated/` from the vendored service model
//! (`model/cognito-idp.json`). `cargo xtask codegen --check` fails when the committed files differ
//! from what the model produces. Output is deterministic and already formatted, so the check needs
//! no rustfmt.

mod codegen;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in the workspace root").to_path_buf()
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["codegen"] => match codegen::write(&root()) {
            Ok(written) => {
                for path in written {
                    println!("wrote {}", path.display());
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("codegen failed: {e}");
                ExitCode::FAILURE
            }
        },
        ["codegen", "--check"] => match codegen::stale(&root()) {
            Ok(stale) if stale.is_empty() => ExitCode::SUCCESS,
            Ok(stale) => {
                for path in stale {
                    eprintln!("stale: {} (run `cargo xtask codegen`)", path.display());
                }
                ExitCode::FAILURE
            }
            Err(e) => {
                eprintln!("codegen check failed: {e}");
                ExitCode::FAILURE
            }
        },
        _ => {
            eprintln!("usage: cargo xtask codegen [--check]");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    /// The committed generated code is what the vendored model produces today.
    #[test]
    fn generated_code_is_fresh() {
        let stale = super::codegen::stale(&super::root()).expect("codegen runs");
        assert!(stale.is_empty(), "run `cargo xtask codegen`; stale files: {stale:?}");
    }
}
