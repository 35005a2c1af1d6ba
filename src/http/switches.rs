//! Scenario switches: per operation, force a documented status or named example, add latency or
//! a failure rate, for every caller, until a count of calls or a time runs out. A frontend open
//! in another tab then shows its error state without changing its code. The admin API
//! (`/__admin/scenarios`) and [`MockServer::force`](crate::MockServer::force) share one store.

use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// What a switch makes an operation answer, for every caller.
///
/// ```
/// let switch = specmock::Switch::operation("listBucket").status(503).times(3);
/// # let _ = switch;
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[non_exhaustive]
pub struct Switch {
    /// The operationId it applies to.
    pub operation: String,
    /// Answer with this declared status (its first example, or the error envelope).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Answer with this named example.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub example: Option<String>,
    /// Wait this long before answering, in milliseconds.
    #[serde(default)]
    pub delay_ms: u64,
    /// Answer this share of calls (0.0 to 1.0) with the documented 500.
    #[serde(default)]
    pub fail_rate: f64,
    /// Apply to this many calls, then lift; None applies until cleared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u64>,
    /// Lift after this many seconds; None applies until cleared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds: Option<f64>,
}

impl Switch {
    /// A switch for the operation with this operationId; by itself it changes nothing.
    pub fn operation(id: impl Into<String>) -> Switch {
        Switch { operation: id.into(), ..Switch::default() }
    }

    /// Answers with this declared status.
    pub fn status(mut self, status: u16) -> Switch {
        self.status = Some(status);
        self
    }

    /// Answers with this named example.
    pub fn example(mut self, name: impl Into<String>) -> Switch {
        self.example = Some(name.into());
        self
    }

    /// Waits this long before answering.
    pub fn delay(mut self, delay: Duration) -> Switch {
        self.delay_ms = delay.as_millis().min(u64::MAX as u128) as u64;
        self
    }

    /// Answers this share of calls with the documented 500.
    pub fn fail_rate(mut self, share: f64) -> Switch {
        self.fail_rate = share;
        self
    }

    /// Applies to the next `calls` calls only.
    pub fn times(mut self, calls: u64) -> Switch {
        self.times = Some(calls);
        self
    }

    /// Applies for this long only.
    pub fn for_duration(mut self, lifetime: Duration) -> Switch {
        self.seconds = Some(lifetime.as_secs_f64());
        self
    }
}

/// What a switch does to one call.
#[derive(Debug, Default)]
pub(crate) struct Applied {
    pub(crate) status: Option<u16>,
    pub(crate) example: Option<String>,
    pub(crate) delay: Duration,
    pub(crate) fail: bool,
}

#[derive(Debug)]
struct Active {
    id: u64,
    switch: Switch,
    until: Option<Instant>,
    calls: u64,
}

impl Active {
    fn spent(&self, now: Instant) -> bool {
        self.until.is_some_and(|u| now >= u) || self.switch.times.is_some_and(|t| self.calls >= t)
    }
}

/// The switches in force.
#[derive(Debug, Default)]
pub(crate) struct Switches {
    /// How many are in force, read without the lock so requests pay nothing when none is.
    count: AtomicUsize,
    list: Mutex<(u64, Vec<Active>)>,
}

impl Switches {
    fn lock(&self) -> std::sync::MutexGuard<'_, (u64, Vec<Active>)> {
        self.list.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Puts `switch` in force, replacing any for the same operation; its id.
    pub(crate) fn add(&self, switch: Switch) -> u64 {
        let mut list = self.lock();
        list.0 += 1;
        let id = list.0;
        list.1.retain(|a| a.switch.operation != switch.operation);
        let until = switch.seconds.map(|s| Instant::now() + Duration::from_secs_f64(s.clamp(0.0, 1e9)));
        list.1.push(Active { id, switch, until, calls: 0 });
        self.count.store(list.1.len(), Ordering::Release);
        id
    }

    /// Lifts the switch `id`; whether it was in force.
    pub(crate) fn remove(&self, id: u64) -> bool {
        let mut list = self.lock();
        let before = list.1.len();
        list.1.retain(|a| a.id != id);
        self.count.store(list.1.len(), Ordering::Release);
        list.1.len() < before
    }

