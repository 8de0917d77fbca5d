//! The outbox: the keyed commands that await the server, kept in a file as well as in the
//! network thread's memory, so that a console that crashes, or is closed with work held
//! for a link that is down, sends that work when it is started again (a held report within
//! [`super::client::HOLD_WITHIN`] of when it was taken, a command that may have reached the
//! server within [`super::client::RESEND_WITHIN`] of when it was written). The server applies a keyed
//! command at most once, so a command that had reached it before the crash is answered
//! with its first ack, not applied twice.
//!
//! One file per user (a hash of the access token names it) in the console's data folder,
//! rewritten whole (a new file renamed over the old, after it is flushed to disk) whenever
//! the set of commands changes. A console holds its outbox's lock file for as long as it
//! runs; a second console of the same user on the same folder runs without an outbox
//! rather than have the two overwrite each other's. A file that cannot be read (a crash of
//! the disk, another format) is set aside under a new name, never deleted, and said.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use onegrid_protocol::ClientMsg;
use serde::{Deserialize, Serialize};

/// The file's format; a file of another format is set aside.
pub const FORMAT: u32 = 1;

/// A command as the outbox keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// The command, with its request id and idempotency key.
    pub msg: ClientMsg,
    /// What it does, in the desk's words.
    pub what: String,
    /// When it was asked for, Unix milliseconds (the wall clock: it outlives the process).
    pub asked_at_ms: i64,
    /// Whether it was written to a server (else it was held while the link was down).
    pub written: bool,
    /// When it was first written to a server, Unix milliseconds; absent in files of
    /// earlier consoles, which wrote commands when asked for (or held them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub written_at_ms: Option<i64>,
    /// The journal of the server it was written to: only that server knows its key.
    pub journal: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct Body {
    format: u32,
    entries: Vec<Entry>,
}

/// Why there is no outbox.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    /// Another console of this user holds it.
    #[error("another console of this user uses {0}; this one keeps its unsent work in memory only")]
    Busy(PathBuf),
    /// The folder or the lock cannot be made.
    #[error("cannot keep unsent work in {path}: {why}; this console keeps it in memory only")]
    Io {
        /// Where.
        path: PathBuf,
        /// Why.
        why: std::io::Error,
    },
}

impl OutboxError {
    /// The same for the operator, in the desk's words.
    pub fn words(&self) -> String {
        match self {
            OutboxError::Busy(_) => {
                "本机已有同一用户的另一控制台在运行：本控制台未获确认的操作只保存在内存中".to_owned()
            }
            OutboxError::Io { path, why } => {
                format!("无法在 {} 保存未获确认的操作（{why}）：只保存在内存中", path.display())
            }
        }
    }
}

/// An outbox file that could not be read, set aside.
#[derive(Debug)]
pub struct SetAside {
    /// Why it could not be read.
    pub why: String,
    /// Where it was moved, or why it could not be.
    pub to: Result<PathBuf, String>,
}

impl SetAside {
    /// For the log.
    pub fn log_line(&self) -> String {
        match &self.to {
            Ok(to) => {
                format!("unsent work left by a former run cannot be read ({}); set aside as {}", self.why, to.display())
            }
            Err(e) => format!("unsent work left by a former run cannot be read ({}), nor set aside ({e})", self.why),
        }
    }

    /// For the operator.
    pub fn words(&self) -> String {
        match &self.to {
            Ok(to) => {
                format!("上次运行遗留的未发送操作无法读取（{}），已另存为 {}，请人工核对", self.why, to.display())
            }
            Err(e) => format!("上次运行遗留的未发送操作无法读取（{}），也无法另存（{e}），请人工核对", self.why),
        }
    }
}

/// An open outbox; its lock is held until it is dropped.
#[derive(Debug)]
pub struct Outbox {
    path: PathBuf,
    _lock: File,
}

/// What [`Outbox::open`] found.
#[derive(Debug)]
pub struct Opened {
    /// The outbox, locked for this console.
    pub outbox: Outbox,
    /// The commands a former run left.
    pub entries: Vec<Entry>,
    /// A file that could not be read, and where it was set aside.
    pub set_aside: Option<SetAside>,
}

/// FNV-1a over `s`: the file's name, so that the token is not written in it.
pub(crate) fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

