//! Armed faults: scenario `fault` events and the `faults` setting arm them; each order placed
//! takes every armed fault whose target matches, once per `count`.

use crate::scenario::{FaultKind, FaultSpec, FaultTarget};

#[derive(Debug, Default)]
pub(crate) struct Faults {
    armed: Vec<FaultSpec>,
}

impl Faults {
    pub fn arm(&mut self, f: FaultSpec) {
        self.armed.push(f);
    }

    /// Takes the faults that hit an order on `instrument`.
    pub fn take_for(&mut self, instrument: &str) -> Vec<FaultKind> {
        if self.armed.is_empty() {
            return Vec::new();
        }
        let mut hit = Vec::new();
        for f in &mut self.armed {
            let matches = match &f.target {
                FaultTarget::NextOrder => true,
                FaultTarget::Instrument(i) => i == instrument,
            };
            if matches && f.count > 0 {
                f.count -= 1;
                hit.push(f.kind.clone());
            }
        }
        self.armed.retain(|f| f.count > 0);
        hit
    }
}
