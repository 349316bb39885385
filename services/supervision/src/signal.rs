//! Integrity signals (八(四) 弄虚作假; docs/integrity.md): officers list what supervision's own
//! records show, dismiss what is innocent with a reason, and confirm the rest by an inspection
//! (SIGNAL-STATE); a class's signals can be computed again from its records (the backfill).
//! Signals are raised by the write paths themselves ([`crate::watch`]), never by these calls,
//! and never refuse anything.
//!
//! Who sees what: a county officer the signals of classes trained in their county, and of their
//! evidence only what lies in their county (the rest is counted); the city and auditors all.
//! Evidence names records (event ids, resource names), never a person's ID number, name or
//! phone. Providers see no signal.

use qiancheng_api::convert::{FromProto as _, Shown as _};
use qiancheng_api::supervision::*;
use qiancheng_platform::auth::{Principal, Role, Scope};
use qiancheng_platform::page::PageRequest;
use qiancheng_platform::record::{self, Filter};
use qiancheng_platform::{Call, Error, write};
use serde_json::json;

use crate::Supervision;
use crate::access;
use crate::store::class as classes;
use crate::store::inspection as inspections;
use crate::store::signal::{self as store, SignalRecord, SignalState};
use crate::watch;
use qiancheng_domain::policy::integrity;

/// What signals the caller may read: the city and auditors all, a county officer their county.
fn signal_scope(principal: &Principal) -> Result<Scope, Error> {
    Scope::of(principal, &[Role::CityAdmin, Role::Auditor], None)
        .ok_or_else(|| Error::denied("signals are for officers of the class's county, the city and auditors"))
}

/// The signal as a caller of `scope` sees it: evidence outside an officer's county is counted,
/// not shown.
fn to_proto(record: &SignalRecord, scope: &Scope) -> Signal {
    let visible = |region: &str| match scope {
        Scope::Region(own) => own.code() == region,
        _ => true,
    };
    let (shown, elsewhere): (Vec<_>, Vec<_>) = record.evidence.iter().partition(|e| visible(&e.region_code));
    Signal {
        name: record.name(),
        class: format!("classes/{}", record.class_id),
        evidence: shown
            .into_iter()
            .map(|e| SignalEvidence {
                kind: e.kind.code().to_owned(),
                class: format!("classes/{}", e.class_id),
                id: e.id.clone(),
                at_micros: e.at_micros,
            })
            .collect(),
        evidence_elsewhere: i32::try_from(elsewhere.len()).unwrap_or(i32::MAX),
        parameters: record
            .parameters
            .iter()
            .map(|(name, value)| SignalParameter { name: name.clone(), value: *value })
            .collect(),
        ..record.shown()
    }
}

/// ListSignals: the signals in the caller's reach, highest severity first, then newest.
pub async fn list_signals(s: &Supervision, call: Call<ListSignalsRequest>) -> Result<ListSignalsResponse, Error> {
    let scope = signal_scope(&call.principal)?;
    let m = &call.message;
    let state = SignalState::from_proto(m.state).map_err(|e| Error::invalid_value("state", e))?;
    let code = m.code.trim();
    if !code.is_empty() && !integrity::CODES.contains(&code) {
        return Err(Error::invalid("code", "SIGNAL-CODE", format!("one of {}", integrity::CODES.join(", "))));
    }
    let mut filter = Filter::new().within(&scope, "g.region_code", None);
    if !m.class.is_empty() {
        let class = access::class_in(s.db.pool(), &scope, &m.class, "class").await?;
        filter = filter.eq("g.class_id", class.id);
    }
    let filter = filter.eq_given("g.state", state.map(SignalState::code)).eq_given("g.code", Some(code));
    let page = PageRequest::parse(
        m.page_size,
        &m.page_token,
        &format!("signals|{}|{}|{}", m.class, state.map_or("", SignalState::code), code),
    )?;
    let mut records = store::list(s.db.pool(), filter, &page.after, page.fetch_limit()).await?;
    let next_page_token = page.finish(&mut records, store::list_key);
    Ok(ListSignalsResponse { signals: records.iter().map(|r| to_proto(r, &scope)).collect(), next_page_token })
}