    /// Lifts every switch.
    pub(crate) fn clear(&self) {
        let mut list = self.lock();
        list.1.clear();
        self.count.store(0, Ordering::Release);
    }

    /// The switches in force, as `/__admin/scenarios` lists them.
    pub(crate) fn to_json(&self) -> serde_json::Value {
        let now = Instant::now();
        let mut list = self.lock();
        list.1.retain(|a| !a.spent(now));
        self.count.store(list.1.len(), Ordering::Release);
        let active: Vec<serde_json::Value> = list
            .1
            .iter()
            .map(|a| {
                let mut entry = serde_json::to_value(&a.switch).unwrap_or_default();
                entry["id"] = a.id.into();
                entry["calls"] = a.calls.into();
                if let Some(until) = a.until {
                    entry["secondsLeft"] = until.saturating_duration_since(now).as_secs_f64().into();
                }
                entry
            })
            .collect();
        serde_json::json!({ "scenarios": active })
    }

    /// What the switch for `operation` does to this call, counting it; None when none applies.
    pub(crate) fn take(&self, operation: &str) -> Option<Applied> {
        if self.count.load(Ordering::Acquire) == 0 {
            return None;
        }
        let now = Instant::now();
        let mut list = self.lock();
        let at = list.1.iter().position(|a| a.switch.operation == operation)?;
        if list.1[at].spent(now) {
            list.1.remove(at);
            self.count.store(list.1.len(), Ordering::Release);
            return None;
        }
        let active = &mut list.1[at];
        active.calls += 1;
        let fail = active.switch.fail_rate > 0.0 && draw(active.id, active.calls) < active.switch.fail_rate;
        Some(Applied {
            status: active.switch.status,
            example: active.switch.example.clone(),
            delay: Duration::from_millis(active.switch.delay_ms),
            fail,
        })
    }
}

/// A number in [0, 1) fixed by the switch and the call, so a failure rate repeats run to run.
fn draw(id: u64, call: u64) -> f64 {
    let mut hasher = foldhash::fast::FixedState::with_seed(0x5c3a).build_hasher();
    hasher.write_u64(id);
    hasher.write_u64(call);
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_switch_applies_for_its_count_then_lifts() {
        let switches = Switches::default();
        assert!(switches.take("listBucket").is_none());
        switches.add(Switch::operation("listBucket").status(503).times(2));
        assert_eq!(switches.take("listBucket").unwrap().status, Some(503));
        assert!(switches.take("other").is_none());
        assert_eq!(switches.take("listBucket").unwrap().status, Some(503));
        assert!(switches.take("listBucket").is_none(), "lifted after two calls");
        assert_eq!(switches.to_json()["scenarios"], serde_json::json!([]));
    }

    #[test]
    fn switches_lift_by_time_or_by_hand_and_replace_each_other() {
        let switches = Switches::default();
        switches.add(Switch::operation("a").example("empty").for_duration(Duration::ZERO));
        assert!(switches.take("a").is_none(), "already expired");
        let first = switches.add(Switch::operation("b").delay(Duration::from_millis(5)));
        let second = switches.add(Switch::operation("b").status(404));
        assert!(!switches.remove(first), "replaced by the second");
        assert_eq!(switches.take("b").unwrap().status, Some(404));
        assert!(switches.remove(second));
        assert!(switches.take("b").is_none());
    }

    #[test]
    fn a_failure_rate_repeats_and_holds_its_share() {
        let switches = Switches::default();
        switches.add(Switch::operation("a").fail_rate(0.25));
        let fails = (0..4000).filter(|_| switches.take("a").unwrap().fail).count();
        assert!((800..1200).contains(&fails), "{fails} of 4000");
        let again = Switches::default();
        again.add(Switch::operation("a").fail_rate(0.25));
        let repeat = (0..4000).filter(|_| again.take("a").unwrap().fail).count();
        assert_eq!(fails, repeat, "the same draws run to run");
    }
}
