//! The real binary's command line on bad input: a clear message naming the file, a non-zero
//! exit, never a panic.

use std::process::{Command, Output};

use onegrid_e2e::map_dir;

fn server(args: &[&str]) -> anyhow::Result<Output> {
    Ok(Command::new(env!("CARGO_BIN_EXE_onegrid-e2e-server")).args(args).env("RUST_LOG", "error").output()?)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn copy_map() -> anyhow::Result<tempfile::TempDir> {
    let dir = tempfile::tempdir()?;
    for entry in std::fs::read_dir(map_dir())? {
        let entry = entry?;
        std::fs::copy(entry.path(), dir.path().join(entry.file_name()))?;
    }
    Ok(dir)
}

#[test]
fn maps_check_reports_a_good_map_and_names_a_corrupt_one() -> anyhow::Result<()> {
    let map = map_dir();
    let ok = server(&["maps", "check", map.to_str().unwrap_or_default()])?;
    assert!(ok.status.success(), "{}", stderr(&ok));
    let text = String::from_utf8_lossy(&ok.stdout);
    assert!(text.contains("厦门市 (siming): 8564 cells (lattice path)"), "{text}");

    let bad = copy_map()?;
    let cells = bad.path().join("cells.geojson");
    let broken = std::fs::read_to_string(&cells)?.replacen("\"row\":", "\"row\":\"x\",\"r\":", 1).replacen(
        "[[[",
        "[[[\"lon\",",
        1,
    );
    std::fs::write(&cells, broken)?;
    let out = server(&["maps", "check", bad.path().to_str().unwrap_or_default()])?;
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("cells.geojson, feature 0"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    Ok(())
}

#[test]
fn the_server_refuses_to_start_on_bad_input_with_a_clear_message() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let data_arg = data.path().to_str().unwrap_or_default().to_owned();
    let map = map_dir();
    let map_arg = map.to_str().unwrap_or_default().to_owned();

    let missing = server(&["--map", "/nonexistent/map", "--data", &data_arg])?;
    assert!(!missing.status.success());
    assert!(stderr(&missing).contains("/nonexistent/map/city.json"), "{}", stderr(&missing));

    std::fs::write(data.path().join("journal.sqlite"), vec![b'x'; 4096])?;
    let corrupt = server(&["--map", &map_arg, "--data", &data_arg])?;
    assert!(!corrupt.status.success());
    let err = stderr(&corrupt);
    assert!(err.contains("journal.sqlite") && err.contains("not a database"), "{err}");

    let users = data.path().join("users.json");
    std::fs::write(&users, "{\"not\": \"a list\"}")?;
    let fresh = tempfile::tempdir()?;
    let bad_users = server(&[
        "--map",
        &map_arg,
        "--data",
        fresh.path().to_str().unwrap_or_default(),
        "--users",
        users.to_str().unwrap_or_default(),
    ])?;
    assert!(!bad_users.status.success());
    assert!(stderr(&bad_users).contains("users.json: not a users file"), "{}", stderr(&bad_users));

    let profile = server(&["--map", &map_arg, "--data", &data_arg, "--simulate", "rush-hour"])?;
    assert!(!profile.status.success());
    assert!(stderr(&profile).contains("no simulation profile `rush-hour`"), "{}", stderr(&profile));

    for o in [&missing, &corrupt, &bad_users, &profile] {
        assert!(!stderr(o).contains("panicked"), "{}", stderr(o));
    }
    Ok(())
}
