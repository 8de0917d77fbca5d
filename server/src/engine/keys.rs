//! Idempotency keys in memory: which commands (by user and client-chosen key) have been
//! applied, what they did, and a digest of each, so that a command sent again after a lost
//! ack, a reconnect or a restart is acknowledged as the first time instead of applied
//! twice. The journal stores the same records with the events (see `journal`); this index
//! is rebuilt from it at start and forgets a key after
//! [`KEY_RETENTION_MS`](onegrid_protocol::validate::KEY_RETENTION_MS) of the server clock.

use std::collections::{HashMap, VecDeque};

use onegrid_protocol::validate::KEY_RETENTION_MS;
use onegrid_protocol::{Command, Millis};

use crate::journal::KeyRecord;

/// A stable digest of a command (FNV-1a over its JSON), the same across restarts.
pub fn digest(cmd: &Command) -> u64 {
    let json = serde_json::to_vec(cmd).unwrap_or_default();
    json.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

/// The keys applied in the last [`KEY_RETENTION_MS`], by user and key.
#[derive(Debug, Default)]
pub struct Keys {
    /// User → key → record (two levels, so a lookup borrows instead of building a pair).
    by_user: HashMap<String, HashMap<String, KeyRecord>>,
    len: usize,
    /// When each was applied, oldest first, for forgetting.
    order: VecDeque<(Millis, String, String)>,
}

impl Keys {
    /// The index over records read back from the journal (oldest first).
    pub fn new(records: Vec<KeyRecord>) -> Keys {
        let mut keys = Keys::default();
        for r in records {
            keys.insert(r);
        }
        keys
    }

    /// What the command with this key did, if it was applied and is still remembered.
    pub fn get(&self, user: &str, key: &str) -> Option<&KeyRecord> {
        self.by_user.get(user)?.get(key)
    }

    /// Remembers an applied command and forgets those past the retention.
    pub fn insert(&mut self, record: KeyRecord) {
        let now = record.at;
        self.order.push_back((record.at, record.user.clone(), record.key.clone()));
        let keys = self.by_user.entry(record.user.clone()).or_default();
        if keys.insert(record.key.clone(), record).is_none() {
            self.len += 1;
        }
        while let Some((at, ..)) = self.order.front() {
            if *at >= now - KEY_RETENTION_MS {
                break;
            }
            if let Some((at, user, key)) = self.order.pop_front()
                && let Some(keys) = self.by_user.get_mut(&user)
                // A key used again later (after it expired) has a newer record: keep that.
                && keys.get(&key).is_some_and(|r| r.at == at)
            {
                keys.remove(&key);
                self.len -= 1;
                if keys.is_empty() {
                    self.by_user.remove(&user);
                }
            }
        }
    }

    /// How many keys are remembered.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use onegrid_protocol::Act;

    fn record(user: &str, key: &str, at: Millis) -> KeyRecord {
        KeyRecord { user: user.into(), key: key.into(), at, seq: Some(1), incident: Some(2), digest: 3 }
    }

    #[test]
    fn keys_are_per_user_and_forgotten_after_the_retention() {
        let mut keys = Keys::new(vec![record("a", "k1", 0), record("b", "k1", 10)]);
        assert_eq!(keys.get("a", "k1").map(|r| r.at), Some(0));
        assert_eq!(keys.get("b", "k1").map(|r| r.at), Some(10), "the same key of another user is its own");
        assert!(keys.get("a", "k2").is_none());
        keys.insert(record("a", "k2", KEY_RETENTION_MS + 5));
        assert!(keys.get("a", "k1").is_none(), "older than the retention: forgotten");
        assert!(keys.get("b", "k1").is_some(), "still within it");
        assert_eq!(keys.len(), 2);
    }

    #[test]
    fn a_key_used_again_after_it_expired_keeps_its_new_record() {
        let mut keys = Keys::new(vec![record("a", "k", 0)]);
        keys.insert(record("a", "k", KEY_RETENTION_MS - 1));
        keys.insert(record("a", "x", KEY_RETENTION_MS + 1));
        assert_eq!(keys.get("a", "k").map(|r| r.at), Some(KEY_RETENTION_MS - 1));
    }

    #[test]
    fn the_digest_tells_commands_apart_and_is_stable() {
        let accept = Command::Accept(Act { incident: 7, note: String::new(), unit: None });
        let other = Command::Accept(Act { incident: 8, note: String::new(), unit: None });
        assert_eq!(digest(&accept), digest(&accept.clone()));
        assert_ne!(digest(&accept), digest(&other));
        // FNV-1a of the JSON: the value must not change between builds, since journals keep it.
        assert_eq!(digest(&accept), {
            let json = br#"{"op":"accept","incident":7,"note":""}"#;
            json.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
        });
    }
}
