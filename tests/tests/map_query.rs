//! The `map` query: a console gets the whole city it draws from the server it talks to —
//! areas with their hierarchy, the three nets, roads and the category list — whatever the
//! user's scope (the base map is not scoped; live data is).

use onegrid_e2e::TestServer;
use onegrid_protocol::{Level, Net, Query, QueryResult};

#[tokio::test]
async fn the_map_query_answers_the_citys_areas_nets_cells_roads_and_categories() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let mut wall = server.client("dev-wall").await?;
    let Ok(QueryResult::Map { map }) = wall.query(Query::Map).await? else { anyhow::bail!("no map") };
    assert_eq!(map.name, "厦门市");
    let city = server.running.engine.city();
    assert_eq!(map.cells.len(), city.cells.cells().len());
    assert!(map.cells.iter().all(|c| c.lattice_pos.is_some() && c.outline.exterior().0.len() == 5));
    let count = |l: Level| map.areas.iter().filter(|a| a.level == l).count();
    assert_eq!((count(Level::District), count(Level::Street)), (1, 10));
    assert!(count(Level::Community) > 90);
    let siming = map.areas.iter().find(|a| a.name == "思明区").expect("思明区");
    assert!(!siming.synthetic, "the district outline is real");
    assert!(map.areas.iter().filter(|a| a.level == Level::Street).all(|s| s.parent == siming.code && s.synthetic));
    let nets = |n: Net| map.overlays.iter().filter(|o| o.net == n).count();
    assert_eq!((nets(Net::Responsibility), nets(Net::Supervision)), (534, 252));
    assert!(map.roads.len() > 1_000);
    assert_eq!(map.categories.len(), city.responsibility.categories.len());
    for (sent, listed) in map.categories.iter().zip(&city.responsibility.categories) {
        assert_eq!(sent.limits_mins, Some(listed.limits_mins), "{}: the stages' time limits", sent.code);
    }
    assert!(map.synthetic_layers.iter().any(|l| l == "roads"));
    assert!(map.lattice.is_some());

    let code = siming.code.clone();
    let street = map.areas.iter().find(|a| a.level == Level::Street).expect("street").code.clone();
    let mut street_desk = server.client(&format!("dev-{street}")).await?;
    let Ok(QueryResult::Map { map: same }) = street_desk.query(Query::Map).await? else { anyhow::bail!("no map") };
    assert_eq!(same.areas.len(), map.areas.len(), "a street centre sees the whole base map of {code}");
    Ok(())
}
