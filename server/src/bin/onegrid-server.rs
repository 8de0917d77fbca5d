//! The `onegrid-server` binary: a thin shell over [`onegrid_server::cli`].
fn main() -> anyhow::Result<()> {
    onegrid_server::cli::main()
}
