//! The health probes of the pool: every `probe_interval_secs`, each
//! backend's IMAP port gets a connection (PROXY LOCAL header and TLS as
//! configured) and must greet within `connect_timeout_secs`. The results
//! go to [`super::health::Health`], which takes nodes out of the ring and
//! brings them back.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use crate::service::Service;
use crate::shared::Shared;

/// Probes the pool of the configuration in force until shutdown (doing
/// nothing while proxy mode is off).
pub(crate) async fn run(current: Arc<RwLock<Arc<Shared>>>) {
    loop {
        let Ok(shared) = current.read().map(|s| Arc::clone(&s)) else {
            return;
        };
        let interval = match &shared.proxy {
            Some(proxy) => {
                let probes = proxy.ring.nodes().iter().map(|node| {
                    let proxy = Arc::clone(proxy);
                    let node = node.clone();
                    tokio::spawn(async move {
                        let result = super::backend::probe(&proxy, &node, Service::Imap).await;
                        (node, result)
                    })
                });
                let probes: Vec<_> = probes.collect();
                for probe in probes {
                    let Ok((node, result)) = probe.await else {
                        continue;
                    };
                    record(&shared, &node, result);
                }
                Duration::from_secs(proxy.config.probe_interval_secs)
            }
            None => Duration::from_secs(5),
        };
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            () = shared.shutting_down() => return,
        }
    }
}

fn record(shared: &Shared, node: &str, result: Result<(), String>) {
    let Some(proxy) = &shared.proxy else { return };
    let c = &proxy.config;
    let change = proxy
        .health
        .probed(node, result.is_ok(), c.down_after, c.up_after);
    match (change, result) {
        (Some(super::health::Change::Down), Err(why)) => {
            tracing::warn!(backend = %node, "backend out of the ring: {why}");
        }
        (Some(super::health::Change::Up), _) => {
            tracing::info!(backend = %node, "backend back in the ring");
        }
        (None, Err(why)) => tracing::debug!(backend = %node, "probe failed: {why}"),
        _ => {}
    }
    crate::metrics::backend_up(node, proxy.health.is_up(node));
}
