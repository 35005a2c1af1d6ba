//! One write, as its behaviour file describes it: the record created or changed, then each
//! effect on other records. Everything is staged first and committed only when no invariant
//! refused, so a refused write changes nothing.

use axum::http::HeaderMap;
use rand::{RngCore, SeedableRng};
use rust_decimal::Decimal;
use serde_json::Value;

use std::sync::Arc;

use crate::behaviour::writes::{Add, Change, Guard, KeyRule, Write};
use crate::http::error::HttpError;
use crate::json::{at, unescaped};
use crate::load::LoadedApi;
use crate::state::money::{decimal, written_like};
use crate::state::template::{replace_at, restore_at, set_at, Before, Scope};
use crate::state::ApiChanges;
use crate::store::merge::{member_weight, Slot};
use crate::store::render::Rendered;

/// A write compiled at load.
#[derive(Debug)]
pub(crate) struct CompiledWrite {
    /// As the behaviour file says it.
    pub(crate) def: Write,
    /// The JSON pointer of the written collection's key.
    pub(crate) key_pointer: String,
    /// The reading operation's path template and the parameter that takes the key.
    pub(crate) read_path: (String, String),
    /// The named computation, if any.
    pub(crate) compute: Option<crate::state::compute::Compute>,
    /// What `{base}` writes: the API's first href placeholder.
    pub(crate) base: String,
    /// Attributes written as null when the record lacks them.
    pub(crate) nulls: Vec<String>,
}

/// A write's outcome, kept for replay when the request had an idempotency key.
#[derive(Clone, Debug)]
pub(crate) struct Written {
    /// The answer's status.
    pub(crate) status: u16,
    /// The record written, as the answer shows it.
    pub(crate) answer: Arc<Rendered>,
    /// Its key.
    pub(crate) key: String,
    /// Whether this is a replay of an earlier answer.
    pub(crate) replayed: bool,
}

/// What a write reads from its request.
pub(crate) struct Request<'a> {
    /// The operationId.
    pub(crate) op: &'a str,
    /// The session's name, which seeds its UUIDs.
    pub(crate) session: &'a str,
    /// Path parameters by name.
    pub(crate) path: &'a [(String, String)],
    /// Request headers.
    pub(crate) headers: &'a HeaderMap,
    /// The validated body (null when none came).
    pub(crate) body: &'a Value,
    /// The caller's user id, for `{user}`.
    pub(crate) user: Option<&'a str>,
    /// The answer's body for a written record.
    pub(crate) show: &'a dyn Fn(&Value) -> Rendered,
}

/// A record one write read or changed: taken out of the session to change in place (and put
/// back), or copied from the index when it first changes.
struct StagedRecord<'d> {
    collection: &'d str,
    slot: Slot,
    /// Taken out of the session's changes (else a copy of the indexed record).
    taken: bool,
    changed: bool,
    /// The top-level members changed, which are all its schema needs to check again; None when
    /// the whole record was.
    touched: Option<Vec<String>>,
    /// What the touched members weighed before the change.
    touched_weight: usize,
    value: Value,
}

/// The records one write read or changed, and how to undo each change to a taken record should
/// the write be refused: a refused write leaves the session as it was, without a copy of every
/// record it touched.
#[derive(Default)]
struct Staged<'d> {
    records: Vec<StagedRecord<'d>>,
    /// Each change to a staged record, latest last: the record, the pointer and what was there.
    undo: Vec<(usize, String, Before)>,
}

impl<'d> Staged<'d> {
    fn find(&self, collection: &str, slot: Slot) -> Option<usize> {
        self.records.iter().position(|r| r.slot == slot && r.collection == collection)
    }

    fn push(&mut self, collection: &'d str, slot: Slot, taken: bool, value: Value) -> usize {
        let touched = Some(Vec::new());
        self.records.push(StagedRecord { collection, slot, taken, changed: false, touched, touched_weight: 0, value });
        self.records.len() - 1
    }

    /// Writes `value` at `pointer` in record `at`, remembering what was there.
    fn set(&mut self, at: usize, pointer: &str, value: Value) -> Result<(), String> {
        let record = &mut self.records[at];
        let member = pointer.strip_prefix('/').map(|p| unescaped(p.split('/').next().unwrap_or_default()));
        match (member, &mut record.touched) {
            (Some(member), Some(touched)) => {
                if !touched.iter().any(|t| *t == member) {
                    record.touched_weight += member_weight(&record.value, &member);
                    touched.push(member.into_owned());
                }
            }
            _ => record.touched = None,
        }
        let before = replace_at(&mut record.value, pointer, value)?;
        record.changed = true;
        if record.taken {
            self.undo.push((at, pointer.to_string(), before));
        }
        Ok(())
    }

