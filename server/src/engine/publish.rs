//! The publisher: runs on the journal thread after each commit.

use std::sync::Arc;

use onegrid_protocol::Change;

use super::{Live, lock};
use crate::journal::Publisher;

/// Applies committed events to the published world, keeps them for resuming clients,
/// updates unit statuses and where units on their way are going on the board, and fans
/// the changes out.
pub fn publisher(live: Arc<Live>) -> Publisher {
    Box::new(move |events| {
        let mut published = live.published.write().unwrap_or_else(|e| e.into_inner());
        for (seq, event) in events {
            let changes: Arc<[Change]> = published.world.apply(*seq, event).into();
            let mut sent = false;
            {
                let mut board = lock(&live.board);
                for c in changes.iter() {
                    if let Change::Unit { unit } = c {
                        let toward = unit.task.and_then(|t| Some((t, published.world.incidents.get(&t)?.location)));
                        sent |= board.set_unit(unit.id, unit.status, toward);
                    }
                }
            }
            // Units newly on their way: the pump measures their road ahead now.
            if sent {
                live.moved.notify_one();
            }
            let at = event.at();
            live.hub.fanout_changes(&live.city, *seq, at, &changes);
            if published.ring.len() >= published.ring_size {
                published.ring.pop_front();
            }
            published.ring.push_back((*seq, at, changes));
        }
    })
}
