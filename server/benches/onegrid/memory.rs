//! Memory per idle client connection (authenticated, subscribed, nothing happening) in a
//! server process, against a raw TCP connection held by a minimal tokio server with the
//! usual 8 KiB `BufReader`. Both servers run as child processes; their RSS is read before
//! and after 1,000 connections.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use onegrid_protocol::Layer;
use tokio::io::AsyncBufReadExt;

use crate::common::{client, data_dir, line, map_dir};

const CONNECTIONS: usize = 1_000;

fn rss_kib(pid: u32) -> anyhow::Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse::<f64>().ok())
        .ok_or_else(|| anyhow::anyhow!("no VmRSS"))?;
    Ok(kib)
}

/// Child modes: `serve-ws DATA` runs a OneGrid server, `serve-tcp` a raw TCP server; each
/// prints its address and runs until its stdin closes.
pub fn serve(mode: &str) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    rt.block_on(async {
        let addr = if mode == "serve-ws" {
            let data = std::env::args().nth(2).ok_or_else(|| anyhow::anyhow!("data dir"))?;
            let server = onegrid_server::start(onegrid_server::Config::new(map_dir(), data)).await?;
            let addr = server.addr;
            std::mem::forget(server);
            addr
        } else {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            let addr = listener.local_addr()?;
            tokio::spawn(async move {
                while let Ok((s, _)) = listener.accept().await {
                    tokio::spawn(async move {
                        let mut r = tokio::io::BufReader::new(s);
                        let mut line = String::new();
                        while r.read_line(&mut line).await.is_ok_and(|n| n > 0) {
                            line.clear();
                        }
                    });
                }
            });
            addr
        };
        println!("{addr}");
        let mut stdin = tokio::io::BufReader::new(tokio::io::stdin());
        let mut s = String::new();
        let _ = stdin.read_line(&mut s).await;
        anyhow::Ok(())
    })
}

fn measure(mode: &str) -> anyhow::Result<f64> {
    let data = data_dir()?;
    let mut child = Command::new(std::env::current_exe()?)
        .arg(mode)
        .arg(data.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let mut out = BufReader::new(child.stdout.take().ok_or_else(|| anyhow::anyhow!("stdout"))?);
    let mut addr = String::new();
    out.read_line(&mut addr)?;
    let addr = addr.trim().to_owned();
    let pid = child.id();
    let rt = tokio::runtime::Runtime::new()?;
    let per = rt.block_on(async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        // Warm up allocator arenas with a first connection.
        let warm = connect(mode, &addr).await?;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let before = rss_kib(pid)?;
        let mut held = Vec::new();
        for _ in 0..CONNECTIONS {
            held.push(connect(mode, &addr).await?);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        let after = rss_kib(pid)?;
        drop((held, warm));
        anyhow::Ok((after - before) * 1024.0 / CONNECTIONS as f64)
    })?;
    drop(child.stdin.take());
    let _ = child.wait();
    Ok(per)
}

#[allow(dead_code)] // held open, never read
enum Conn {
    Ws(Box<crate::common::Ws>),
    Tcp(tokio::net::TcpStream),
}

async fn connect(mode: &str, addr: &str) -> anyhow::Result<Conn> {
    Ok(if mode == "serve-ws" {
        Conn::Ws(Box::new(client(&format!("ws://{addr}"), "dev-wall", &[Layer::Incidents]).await?))
    } else {
        Conn::Tcp(tokio::net::TcpStream::connect(addr).await?)
    })
}

pub fn run() -> anyhow::Result<()> {
    println!("== memory per idle connection ({CONNECTIONS} connections)");
    let tcp = measure("serve-tcp")?;
    let ws = measure("serve-ws")?;
    line("raw TCP connection (tokio + 8 KiB BufReader), bytes", &format!("{tcp:.0}"));
    line("OneGrid client (hello + subscribe, idle), bytes", &format!("{ws:.0}"));
    line("ratio (target <= 2x, <= 32 KB)", &format!("{:.2}x", ws / tcp));
    Ok(())
}