    /// Undoes every change and gives the taken records back: the write was refused.
    fn give_back(mut self, changes: &mut ApiChanges) {
        for (at, pointer, before) in self.undo.drain(..).rev() {
            restore_at(&mut self.records[at].value, &pointer, before);
        }
        for record in self.records.into_iter().filter(|r| r.taken) {
            if let Some(kept) = changes.collections.get_mut(record.collection) {
                kept.give_back(record.slot, record.value);
            }
        }
    }

    /// Keeps every changed record in the session, and gives back the others it took.
    fn commit(self, changes: &mut ApiChanges) {
        for record in self.records {
            if !(record.changed || record.taken) {
                continue;
            }
            let kept = match changes.collections.get_mut(record.collection) {
                Some(kept) => kept,
                None => changes.collections.entry(record.collection.to_string()).or_default(),
            };
            // A taken record's weight moves by what its touched members weigh now.
            let delta = match (&record.touched, record.taken) {
                (Some(touched), true) => {
                    let now: usize = touched.iter().map(|m| member_weight(&record.value, m)).sum();
                    Some(now as isize - record.touched_weight as isize)
                }
                _ => None,
            };
            match record.changed {
                true => kept.replace_by(record.slot, record.value, delta),
                false => kept.give_back(record.slot, record.value),
            }
        }
    }
}

/// A record a write reads: staged (taken or changed), or indexed and untouched.
#[derive(Clone, Copy)]
enum Found<'k> {
    Staged(usize),
    Indexed(&'k Value, u32),
}

impl<'k> Found<'k> {
    fn get<'a>(&'a self, staged: &'a Staged) -> &'a Value
    where
        'k: 'a,
    {
        match self {
            Found::Staged(at) => &staged.records[*at].value,
            Found::Indexed(value, _) => value,
        }
    }
}

/// Finds the record of `collection` with `key` (or alias) as the session (and this write so
/// far) sees it. A record the session holds is taken out into `staged`, so it changes in place.
fn locate<'a, 'd>(
    api: &'a LoadedApi,
    changes: &mut ApiChanges,
    staged: &mut Staged<'d>,
    collection: &'d str,
    key: &str,
) -> Option<Found<'a>> {
    let base = api.store.collection(collection)?;
    let kept = changes.collections.get_mut(collection);
    let slot = match &kept {
        Some(kept) => kept.slot(base, key)?,
        None => Slot::Replaced(base.index.find(key)?),
    };
    if let Some(at) = staged.find(collection, slot) {
        return Some(Found::Staged(at));
    }
    if let Some(value) = kept.and_then(|kept| kept.take(slot)) {
        return Some(Found::Staged(staged.push(collection, slot, true, value)));
    }
    let Slot::Replaced(index) = slot else { return None };
    base.records.get(index as usize).map(|value| Found::Indexed(value, index))
}

/// The record of `collection` with `key` as the session sees it, read in place.
fn read<'a>(api: &'a LoadedApi, changes: &'a ApiChanges, collection: &str, key: &str) -> Option<&'a Value> {
    let base = api.store.collection(collection)?;
    match changes.collections.get(collection) {
        Some(kept) => kept.value(base, key),
        None => base.get(key).map(|(_, v)| v),
    }
}

/// The records a template may name: the written `record`, the effect's `item`, each change's
/// record so far, and the change's `target`.
fn named<'v>(
    record: &'v Value,
    item: &'v Value,
    done: &'v [(&'v str, Found<'v>)],
    staged: &'v Staged,
    target: Option<usize>,
) -> smallvec::SmallVec<[(&'v str, &'v Value); 6]> {
    let mut records = smallvec::SmallVec::new();
    records.push(("record", record));
    records.push(("item", item));
    records.extend(done.iter().map(|(name, found)| (*name, found.get(staged))));
    records.extend(target.map(|at| ("target", &staged.records[at].value)));
    records
}

