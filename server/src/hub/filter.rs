//! What one client sees: its user's scope, its layers and its area.

use geo_types::Point;
use onegrid_protocol::{BBox, Change, Layer, Placement, Scope};

use crate::city::City;

/// A set of layers as bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LayerSet(u8);

impl LayerSet {
    /// From a list of layers.
    pub fn from_layers(layers: &[Layer]) -> Self {
        LayerSet(layers.iter().fold(0, |acc, l| acc | Self::bit(*l)))
    }

    fn bit(l: Layer) -> u8 {
        match l {
            Layer::Incidents => 1,
            Layer::Personnel => 2,
            Layer::Cameras => 4,
            Layer::Grid => 8,
        }
    }

    /// Whether `l` is in the set.
    pub fn has(&self, l: Layer) -> bool {
        self.0 & Self::bit(l) != 0
    }

    /// Whether personnel is in the set.
    pub fn personnel(&self) -> bool {
        self.has(Layer::Personnel)
    }
}

/// A client's subscription.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    /// The user's scope.
    pub scope: Scope,
    /// Subscribed layers.
    pub layers: LayerSet,
    /// Optional area.
    pub area: Option<BBox>,
    /// Equal for equal filters: fan-out encodes once per key.
    pub key: String,
}

impl Filter {
    /// A filter.
    pub fn new(scope: Scope, layers: &[Layer], area: Option<BBox>) -> Self {
        let layers = LayerSet::from_layers(layers);
        let key = format!("{:?}/{}/{}/{:?}", scope.level, scope.code, layers.0, area.map(|a| a.0.map(f64::to_bits)));
        Filter { scope, layers, area, key }
    }

    fn in_area(&self, p: Point) -> bool {
        self.area.is_none_or(|a| a.contains(p))
    }

    /// Whether something placed at `placement`, at `p`, is visible.
    pub fn sees(&self, placement: &Placement, p: Point) -> bool {
        self.scope.contains(placement) && self.in_area(p)
    }

    /// Whether a unit with this home, now at `p` (if known), is visible.
    pub fn sees_unit(&self, home: &Placement, p: Option<Point>) -> bool {
        self.scope.contains(home) && p.is_none_or(|p| self.in_area(p))
    }

    /// Whether a cell's status is visible: the cell in scope, its centre in the area.
    pub fn sees_cell(&self, city: &City, code: &str) -> bool {
        city.cells.by_code(code).is_some_and(|cell| self.sees(&cell.placement, cell.center()))
    }

    /// The changes this client may see.
    pub fn changes(&self, city: &City, changes: &[Change]) -> Vec<Change> {
        changes
            .iter()
            .filter(|c| match c {
                Change::Incident { incident, .. } => {
                    self.layers.has(Layer::Incidents) && self.sees(&incident.placement, incident.location)
                }
                Change::Unit { unit } => self.layers.has(Layer::Personnel) && self.scope.contains(&unit.home),
                Change::Cell { status } => self.layers.has(Layer::Grid) && self.sees_cell(city, &status.cell),
            })
            .cloned()
            .collect()
    }
}
