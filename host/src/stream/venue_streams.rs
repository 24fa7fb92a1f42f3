//! All connections of one venue's stream, and instruments joining them while they run (pairs
//! adopted by a running engine). A joining instrument goes onto a running connection that has
//! room under the plugin's cap (`StreamSpec::max_instruments`), which subscribes it at once and
//! resubscribes it after every reconnect; what no running connection has room for starts new
//! connections. Instruments no pair wants any more (retired pairs) leave them (`retain`): each
//! connection unsubscribes those it carries and does not subscribe them again.

use plugin_api::ffi::VenueHandle;
use plugin_api::StreamChannel;
use std::collections::HashSet;
use std::sync::Arc;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::connection::Connection;
use super::{plan, Sink, StreamOptions};
use crate::plugins::guard::Guarded;
use crate::venue_io::Clock;

/// Where joining instruments go: onto running connections, then onto new ones.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct AddPlan {
    /// (connection index, instruments it adds).
    pub onto: Vec<(usize, Vec<String>)>,
    /// Instruments of each new connection.
    pub new: Vec<Vec<String>>,
}

/// Spreads `instruments` over connections carrying `loads` instruments each: every connection
/// takes what fits under `cap` (in order), the rest start new connections of at most `cap`.
/// Without a cap everything goes onto the first connection (or one new one if none runs).
pub fn plan_add(loads: &[usize], instruments: &[String], cap: Option<u32>) -> AddPlan {
    let mut out = AddPlan::default();
    if instruments.is_empty() {
        return out;
    }
    let cap = match cap {
        Some(c) if c > 0 => c as usize,
        _ => {
            if loads.is_empty() {
                out.new.push(instruments.to_vec());
            } else {
                out.onto.push((0, instruments.to_vec()));
            }
            return out;
        }
    };
    let mut rest = instruments;
    for (index, load) in loads.iter().enumerate() {
        let room = cap.saturating_sub(*load).min(rest.len());
        if room > 0 {
            let (take, left) = rest.split_at(room);
            out.onto.push((index, take.to_vec()));
            rest = left;
        }
    }
    out.new = plan(rest, Some(cap as u32));
    out
}

/// A change to a running connection's instruments, sent to its task.
#[derive(Debug)]
pub enum Change {
    /// Subscribe these as well.
    Add(Vec<String>),
    /// Unsubscribe these; they are not subscribed again after a reconnect.
    Remove(Vec<String>),
}

/// One running connection as its venue's streams see it.
struct Link {
    /// Changes to its instruments, to the connection's task.
    changes: mpsc::UnboundedSender<Change>,
    /// The instruments it carries.
    instruments: HashSet<String>,
    task: JoinHandle<()>,
}

/// The running connections of one venue's stream (see `super::start`). Dropping it leaves
/// them running (until `stop`); they only take no more instruments.
pub struct VenueStreams {
    pub(super) plugin: Arc<Guarded<VenueHandle>>,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) channel: StreamChannel,
    pub(super) opts: StreamOptions,
    pub(super) out: Sink,
    pub(super) stop: watch::Receiver<bool>,
    /// The plugin's per-connection cap.
    pub(super) cap: Option<u32>,
    /// Every instrument some connection carries.
    carried: HashSet<String>,
    links: Vec<Link>,
}

impl VenueStreams {
    /// No connection yet; `spawn` and `add` start them.
    pub(super) fn new(
        plugin: Arc<Guarded<VenueHandle>>,
        clock: Arc<dyn Clock>,
        channel: StreamChannel,
        opts: StreamOptions,
        out: Sink,
        stop: watch::Receiver<bool>,
        cap: Option<u32>,
    ) -> Self {
        VenueStreams {
            plugin,
            clock,
            channel,
            opts,
            out,
            stop,
            cap,
            carried: HashSet::new(),
            links: Vec::new(),
        }
    }

    /// Starts one connection carrying `instruments`.
    pub(super) fn spawn(&mut self, instruments: Vec<String>) {
        let (tx, rx) = mpsc::unbounded_channel();
        self.carried.extend(instruments.iter().cloned());
        let carries: HashSet<String> = instruments.iter().cloned().collect();
        let c = Connection {
            plugin: self.plugin.clone(),
            clock: self.clock.clone(),
            channel: self.channel,
            instruments,
            changes: Some(rx),
            out: self.out.clone(),
            opts: self.opts.clone(),
            index: self.links.len(),
        };
        let task = tokio::spawn(c.run(self.stop.clone()));
        self.links.push(Link {
            changes: tx,
            instruments: carries,
            task,
        });
    }

    /// Subscribes those of `instruments` no connection carries yet, at once: onto running
    /// connections while they have room, on new connections beyond. Returns them. Does not
    /// wait (safe under a lock). A user stream carries the whole account: nothing to add.
    pub fn add(&mut self, instruments: &[String]) -> Vec<String> {
        if self.channel == StreamChannel::User || *self.stop.borrow() {
            return Vec::new();
        }
        let mut seen = HashSet::new();
        let fresh: Vec<String> = instruments
            .iter()
            .filter(|i| !self.carried.contains(*i) && seen.insert(i.as_str()))
            .cloned()
            .collect();
        if fresh.is_empty() {
            return fresh;
        }
        let loads: Vec<usize> = self.links.iter().map(|l| l.instruments.len()).collect();
        let p = plan_add(&loads, &fresh, self.cap);
        let mut added = Vec::new();
        for (index, list) in p.onto {
            let link = &mut self.links[index];
            // A connection whose task ended (the run is stopping) takes nothing.
            if link.changes.send(Change::Add(list.clone())).is_ok() {
                link.instruments.extend(list.iter().cloned());
                self.carried.extend(list.iter().cloned());
                added.extend(list);
            }
        }
        for list in p.new {
            added.extend(list.iter().cloned());
            self.spawn(list);
        }
        added
    }

    /// Unsubscribes every instrument a connection carries that is not in `wanted`, at once.
    /// Returns them. Does not wait (safe under a lock). A connection left with none keeps
    /// running and takes instruments that join later.
    pub fn retain(&mut self, wanted: &HashSet<String>) -> Vec<String> {
        if self.channel == StreamChannel::User || *self.stop.borrow() {
            return Vec::new();
        }
        let mut removed = Vec::new();
        for link in &mut self.links {
            let mut list: Vec<String> = link
                .instruments
                .iter()
                .filter(|i| !wanted.contains(*i))
                .cloned()
                .collect();
            if list.is_empty() {
                continue;
            }
            list.sort();
            // A connection whose task ended (the run is stopping) keeps its list.
            if link.changes.send(Change::Remove(list.clone())).is_ok() {
                for i in &list {
                    link.instruments.remove(i);
                    self.carried.remove(i);
                }
                removed.extend(list);
            }
        }
        removed
    }

    /// Instruments the connections carry.
    pub fn instruments(&self) -> usize {
        self.carried.len()
    }

    /// Connections started.
    pub fn connections(&self) -> usize {
        self.links.len()
    }

    /// The connections' tasks (they end on `stop`).
    pub fn into_tasks(self) -> Vec<JoinHandle<()>> {
        self.links.into_iter().map(|l| l.task).collect()
    }
}
