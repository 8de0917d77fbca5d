//! The `onegrid-server` binary: a thin shell over [`onegrid_server::cli`].
fn main() -> std::process::ExitCode {
    onegrid_server::cli::exit(onegrid_server::cli::main())
}
