//! A provider's standing in selection as supervision acts on it (PROV-DISQUALIFIED, 八(四)
//! 终止培训、取消承办资质): when selection has disqualified a provider, every class of it that
//! still runs stops and its trainees are terminated with that reason, and attendance and
//! completion on its classes are refused.
//!
//! Supervision learns it two ways, never inside a transaction while it asks: each write it gates
//! reads the provider's standing first ([`gate`]: a chunk of attendance, a completion), and a
//! background task checks every provider with a running class at an interval
//! (`QIANCHENG_STANDING_SWEEP_INTERVAL_MS`, [`sweep`]). A referral selection accepted stops the
//! provider's other classes at once ([`stop_provider`]).

use std::time::Duration;

use qiancheng_domain::lifecycle::{ClassState, Lifecycle as _};
use qiancheng_platform::Error;
use qiancheng_platform::write::Change;
use serde_json::json;

use crate::Supervision;
use crate::peer::{self, Standing};
use crate::store::class as classes;
use crate::store::class_change::{self as feed, ChangeKind};
use crate::store::standing as store;
use crate::store::trainee;

/// Who the audit chain names for what supervision does of its own accord.
pub const ACTOR: &str = "service:supervision";

/// How a gated write treats a selection that cannot be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenUnreachable {
    /// Go on (attendance: devices must not lose a session because selection is down; the sweep
    /// catches a disqualification later).
    Proceed,
    /// Refuse with selection's unavailability (completion: done once, retried later).
    Refuse,
}

/// Refuses a write on a class of `provider` when selection has disqualified it
/// (`FAILED_PRECONDITION PROV-DISQUALIFIED`), stopping its running classes first.
pub async fn gate(s: &Supervision, provider: &str, unreachable: WhenUnreachable) -> Result<(), Error> {
    match peer::provider_standing(s, provider).await {
        Ok(Standing::Good) => Ok(()),
        Ok(Standing::Disqualified(why)) => {
            stop_provider(s, provider, &why).await?;
            Err(Error::precondition(
                "PROV-DISQUALIFIED",
                format!("the provider is disqualified in selection ({why}); its classes are stopped"),
            ))
        }
        Err(error) if unreachable == WhenUnreachable::Proceed => {
            tracing::warn!(%error, "selection's standing could not be read; the write goes on");
            Ok(())
        }
        Err(error) => Err(error),
    }
}

/// Stops every class of `provider` that still runs, terminating its trainees on the roster, with
/// the reason `PROV-DISQUALIFIED: {why}`, in one transaction. Returns the classes stopped.
pub async fn stop_provider(s: &Supervision, provider: &str, why: &str) -> Result<Vec<String>, Error> {
    let reason = format!("PROV-DISQUALIFIED: {why}");
    let today = s.today();
    let mut change = Change::open(s, ACTOR).await?;
    let mut stopped = Vec::new();
    for id in store::open_classes_of(&mut change.tx, provider).await? {
        change.serialize_on(&format!("class/{id}")).await?;
        let Some(mut class) = classes::find(&mut *change.tx, &id).await? else { continue };
        if !class.running() {
            continue;
        }
        class.state = class.state.to(ClassState::Stopped)?;
        class.stopped_on = Some(today);
        class.stop_reason = reason.clone();
        class.stamp.touch();
        classes::update(&mut change.tx, &class).await?;
        // 终止培训: every trainee still active is terminated with the stop's reason.
        let terminated: Vec<String> = trainee::terminate_active(&mut change.tx, &class.id, today, &reason)
            .await?
            .iter()
            .map(|t| t.name())
            .collect();
        change.audit_under(
            &class.policy_version,
            "class.stop",
            class.name(),
            json!({ "state": class.state.code(), "stopped_on": today.to_string(), "reason": reason,
                "terminated": terminated }),
        );
        stopped.push(class);
    }
    // Outcome and subsidy learn of each stop from the change feed, noted after every class's turn
    // was taken (the feed's turn comes last in a change).
    for class in &stopped {
        feed::note(&mut change, ChangeKind::ClassStopped, class, None, today, ACTOR).await?;
    }
    change.commit().await?;
    if !stopped.is_empty() {
        tracing::info!(classes = stopped.len(), "a disqualified provider's classes are stopped");
    }
    Ok(stopped.iter().map(|c| c.name()).collect())
}

/// Checks every provider with a running class against selection once, stopping the classes of
/// those disqualified. A provider selection cannot be asked about is left for the next round.
pub async fn sweep(s: &Supervision) -> Result<usize, Error> {
    let mut stopped = 0;
    for provider in store::providers_with_open_classes(s.db.pool()).await? {
        match peer::provider_standing(s, &provider).await {
            Ok(Standing::Good) => {}
            Ok(Standing::Disqualified(why)) => stopped += stop_provider(s, &provider, &why).await?.len(),
            Err(error) => tracing::warn!(%error, "selection's standing of a provider could not be read"),
        }
    }
    Ok(stopped)
}

/// Runs [`sweep`] every `interval` for as long as the runtime runs (the first after one
/// interval); nothing when `interval` is zero or there is no runtime.
pub fn start_sweeping(s: Supervision, interval: Duration) {
    if interval.is_zero() {
        return;
    }
    let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
    runtime.spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks.tick().await;
        loop {
            ticks.tick().await;
            if let Err(error) = sweep(&s).await {
                tracing::warn!(%error, "the standing sweep failed; it runs again at the next interval");
            }
        }
    });
}