/// Runs `write` against `changes`, committing its records when it succeeds; a refused write
/// leaves `changes` as they were.
pub(crate) fn apply(
    api: &LoadedApi,
    write: &CompiledWrite,
    request: &Request<'_>,
    changes: &mut ApiChanges,
) -> Result<Written, HttpError> {
    let def = &write.def;
    let bare = Scope { named: &[], path: request.path, headers: request.headers, body: request.body, records: &[] };
    let replay_key = match &def.idempotency {
        Some(rule) => bare.text(&rule.key).ok().filter(|k| !k.is_empty()),
        None => None,
    };
    if let Some(key) = &replay_key {
        if let Some(first) = changes.replays.get(&(request.op.to_string(), key.clone())) {
            let answer = match read(api, changes, &def.collection, &first.key) {
                Some(now) => Arc::new((request.show)(now)),
                None => first.answer.clone(),
            };
            return Ok(Written { replayed: true, answer, ..first.clone() });
        }
    }
    let mut staged = Staged::default();
    let (record, key, slot) = match stage(api, write, request, changes, &mut staged) {
        Ok(written) => written,
        Err(refused) => {
            staged.give_back(changes);
            return Err(refused);
        }
    };
    let broken = |what: String| HttpError::new(500, format!("{}: the behaviour file's write {what}", request.op));
    // Every record the write keeps must fit its collection's schema.
    let faults = check(api, &def.collection, &record)
        .map(|fault| format!("would keep {} record {key} that breaks its schema: {fault}", def.collection))
        .or_else(|| {
            staged.records.iter().filter(|r| r.changed).find_map(|r| {
                let fault = check_changed(api, r.collection, &r.value, r.touched.as_deref())?;
                let key = api.store.collection(r.collection).map(|c| c.key_of(&r.value)).unwrap_or_default();
                Some(format!("would keep {} record {key} that breaks its schema: {fault}", r.collection))
            })
        });
    if let Some(fault) = faults {
        staged.give_back(changes);
        return Err(broken(fault));
    }
    let answer = Arc::new((request.show)(&record));
    staged.commit(changes);
    let kept = match changes.collections.get_mut(&def.collection) {
        Some(kept) => kept,
        None => changes.collections.entry(def.collection.clone()).or_default(),
    };
    match slot {
        Some(slot) => kept.replace(slot, record),
        None => kept.add(key.clone(), &record),
    }
    let written = Written { status: def.status.unwrap_or(0), answer, key, replayed: false };
    if let Some(replay_key) = replay_key {
        changes.replay_weight += written.answer.parts().0.len() + written.key.len();
        changes.replays.insert((request.op.to_string(), replay_key), written.clone());
    }
    Ok(written)
}

/// The written record, its key and (for an update) where it is kept, with every effect staged.
fn stage<'d>(
    api: &LoadedApi,
    write: &'d CompiledWrite,
    request: &Request<'_>,
    changes: &mut ApiChanges,
    staged: &mut Staged<'d>,
) -> Result<(Value, String, Option<Slot>), HttpError> {
    let def = &write.def;
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let broken = |what: String| HttpError::new(500, format!("{}: the behaviour file's write {what}", request.op));
    let bare = Scope { named: &[], path: request.path, headers: request.headers, body: request.body, records: &[] };
    let added = changes.collections.get(&def.collection).map_or(0, |c| c.added.len());
    let seq = (added + 1).to_string();
    let (mut record, key, slot) = match &def.update {
        Some(update) => {
            let key = bare.text(&update.key).map_err(broken)?;
            let base = api.store.collection(&def.collection);
            let slot = base.and_then(|base| match changes.collections.get(&def.collection) {
                Some(kept) => kept.slot(base, &key),
                None => base.index.find(&key).map(Slot::Replaced),
            });
            let found = read(api, changes, &def.collection, &key)
                .ok_or_else(|| HttpError::new(404, update.not_found.replace("{key}", &key)))?;
            guarded(&update.only_when, found, &key, &bare)?;
            (found.clone(), key, slot)
        }
        None => {
            let key = match &def.key {
                Some(KeyRule::Sequence { template, first }) => {
                    template.replace("{seq}", &(first + added as u64).to_string())
                }
                Some(KeyRule::Uuid) | None => uuid_for(request.session, &def.collection, added),
            };
            let indexed = api.store.collection(&def.collection).is_some_and(|c| c.index.find(&key).is_some());
            let added = changes.collections.get(&def.collection).is_some_and(|c| c.added_keys.contains_key(&key));
            if indexed || added {
                return Err(HttpError::new(409, format!("a record with the key {key} exists already")));
            }
            let mut record = request.body.clone();
            if !record.is_object() {
                record = Value::Object(Default::default());
            }
            for pointer in &def.drop {
                drop_at(&mut record, pointer);
            }
            set_at(&mut record, &write.key_pointer, Value::String(key.clone())).map_err(broken)?;
            (record, key, None)
        }
    };
    let mut names = vec![("id", key.clone()), ("seq", seq), ("now", now), ("base", write.base.clone())];
    names.extend(request.user.map(|u| ("user", u.to_string())));
    for (pointer, template) in &def.set {
        let value = {
            let scope = Scope { named: &names, records: &[("record", &record)], ..bare };
            scope.value(template).map_err(|e| broken(format!("set {pointer}: {e}")))?
        };
        set_at(&mut record, pointer, value).map_err(|e| broken(format!("set {pointer}: {e}")))?;
    }
    if let Some(compute) = write.compute {
        compute(&mut record).map_err(|e| HttpError::bad_request(format!("body{e}")))?;
    }
    let scope = Scope { named: &names, ..bare };
    for effect in &def.effects {
        if let Some(condition) = &effect.when {
            let value = Scope { records: &[("record", &record)], ..scope }.text(&condition.value).unwrap_or_default();
            if !condition.is.contains(&value) {
                continue;
            }
        }
        let items = match &effect.each {
            Some(pointer) => at(&record, pointer).and_then(Value::as_array).map_or(0, Vec::len),
            None => 1,
        };
        for n in 0..items {
            // Each change's record by name, as staged (when taken or changed) or as indexed.
            let mut done: Vec<(&str, Found)> = Vec::new();
            for change in &effect.changes {
                let item = item_of(&record, effect.each.as_deref(), n);
                let found =
                    changed(api, changes, staged, change, &scope, (&record, item), &done).map_err(|e| match e {
                        Refusal::Broken(what) => broken(format!("change {}: {what}", change.name)),
                        Refusal::Refused(refused) => refused,
                    })?;
                if let Some(found) = found {
                    done.push((change.name.as_str(), found));
                }
            }
            let values = {
                let item = item_of(&record, effect.each.as_deref(), n);
                let records = named(&record, item, &done, staged, None);
                let scope = Scope { records: &records, ..scope };
                effect
                    .record_set
                    .iter()
                    .map(|(pointer, template)| {
                        scope.value(template).map_err(|e| broken(format!("record_set {pointer}: {e}")))
                    })
                    .collect::<Result<Vec<_>, _>>()?
            };
            for ((pointer, _), value) in effect.record_set.iter().zip(values) {
                set_at(&mut record, pointer, value).map_err(|e| broken(format!("record_set {pointer}: {e}")))?;
            }
        }
    }
    if let Value::Object(members) = &mut record {
        for name in &write.nulls {
            if !members.contains_key(name) {
                members.insert(name.clone(), Value::Null);
            }
        }
    }
    Ok((record, key, slot))
}

