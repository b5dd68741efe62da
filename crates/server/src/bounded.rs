//! Tables with a bound on their size, for state a client (or a front end
//! taken over by one) can make the server keep.

use std::collections::HashMap;
use std::hash::Hash;
use std::time::Instant;

/// Makes room for one more entry in `map`, which holds at most `max`:
/// drops the entries `stale` says are, and if that is not enough the one
/// with the oldest `time`.
pub fn make_room<K: Eq + Hash + Clone, V>(
    map: &mut HashMap<K, V>,
    max: usize,
    stale: impl Fn(&V) -> bool,
    time: impl Fn(&V) -> Instant,
) {
    if map.len() < max {
        return;
    }
    map.retain(|_, v| !stale(v));
    if map.len() >= max {
        let oldest = map
            .iter()
            .min_by_key(|(_, v)| time(v))
            .map(|(k, _)| k.clone());
        if let Some(k) = oldest {
            map.remove(&k);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn stale_entries_go_first_then_the_oldest() {
        let t = Instant::now();
        let at = |s| t + Duration::from_secs(s);
        let mut map: HashMap<u8, Instant> = [(1, at(5)), (2, at(1)), (3, at(9))].into();
        make_room(&mut map, 4, |_| true, |v| *v);
        assert_eq!(map.len(), 3, "room enough: nothing goes");
        make_room(&mut map, 3, |v| *v < at(2), |v| *v);
        assert!(!map.contains_key(&2) && map.len() == 2);
        make_room(&mut map, 2, |_| false, |v| *v);
        assert_eq!(map.keys().copied().collect::<Vec<_>>(), [3]);
    }
}
