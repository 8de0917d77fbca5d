//! The server's own command line, built inside the test crate so that the SIGKILL test can
//! start it as a real process (`CARGO_BIN_EXE_onegrid-e2e-server`).
fn main() -> std::process::ExitCode {
    onegrid_server::cli::exit(onegrid_server::cli::main())
}
