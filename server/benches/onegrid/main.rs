//! OneGrid's benchmarks: each figure is a ratio against a baseline measured in the same run.
//!
//! `cargo bench -p onegrid-server --bench onegrid -- [spatial|roads|journal|keys|fanout|latency|memory|map|storm|history|all]`
//!
//! Everything runs on this machine over loopback; load generators share the cores with the
//! server, in the real path and in the baseline alike.

mod common;
mod fanout;
mod history;
mod journal;
mod latency;
mod mapanswer;
mod memory;
mod roads;
mod spatial;
mod storm;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    if let Some(mode) = args.first().filter(|a| a.starts_with("serve-")) {
        return memory::serve(mode);
    }
    let what = args.first().map(String::as_str).unwrap_or("all");
    let all = what == "all";
    println!("cores: {}", std::thread::available_parallelism().map_or(1, |n| n.get()));
    if all || what == "spatial" {
        spatial::run()?;
    }
    if all || what == "roads" {
        roads::run()?;
    }
    if all || what == "journal" {
        journal::run()?;
    }
    if all || what == "keys" {
        journal::run_keys()?;
    }
    if all || what == "fanout" {
        fanout::run()?;
    }
    if all || what == "latency" {
        latency::run()?;
    }
    if all || what == "memory" {
        memory::run()?;
    }
    if all || what == "map" {
        mapanswer::run()?;
    }
    if all || what == "storm" {
        storm::run()?;
    }
    if all || what == "history" {
        history::run()?;
    }
    Ok(())
}
