//! The consistent-hash ring that spreads accounts without a `mailhost`
//! over the backend pool.
//!
//! Why a ring with virtual nodes (Karger et al.; memcached's ketama):
//! taking a node out moves only the accounts it served, each to the next
//! node clockwise, and adding one takes over only its own share — the
//! other nodes' accounts stay where they are, so their sessions and the
//! backends' caches are not reshuffled by one failure. A health check
//! that takes a node out does not rebuild anything: lookups skip its
//! points, which is the same as removing it. Many points per node (160
//! by default, as ketama) even out the shares of a small pool.
//!
//! Why SHA-256 (its first 8 bytes): every proxy must place a login
//! identically, across processes, restarts, versions and machines, so
//! the hash must be fixed and keyless (not std's randomly keyed
//! SipHash), and well mixed on short similar strings (`user1`, `user2`),
//! which FNV is not. Its cost — one hash per login, and `points × nodes`
//! when the pool is configured — is nothing next to a login.

use sha2::{Digest, Sha256};

/// A ring over a pool of nodes (their names as configured).
#[derive(Debug, Clone)]
pub struct Ring {
    nodes: Vec<String>,
    /// (point, index into `nodes`), sorted by point.
    points: Vec<(u64, usize)>,
}

fn hash(data: &[u8]) -> u64 {
    let digest = Sha256::digest(data);
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

impl Ring {
    /// A ring with `virtual_nodes` points per node. A node's points
    /// depend only on its name: the same pool in any order gives the
    /// same ring.
    pub fn new(nodes: &[String], virtual_nodes: u32) -> Ring {
        let nodes = nodes.to_vec();
        let mut points: Vec<(u64, usize)> = nodes
            .iter()
            .enumerate()
            .flat_map(|(i, name)| {
                (0..virtual_nodes).map(move |v| (hash(format!("{name}#{v}").as_bytes()), i))
            })
            .collect();
        // Ties (astronomically rare) go to the smaller name, not to the
        // configured order.
        points.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| nodes[a.1].cmp(&nodes[b.1])));
        Ring { nodes, points }
    }

    /// The nodes, as configured.
    pub fn nodes(&self) -> &[String] {
        &self.nodes
    }

    /// The nodes in the order `key` tries them: its own node first, then
    /// each next distinct node clockwise (where its accounts go when it is
    /// down).
    pub fn candidates(&self, key: &str) -> Vec<&str> {
        let mut order: Vec<&str> = Vec::with_capacity(self.nodes.len());
        if self.points.is_empty() {
            return order;
        }
        let h = hash(key.as_bytes());
        let start = self.points.partition_point(|&(p, _)| p < h);
        for k in 0..self.points.len() {
            let (_, node) = self.points[(start + k) % self.points.len()];
            let name = self.nodes[node].as_str();
            if !order.contains(&name) {
                order.push(name);
                if order.len() == self.nodes.len() {
                    break;
                }
            }
        }
        order
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    impl Ring {
        /// The first node for `key` that `up` accepts.
        fn pick(&self, key: &str, up: impl Fn(&str) -> bool) -> Option<&str> {
            self.candidates(key).into_iter().find(|n| up(n))
        }
    }

    fn logins() -> Vec<String> {
        (0..3000).map(|i| format!("user{i}@example.org")).collect()
    }

    #[test]
    fn every_node_gets_a_fair_share() {
        let ring = Ring::new(&pool(&["10.0.0.1", "10.0.0.2", "10.0.0.3"]), 160);
        let mut counts = std::collections::HashMap::new();
        for l in logins() {
            *counts.entry(ring.pick(&l, |_| true).unwrap()).or_insert(0) += 1;
        }
        assert_eq!(counts.len(), 3);
        // 1000 each on average; 160 points keep each within a third.
        for (node, n) in counts {
            assert!((667..=1333).contains(&n), "{node} got {n} of 3000");
        }
    }

    #[test]
    fn the_order_of_the_pool_does_not_matter() {
        let a = Ring::new(&pool(&["a", "b", "c"]), 50);
        let b = Ring::new(&pool(&["c", "a", "b"]), 50);
        for l in logins() {
            assert_eq!(a.candidates(&l), b.candidates(&l));
        }
    }

    #[test]
    fn a_node_down_moves_only_its_own_accounts_to_the_next_node() {
        let ring = Ring::new(&pool(&["a", "b", "c"]), 160);
        let mut moved = 0;
        for l in logins() {
            let before = ring.pick(&l, |_| true).unwrap();
            let after = ring.pick(&l, |n| n != "b").unwrap();
            if before == "b" {
                moved += 1;
                assert_eq!(after, ring.candidates(&l)[1]);
            } else {
                assert_eq!(before, after, "{l} moved though its node is up");
            }
        }
        assert!(moved > 0);
    }

    #[test]
    fn adding_a_node_takes_only_its_own_share() {
        let three = Ring::new(&pool(&["a", "b", "c"]), 160);
        let four = Ring::new(&pool(&["a", "b", "c", "d"]), 160);
        for l in logins() {
            let (old, new) = (three.pick(&l, |_| true), four.pick(&l, |_| true));
            assert!(old == new || new == Some("d"), "{l}: {old:?} -> {new:?}");
        }
    }

    #[test]
    fn candidates_name_every_node_once_and_an_empty_ring_none() {
        let ring = Ring::new(&pool(&["a", "b", "c"]), 7);
        let mut order = ring.candidates("someone");
        order.sort();
        assert_eq!(order, ["a", "b", "c"]);
        assert_eq!(ring.pick("someone", |_| false), None);
        assert!(Ring::new(&[], 160).candidates("x").is_empty());
    }

    #[test]
    fn placement_is_fixed_across_versions() {
        // A login's node must never change with a rebuild: other proxies
        // (and this one after an upgrade) must agree.
        let ring = Ring::new(&pool(&["10.0.0.1", "10.0.0.2", "10.0.0.3"]), 160);
        let placed: Vec<&str> = ["alice", "bob", "carol", "dave"]
            .iter()
            .map(|l| ring.pick(l, |_| true).unwrap())
            .collect();
        assert_eq!(placed, PLACED);
    }

    /// Where these logins land on this pool (SHA-256 points
    /// `"{node}#{n}"`, 160 per node); a change here means proxied accounts
    /// moved.
    const PLACED: [&str; 4] = ["10.0.0.3", "10.0.0.1", "10.0.0.2", "10.0.0.3"];
}