/// Item `n` of the array at `each` in `record`; null when the effect has no `each`.
fn item_of<'v>(record: &'v Value, each: Option<&str>, n: usize) -> &'v Value {
    static NULL: Value = Value::Null;
    each.and_then(|pointer| at(record, pointer)).and_then(|items| items.get(n)).unwrap_or(&NULL)
}

/// Why a change did not happen.
enum Refusal {
    /// The behaviour file names something that is not there.
    Broken(String),
    /// An invariant refused the write.
    Refused(HttpError),
}

/// One change: its target found, guarded and changed in place; None when it is not there and
/// may be skipped. `written` is the written record and the effect's item.
fn changed<'a, 'd>(
    api: &'a LoadedApi,
    changes: &mut ApiChanges,
    staged: &mut Staged<'d>,
    change: &'d Change,
    scope: &Scope<'_>,
    written: (&Value, &Value),
    done: &[(&str, Found<'a>)],
) -> Result<Option<Found<'a>>, Refusal> {
    let (record, item) = written;
    let key = {
        let records = named(record, item, done, staged, None);
        Scope { records: &records, ..*scope }.text(&change.key).map_err(Refusal::Broken)?
    };
    let Some(found) = locate(api, changes, staged, &change.collection, &key) else {
        return match &change.not_found {
            Some(message) => Err(Refusal::Refused(HttpError::new(404, message.replace("{key}", &key)))),
            None => Ok(None),
        };
    };
    {
        let records = named(record, item, done, staged, None);
        let scope = Scope { records: &records, ..*scope };
        guarded(&change.only_when, found.get(staged), &key, &scope).map_err(Refusal::Refused)?;
    }
    if change.add.is_empty() && change.set.is_empty() {
        return Ok(Some(found));
    }
    let target = match found {
        Found::Staged(at) => at,
        Found::Indexed(value, index) => staged.push(&change.collection, Slot::Replaced(index), false, value.clone()),
    };
    for add in &change.add {
        let (field, value) = {
            let records = named(record, item, done, staged, None);
            let scope = Scope { records: &records, ..*scope };
            added(add, &scope, &staged.records[target].value, &key)?
        };
        staged.set(target, &field, value).map_err(Refusal::Broken)?;
    }
    for (pointer, template) in &change.set {
        let value = {
            let records = named(record, item, done, staged, Some(target));
            Scope { records: &records, ..*scope }.value(template).map_err(Refusal::Broken)?
        };
        staged.set(target, pointer, value).map_err(Refusal::Broken)?;
    }
    Ok(Some(Found::Staged(target)))
}

/// Where one `add` writes in `target`, and the sum it writes; refused when the sum falls below
/// its floor or cannot be exact.
fn added(add: &Add, scope: &Scope<'_>, target: &Value, key: &str) -> Result<(String, Value), Refusal> {
    let field = scope.pointer(&add.field).map_err(Refusal::Broken)?;
    let amount_value = scope.value(&Value::String(add.amount.clone())).map_err(Refusal::Broken)?;
    // A request's amount may be longer than exact arithmetic holds (28 digits): the client is told.
    let too_long = |what: &Value| {
        Refusal::Refused(HttpError::bad_request(format!(
            "{}: {} is not an amount specmock can add exactly; expected at most 28 significant digits",
            add.amount.trim_matches(|c| c == '{' || c == '}'),
            crate::json::text(what)
        )))
    };
    let amount = decimal(&amount_value).ok_or_else(|| too_long(&amount_value))?;
    let existing = at(target, &field);
    let have = existing.and_then(decimal).unwrap_or(Decimal::ZERO);
    let after = match add.negate {
        true => have.checked_sub(amount),
        false => have.checked_add(amount),
    }
    .ok_or_else(|| too_long(&amount_value))?;
    if let Some(floor) = &add.at_least {
        let least = floor.value.parse::<Decimal>().map_err(|e| Refusal::Broken(format!("at_least: {e}")))?;
        if after < least {
            let need = if add.negate { amount } else { -amount };
            let message = floor
                .message
                .replace("{key}", key)
                .replace("{have}", &have.normalize().to_string())
                .replace("{need}", &need.normalize().to_string());
            return Err(Refusal::Refused(HttpError::new(floor.status, message)));
        }
    }
    let written = written_like(after, existing.unwrap_or(&amount_value));
    Ok((field, written))
}

/// Refuses when a guard's field holds none of its values.
fn guarded(guards: &[Guard], record: &Value, key: &str, scope: &Scope<'_>) -> Result<(), HttpError> {
    for guard in guards {
        let value = at(record, &guard.field).cloned().unwrap_or(Value::Null);
        let allowed = guard.is.iter().any(|template| scope.value(template).is_ok_and(|v| v == value));
        if !allowed {
            let shown = crate::json::text(&value).into_owned();
            let message = guard.message.replace("{key}", key).replace("{value}", &shown);
            return Err(HttpError::new(guard.status, message));
        }
    }
    Ok(())
}

/// Removes the member a JSON pointer names, if it is there.
fn drop_at(record: &mut Value, pointer: &str) {
    let Some((parent, last)) = pointer.rsplit_once('/') else { return };
    if let Some(Value::Object(map)) = record.pointer_mut(parent) {
        map.remove(&last.replace("~1", "/").replace("~0", "~"));
    }
}

/// What is wrong with `record` by its collection's schema, if anything: `/pointer: message`.
pub(crate) fn check(api: &LoadedApi, collection: &str, record: &Value) -> Option<String> {
    check_changed(api, collection, record, None)
}

/// [`check`] for a record that was valid before a change to the top-level members `changed`
/// (None: anything may have changed), checked at those alone where its schema allows.
fn check_changed(api: &LoadedApi, collection: &str, record: &Value, changed: Option<&[String]>) -> Option<String> {
    let checker = api.record_checkers.get(collection)?;
    if checker.is_valid_after(record, changed) {
        return None;
    }
    checker.whole.findings(record, 1).into_iter().next().map(|v| format!("{}: {}", v.pointer, v.message))
}

/// A UUID drawn from the session, the collection and the record's number: the same writes give
/// the same ids, run after run.
fn uuid_for(session: &str, collection: &str, n: usize) -> String {
    let mut seed = [0u8; 32];
    for (i, b) in session.bytes().chain([0]).chain(collection.bytes()).chain([0]).chain(n.to_le_bytes()).enumerate() {
        seed[i % 32] = seed[i % 32].rotate_left(3) ^ b;
    }
    let mut bytes = [0u8; 16];
    rand_chacha::ChaCha8Rng::from_seed(seed).fill_bytes(&mut bytes);
    uuid::Builder::from_random_bytes(bytes).into_uuid().to_string()
}
