//! Which pool backends are in the ring: probe results counted per
//! backend, with hysteresis so a flapping node does not move accounts
//! back and forth. A node leaves after `down_after` failed probes in a
//! row, or at once when a login could not reach it; it returns after
//! `up_after` good probes in a row.

use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Debug, Clone, Copy, Default)]
struct Node {
    down: bool,
    /// Good results in a row while down, failed ones in a row while up.
    streak: u32,
}

/// The health of every backend that was ever probed or used (a node
/// never seen is up).
#[derive(Debug, Default)]
pub struct Health {
    nodes: Mutex<HashMap<String, Node>>,
}

/// A node went in or out of the ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// It left the ring.
    Down,
    /// It is back.
    Up,
}

impl Health {
    fn nodes(&self) -> std::sync::MutexGuard<'_, HashMap<String, Node>> {
        self.nodes.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The node is in the ring.
    pub fn is_up(&self, node: &str) -> bool {
        self.nodes().get(node).is_none_or(|n| !n.down)
    }

    /// Counts a probe's result; `down_after` and `up_after` as in
    /// `[proxy]`. Says when the node went in or out.
    pub fn probed(&self, node: &str, ok: bool, down_after: u32, up_after: u32) -> Option<Change> {
        let mut nodes = self.nodes();
        let n = nodes.entry(node.to_owned()).or_default();
        match (n.down, ok) {
            (false, true) | (true, false) => {
                n.streak = 0;
                None
            }
            (false, false) => {
                n.streak += 1;
                (n.streak >= down_after).then(|| {
                    *n = Node {
                        down: true,
                        streak: 0,
                    };
                    Change::Down
                })
            }
            (true, true) => {
                n.streak += 1;
                (n.streak >= up_after).then(|| {
                    *n = Node::default();
                    Change::Up
                })
            }
        }
    }

    /// A login could not reach the node: out of the ring at once (the
    /// probes bring it back). Says whether it was in.
    pub fn unreachable(&self, node: &str) -> bool {
        let mut nodes = self.nodes();
        let n = nodes.entry(node.to_owned()).or_default();
        let was_up = !n.down;
        *n = Node {
            down: true,
            streak: 0,
        };
        was_up
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn down_after_failures_in_a_row_and_back_after_good_probes_in_a_row() {
        let h = Health::default();
        assert!(h.is_up("a"));
        assert_eq!(h.probed("a", false, 2, 3), None);
        // A good probe in between starts the count over.
        assert_eq!(h.probed("a", true, 2, 3), None);
        assert_eq!(h.probed("a", false, 2, 3), None);
        assert_eq!(h.probed("a", false, 2, 3), Some(Change::Down));
        assert!(!h.is_up("a"));
        assert_eq!(h.probed("a", true, 2, 3), None);
        assert_eq!(h.probed("a", true, 2, 3), None);
        // Flapping: one failure resets the way back.
        assert_eq!(h.probed("a", false, 2, 3), None);
        assert_eq!(h.probed("a", true, 2, 3), None);
        assert_eq!(h.probed("a", true, 2, 3), None);
        assert!(!h.is_up("a"));
        assert_eq!(h.probed("a", true, 2, 3), Some(Change::Up));
        assert!(h.is_up("a"));
        assert!(h.is_up("b"));
    }

    #[test]
    fn an_unreachable_node_leaves_at_once() {
        let h = Health::default();
        assert!(h.unreachable("a"));
        assert!(!h.is_up("a"));
        assert!(!h.unreachable("a"));
        assert_eq!(h.probed("a", true, 2, 1), Some(Change::Up));
    }
}
