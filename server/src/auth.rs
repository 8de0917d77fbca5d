//! Users and tokens: who a token belongs to, with role and scope. The default users file
//! is generated from the city (a commander for the city, a dispatcher per district and
//! street, an operator, a sensor gateway, a login per grid worker); a deployment passes its
//! own with `--users`.

use std::collections::HashMap;
use std::path::Path;

use onegrid_protocol::{Level, Role, Scope, UserInfo};
use serde::{Deserialize, Serialize};

use crate::city::City;

/// One user record in a users file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserRecord {
    /// Access token.
    pub token: String,
    /// The user.
    #[serde(flatten)]
    pub user: UserInfo,
}

/// A users file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum UsersError {
    /// Unreadable.
    #[error("{file}: {source}")]
    Io {
        /// The file.
        file: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Not a JSON array of user records.
    #[error("{file}: not a users file: {source}")]
    Format {
        /// The file.
        file: std::path::PathBuf,
        /// Why.
        source: serde_json::Error,
    },
}

/// Tokens → users.
#[derive(Debug, Clone, Default)]
pub struct Users(HashMap<String, UserInfo>);

impl Users {
    /// Reads a users file (a JSON array of records).
    pub fn load(file: &Path) -> Result<Self, UsersError> {
        let text = std::fs::read_to_string(file).map_err(|source| UsersError::Io { file: file.to_owned(), source })?;
        let records: Vec<UserRecord> =
            serde_json::from_str(&text).map_err(|source| UsersError::Format { file: file.to_owned(), source })?;
        Ok(Users(records.into_iter().map(|r| (r.token, r.user)).collect()))
    }

    /// The development users of a city. Their tokens are public: for a demo, not a deployment.
    pub fn development(city: &City) -> Self {
        let mut records = vec![
            user("dev-commander", "commander", "市指挥长", Role::Commander, Scope::city(), None),
            user("dev-city", "city-dispatcher", "市值班员", Role::Dispatcher, Scope::city(), None),
            user("dev-wall", "wall", "大屏", Role::Operator, Scope::city(), None),
            user("dev-sensor", "iot-gateway", "物联感知网关", Role::Sensor, Scope::city(), None),
        ];
        for level in [Level::District, Level::Street, Level::Community] {
            for u in city.units_at(level) {
                let scope = Scope { level, code: u.code.clone() };
                let token = format!("dev-{}", u.code);
                records.push(user(
                    &token,
                    &format!("dispatcher-{}", u.code),
                    &format!("{}值班员", u.name),
                    Role::Dispatcher,
                    scope,
                    None,
                ));
            }
        }
        let street_of: HashMap<&str, &str> = city
            .admin
            .values()
            .filter(|u| u.level == Level::Community)
            .map(|u| (u.code.as_str(), u.parent.as_str()))
            .collect();
        for r in &city.roster {
            let Some(street) = street_of.get(r.community.as_str()) else { continue };
            let scope = Scope { level: Level::Street, code: (*street).to_owned() };
            records.push(user(
                &format!("dev-unit-{}", r.id),
                &format!("unit-{}", r.id),
                &r.name,
                Role::GridWorker,
                scope,
                Some(r.id),
            ));
        }
        Users(records.into_iter().map(|r| (r.token, r.user)).collect())
    }

    /// The user of a token.
    pub fn get(&self, token: &str) -> Option<&UserInfo> {
        self.0.get(token)
    }

    /// How many users.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

fn user(token: &str, id: &str, name: &str, role: Role, scope: Scope, unit: Option<u32>) -> UserRecord {
    UserRecord {
        token: token.to_owned(),
        user: UserInfo { id: id.to_owned(), name: name.to_owned(), role, scope, unit },
    }
}

/// The id of the user the clock's rules act as ([`system_user`]).
pub const SYSTEM_ID: &str = "system";

/// The name of the user the clock's rules act as.
pub const SYSTEM_NAME: &str = "规则引擎";

/// The user the clock's rules act as.
pub fn system_user() -> UserInfo {
    UserInfo { id: SYSTEM_ID.into(), name: SYSTEM_NAME.into(), role: Role::Commander, scope: Scope::city(), unit: None }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_users_file_round_trips_and_a_bad_one_names_itself() {
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("users.json");
        std::fs::write(
            &file,
            r#"[{"token":"t1","id":"li","name":"李值班","role":"dispatcher","scope":{"level":"street","code":"350203001000"}}]"#,
        )
        .expect("write");
        let users = Users::load(&file).expect("load");
        assert_eq!(users.get("t1").map(|u| u.scope.level), Some(Level::Street));
        assert!(users.get("t2").is_none());
        std::fs::write(&file, r#"[{"token":"t1"}]"#).expect("write");
        let err = Users::load(&file).expect_err("bad").to_string();
        assert!(err.contains("users.json: not a users file"), "{err}");
    }
}