impl Outbox {
    /// Opens (creating the folder) the outbox of the user with `token` in `dir`, and reads
    /// what a former run left there.
    pub fn open(dir: &Path, token: &str) -> Result<Opened, OutboxError> {
        let io = |why| OutboxError::Io { path: dir.to_owned(), why };
        std::fs::create_dir_all(dir).map_err(io)?;
        let stem = format!("outbox-{:016x}", fnv(token));
        let lock_path = dir.join(format!("{stem}.lock"));
        let lock = OpenOptions::new().create(true).truncate(false).write(true).open(&lock_path).map_err(io)?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Err(OutboxError::Busy(lock_path)),
            Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
        }
        let path = dir.join(format!("{stem}.json"));
        let outbox = Outbox { path, _lock: lock };
        let (entries, set_aside) = match std::fs::read(&outbox.path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (Vec::new(), None),
            Err(e) => (Vec::new(), Some(outbox.set_aside(&e.to_string()))),
            Ok(bytes) => match serde_json::from_slice::<Body>(&bytes) {
                Ok(body) if body.format == FORMAT => (body.entries, None),
                Ok(body) => (Vec::new(), Some(outbox.set_aside(&format!("format {}, not {FORMAT}", body.format)))),
                Err(e) => (Vec::new(), Some(outbox.set_aside(&e.to_string()))),
            },
        };
        Ok(Opened { outbox, entries, set_aside })
    }

    /// Renames an unreadable file out of the way; says what was done.
    fn set_aside(&self, why: &str) -> SetAside {
        let millis = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis());
        let aside = (0..)
            .map(|n| self.path.with_extension(format!("unreadable-{millis}-{n}.json")))
            .find(|p| !p.exists())
            .unwrap_or_else(|| self.path.with_extension("unreadable.json"));
        let to = std::fs::rename(&self.path, &aside).map(|()| aside).map_err(|e| e.to_string());
        SetAside { why: why.to_owned(), to }
    }

    /// Writes `entries` as the outbox, whole: to a new file, flushed, renamed over the old.
    pub fn save(&self, entries: &[Entry]) -> std::io::Result<()> {
        if entries.is_empty() {
            return match std::fs::remove_file(&self.path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            };
        }
        let body = Body { format: FORMAT, entries: entries.to_vec() };
        let bytes = serde_json::to_vec(&body).map_err(std::io::Error::other)?;
        let tmp = self.path.with_extension("json.new");
        // Reports carry callers' names and numbers: readable by this user only.
        let mut open = OpenOptions::new();
        open.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut open, 0o600);
        let mut f = open.open(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &self.path)
    }

    /// Where the outbox is.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Opens `token`'s outbox in `dir` again after its last holder let it go. Other tests of
/// the same binary start processes, and a fork holds a copy of the lock from the fork to
/// the child's exec: an open in that moment finds it busy, so this tries for up to 5 s.
#[cfg(test)]
pub(crate) fn open_again(dir: &Path, token: &str) -> Opened {
    let started = std::time::Instant::now();
    loop {
        match Outbox::open(dir, token) {
            Ok(opened) => return opened,
            Err(e) => assert!(started.elapsed() < std::time::Duration::from_secs(5), "open again: {e}"),
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use onegrid_protocol::{Act, Command};

    fn entry(key: &str, written: bool) -> Entry {
        Entry {
            msg: ClientMsg::Command {
                req: "c1".into(),
                cmd: Command::Accept(Act { incident: 4, note: String::new(), unit: None }),
                key: Some(key.into()),
            },
            what: "受理 #4".into(),
            asked_at_ms: 1_700_000_000_000,
            written,
            written_at_ms: written.then_some(1_700_000_000_500),
            journal: written.then(|| "j1".to_owned()),
        }
    }

    #[test]
    fn what_is_saved_is_read_back_by_the_next_run_and_an_empty_outbox_leaves_no_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = Outbox::open(dir.path(), "dev-commander").expect("open");
        assert!(first.entries.is_empty() && first.set_aside.is_none());
        let saved = vec![entry("k1", true), entry("k2", false)];
        first.outbox.save(&saved).expect("save");
        let path = first.outbox.path().to_owned();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("file").permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "callers' details are for this user only");
        }
        drop(first);
        let again = open_again(dir.path(), "dev-commander");
        assert_eq!(again.entries, saved);
        assert!(!std::fs::read_to_string(&path).expect("file").contains("dev-commander"), "no token in the file");
        again.outbox.save(&[]).expect("save none");
        assert!(!path.exists(), "nothing left: no file");
        let other = Outbox::open(dir.path(), "dev-officer").expect("another user");
        assert!(other.entries.is_empty(), "each user has an outbox of their own");
    }

    #[test]
    fn a_second_console_of_the_same_user_gets_no_outbox() {
        let dir = tempfile::tempdir().expect("tempdir");
        let _first = Outbox::open(dir.path(), "dev-commander").expect("open");
        let second = Outbox::open(dir.path(), "dev-commander");
        assert!(matches!(second, Err(OutboxError::Busy(_))), "{second:?}");
        assert!(Outbox::open(dir.path(), "dev-officer").is_ok(), "another user's is free");
    }

    #[test]
    fn an_unreadable_outbox_is_set_aside_not_lost() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = Outbox::open(dir.path(), "t").expect("open").outbox.path().to_owned();
        for (bytes, why) in [(&b"{\"format\":1,\"entr"[..], "EOF"), (&b"{\"format\":9,\"entries\":[]}"[..], "format 9")]
        {
            std::fs::write(&path, bytes).expect("write");
            let opened = open_again(dir.path(), "t");
            assert!(opened.entries.is_empty());
            let said = opened.set_aside.expect("said");
            assert!(said.to.is_ok() && said.why.contains(why), "{said:?}");
            assert!(said.words().contains("已另存为") && said.log_line().contains("set aside as"));
            assert!(!path.exists(), "moved out of the way");
        }
        let aside: Vec<_> = std::fs::read_dir(dir.path())
            .expect("dir")
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.contains("unreadable"))
            .collect();
        assert_eq!(aside.len(), 2, "both kept: {aside:?}");
    }
}