/// Reads the signal `name` an officer of `scope` may decide, under its turn.
async fn signal_to_decide(
    change: &mut write::Change,
    scope: &Scope,
    name: &str,
    etag: &str,
) -> Result<SignalRecord, Error> {
    let id = access::id_of(name, "signals", "name")?;
    let Some(found) = record::find::<SignalRecord>(&mut *change.tx, id).await? else {
        return Err(scope.missing(name));
    };
    scope.check(found.region, &found.provider_credit_code)?;
    change.serialize_on(&format!("signal/{}", found.signal_key)).await?;
    let signal = record::find::<SignalRecord>(&mut *change.tx, id).await?.ok_or_else(|| scope.missing(name))?;
    signal.stamp.check(etag)?;
    if signal.state != SignalState::Open {
        return Err(Error::precondition(
            "SIGNAL-STATE",
            format!("the signal is {}; only an open signal is dismissed or confirmed", signal.state.code()),
        ));
    }
    Ok(signal)
}

/// DismissSignal: an officer finds an open signal innocent, with the reason.
pub async fn dismiss_signal(s: &Supervision, call: Call<DismissSignalRequest>) -> Result<DismissSignalResponse, Error> {
    let scope = access::officer_scope(&call.principal)?;
    let m = &call.message;
    let officer = call.principal.subject.clone();
    write::run(s, &call, async |change| {
        let mut signal = signal_to_decide(change, &scope, &m.name, &m.etag).await?;
        signal.state = SignalState::Dismissed;
        signal.state_note = m.reason.trim().to_owned();
        signal.decided_by = officer.clone();
        signal.stamp.touch();
        record::update(&mut change.tx, &signal).await?;
        change.audit(
            "signal.dismiss",
            signal.name(),
            json!({ "code": signal.code, "class": format!("classes/{}", signal.class_id), "reason": signal.state_note }),
        );
        Ok(DismissSignalResponse { signal: Some(to_proto(&signal, &scope)) })
    })
    .await
}

/// ConfirmSignal: an officer confirms an open signal by an inspection of its class, recorded
/// already or to come.
pub async fn confirm_signal(s: &Supervision, call: Call<ConfirmSignalRequest>) -> Result<ConfirmSignalResponse, Error> {
    let scope = access::officer_scope(&call.principal)?;
    let m = &call.message;
    let linked = if m.inspection.is_empty() {
        None
    } else {
        Some(access::child_of(&m.inspection, "inspections", "inspection")?)
    };
    let officer = call.principal.subject.clone();
    write::run(s, &call, async |change| {
        let mut signal = signal_to_decide(change, &scope, &m.name, &m.etag).await?;
        match linked {
            Some((class_id, inspection_id)) => {
                if class_id != signal.class_id {
                    return Err(Error::invalid(
                        "inspection",
                        "SIGNAL-STATE",
                        "a signal is confirmed by an inspection of its own class",
                    ));
                }
                let inspection = inspections::find(&mut *change.tx, class_id, inspection_id)
                    .await?
                    .ok_or_else(|| Error::NotFound(m.inspection.clone()))?;
                signal.state = SignalState::Confirmed;
                signal.inspection = inspection.name();
            }
            None => signal.state = SignalState::InspectionDue,
        }
        signal.state_note = m.note.trim().to_owned();
        signal.decided_by = officer.clone();
        signal.stamp.touch();
        record::update(&mut change.tx, &signal).await?;
        change.audit(
            "signal.confirm",
            signal.name(),
            json!({ "code": signal.code, "class": format!("classes/{}", signal.class_id),
                "state": signal.state.code(), "inspection": signal.inspection, "note": signal.state_note }),
        );
        Ok(ConfirmSignalResponse { signal: Some(to_proto(&signal, &scope)) })
    })
    .await
}

/// RecomputeSignals: every signal of a class computed again from its records.
pub async fn recompute_signals(
    s: &Supervision,
    call: Call<RecomputeSignalsRequest>,
) -> Result<RecomputeSignalsResponse, Error> {
    let scope = access::officer_scope(&call.principal)?;
    let m = &call.message;
    let class_id = access::id_of(&m.class, "classes", "class")?;
    write::run(s, &call, async |change| {
        let class = access::class_by_id(&mut *change.tx, &scope, class_id, &m.class).await?;
        change.serialize_on(&format!("class/{}", class.id)).await?;
        let class = classes::find(&mut *change.tx, &class.id).await?.ok_or_else(|| Error::NotFound(m.class.clone()))?;
        let all = watch::recompute(s, change, &class).await?;
        change.audit_under(&class.policy_version, "signal.recompute", class.name(), json!({ "signals": all.len() }));
        Ok(RecomputeSignalsResponse { signals: all.iter().map(|r| to_proto(r, &scope)).collect() })
    })
    .await
}
