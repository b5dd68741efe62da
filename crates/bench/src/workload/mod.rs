//! The four workloads. Each takes the [`Common`] settings and its own
//! arguments, prints a human summary and returns a JSON [`Outcome`].

pub mod bigfolder;
pub mod idle;
pub mod logins;
pub mod mixed;

use std::time::Duration;

use serde_json::Value;

use crate::conn::Target;

/// Settings every workload shares.
#[derive(Clone)]
pub struct Common {
    /// The server.
    pub target: Target,
    /// User name, `%d` replaced by a user number in `1..=users`; or a
    /// comma-separated list of names, used in turn.
    pub user_pattern: String,
    /// Password of every user.
    pub password: String,
    /// How many users `%d` ranges over.
    pub users: usize,
    /// Per-command timeout.
    pub timeout: Duration,
    /// Short run for tests: fewer clients, seconds and checks made strict.
    pub quick: bool,
}

impl Common {
    /// The user name for client `i` (`%d` → `i % users + 1`; from a list,
    /// the `i % len`-th name).
    pub fn user(&self, i: usize) -> String {
        if self.user_pattern.contains(',') {
            let names: Vec<&str> = self.user_pattern.split(',').collect();
            return names[i % names.len()].to_string();
        }
        let n = i % self.users.max(1) + 1;
        self.user_pattern.replace("%d", &n.to_string())
    }
}

/// A workload's result: the figures, and whether its correctness checks
/// passed.
pub struct Outcome {
    /// Figures, as written to `--json`.
    pub result: Value,
    /// False when a check failed (wrong counts, failed operations where
    /// none are allowed).
    pub ok: bool,
    /// Why the checks failed, one line each.
    pub problems: Vec<String>,
}

/// Round to 3 decimals for printing and JSON.
pub fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1_000_000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn common(pattern: &str, users: usize) -> Common {
        Common {
            target: Target::new("127.0.0.1", 1, false).expect("plain target"),
            user_pattern: pattern.into(),
            password: String::new(),
            users,
            timeout: Duration::from_secs(1),
            quick: true,
        }
    }

    #[test]
    fn user_names() {
        assert_eq!(common("user%d", 3).user(0), "user1");
        assert_eq!(common("user%d", 3).user(5), "user3");
        assert_eq!(common("big", 3).user(5), "big");
        assert_eq!(common("alice,bob", 1).user(3), "bob");
    }
}
