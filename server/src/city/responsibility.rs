//! The responsibility list (权责清单): for each incident category, the responsible
//! department, the level that first handles it, the skills a unit needs, and the time limit
//! of every stage of the closed loop.

use std::path::Path;

use onegrid_protocol::Level;
use serde::{Deserialize, Serialize};

use super::geojson::{MapError, read_json};

/// Minutes allowed for each stage (the protocol's, as consoles see them too).
pub type Limits = onegrid_protocol::StageLimits;

/// One category of matter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Category {
    /// Two-level code (`01` class + `01` sub-class style).
    pub code: String,
    /// Name.
    pub name: String,
    /// The module (first level) it belongs to.
    pub module: String,
    /// The responsible department.
    pub department: String,
    /// The level that handles it first.
    pub level: Level,
    /// Skills a dispatched unit should have.
    #[serde(default)]
    pub skills: Vec<String>,
    /// Stage time limits.
    pub limits_mins: Limits,
    /// Expected reports a day across a district of ~8,500 cells (drives the simulator).
    #[serde(default)]
    pub daily_rate: f64,
    /// Whether this category follows GB/T 31000 codes or is a local urban-management matter.
    #[serde(default)]
    pub standard: String,
}

/// The whole list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponsibilityList {
    /// Edition.
    pub version: String,
    /// Where the list comes from.
    pub note: String,
    /// Categories.
    pub categories: Vec<Category>,
}

impl ResponsibilityList {
    /// Reads and checks a list.
    pub fn load(file: &Path) -> Result<Self, MapError> {
        let value = read_json(file)?;
        let list: ResponsibilityList = serde_json::from_value(value)
            .map_err(|e| MapError::bad(file, None, format!("not a responsibility list: {e}")))?;
        let mut seen = std::collections::HashSet::new();
        for (i, c) in list.categories.iter().enumerate() {
            if !seen.insert(c.code.as_str()) {
                return Err(MapError::bad(file, Some(i), format!("category {} appears twice", c.code)));
            }
            if [c.limits_mins.accept, c.limits_mins.dispatch, c.limits_mins.arrive, c.limits_mins.handle].contains(&0) {
                return Err(MapError::bad(file, Some(i), format!("category {} has a zero time limit", c.code)));
            }
        }
        if list.categories.is_empty() {
            return Err(MapError::bad(file, None, "the list has no category"));
        }
        Ok(list)
    }

    /// A category by code.
    pub fn get(&self, code: &str) -> Option<&Category> {
        self.categories.iter().find(|c| c.code == code)
    }
}
