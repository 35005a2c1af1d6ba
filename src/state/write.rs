//! One write, as its behaviour file describes it: the record created or changed, then each
//! effect on other records. Everything is staged first and committed only when no invariant
//! refused, so a refused write changes nothing.

use axum::http::HeaderMap;
use rand::{RngCore, SeedableRng};
use rust_decimal::Decimal;
use serde_json::Value;

use crate::behaviour::writes::{Change, Guard, KeyRule, Write};
use crate::http::error::HttpError;
use crate::json::at;
use crate::load::LoadedApi;
use crate::state::money::{decimal, written_like};
use crate::state::template::{set_at, Scope};
use crate::state::ApiChanges;

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
    /// The record written.
    pub(crate) record: Value,
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
}

/// Records staged by one write, latest last.
#[derive(Default)]
struct Staged(Vec<(String, String, Value)>);

impl Staged {
    /// Stages `record`, returning where it is.
    fn put(&mut self, collection: &str, key: &str, record: Value) -> usize {
        match self.0.iter().position(|(c, k, _)| c == collection && k == key) {
            Some(at) => {
                self.0[at].2 = record;
                at
            }
            None => {
                self.0.push((collection.to_string(), key.to_string(), record));
                self.0.len() - 1
            }
        }
    }
}

/// The record of `collection` with `key` as the session (and this write so far) sees it.
fn current(api: &LoadedApi, changes: &ApiChanges, staged: &Staged, collection: &str, key: &str) -> Option<Value> {
    Some(match locate(api, changes, staged, collection, key)? {
        Found::Staged(at) => staged.0[at].2.clone(),
        Found::Read(value) => value.clone(),
    })
}

/// Where the record of `collection` with `key` is: staged by this write, or kept (indexed, or
/// written by the session before). Read in place: only a record that changes is copied.
fn locate<'a>(
    api: &'a LoadedApi,
    changes: &'a ApiChanges,
    staged: &Staged,
    collection: &str,
    key: &str,
) -> Option<Found<'a>> {
    if let Some(at) = staged.0.iter().position(|(c, k, _)| c == collection && k == key) {
        return Some(Found::Staged(at));
    }
    let base = api.store.collection(collection)?;
    match changes.collections.get(collection) {
        Some(c) => c.value(base, key),
        None => base.get(key).map(|(_, v)| v),
    }
    .map(Found::Read)
}

/// Runs `write` against `changes`, committing its records when it succeeds.
pub(crate) fn apply(
    api: &LoadedApi,
    write: &CompiledWrite,
    request: &Request<'_>,
    changes: &mut ApiChanges,
) -> Result<Written, HttpError> {
    let def = &write.def;
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let broken = |what: String| HttpError::new(500, format!("{}: the behaviour file's write {what}", request.op));
    let bare = Scope { named: &[], path: request.path, headers: request.headers, body: request.body, records: &[] };
    let replay_key = match &def.idempotency {
        Some(rule) => bare.text(&rule.key).ok().filter(|k| !k.is_empty()),
        None => None,
    };
    if let Some(key) = &replay_key {
        if let Some(first) = changes.replays.get(&(request.op.to_string(), key.clone())) {
            let now = current(api, changes, &Staged::default(), &def.collection, &first.key);
            return Ok(Written {
                replayed: true,
                record: now.unwrap_or_else(|| first.record.clone()),
                ..first.clone()
            });
        }
    }
    let mut staged = Staged::default();
    let added = changes.collections.get(&def.collection).map_or(0, |c| c.added.len());
    let seq = (added + 1).to_string();
    let (mut record, key) = match &def.update {
        Some(update) => {
            let key = bare.text(&update.key).map_err(broken)?;
            let found = current(api, changes, &staged, &def.collection, &key)
                .ok_or_else(|| HttpError::new(404, update.not_found.replace("{key}", &key)))?;
            guarded(&update.only_when, &found, &key, &bare)?;
            (found, key)
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
            (record, key)
        }
    };
    let mut named = vec![("id", key.clone()), ("seq", seq), ("now", now.clone()), ("base", write.base.clone())];
    named.extend(request.user.map(|u| ("user", u.to_string())));
    for (pointer, template) in &def.set {
        let value = {
            let scope = Scope { named: &named, records: &[("record", &record)], ..bare };
            scope.value(template).map_err(|e| broken(format!("set {pointer}: {e}")))?
        };
        set_at(&mut record, pointer, value).map_err(|e| broken(format!("set {pointer}: {e}")))?;
    }
    if let Some(compute) = write.compute {
        compute(&mut record).map_err(|e| HttpError::bad_request(format!("body{e}")))?;
    }
    // The session's records, read in place until the write commits.
    let kept: &ApiChanges = &*changes;
    for effect in &def.effects {
        if let Some(condition) = &effect.when {
            let scope = Scope { named: &named, records: &[("record", &record)], ..bare };
            let value = scope.text(&condition.value).unwrap_or_default();
            if !condition.is.contains(&value) {
                continue;
            }
        }
        let items: Vec<Value> = match &effect.each {
            Some(pointer) => at(&record, pointer).and_then(Value::as_array).cloned().unwrap_or_default(),
            None => vec![Value::Null],
        };
        for item in &items {
            // Each change's record by name: staged when it changed (no second copy), else as read.
            let mut done: Vec<(&str, Found)> = Vec::new();
            for change in &effect.changes {
                let target = {
                    let mut records: Vec<(&str, &Value)> = vec![("record", &record), ("item", item)];
                    records.extend(done.iter().map(|(n, f)| (*n, f.get(&staged))));
                    let scope = Scope { named: &named, records: &records, ..bare };
                    changed(api, kept, &staged, change, &scope).map_err(|e| match e {
                        Refusal::Broken(what) => broken(format!("change {}: {what}", change.name)),
                        Refusal::Refused(refused) => refused,
                    })?
                };
                let found = match target {
                    Target::Skipped => continue,
                    Target::Unchanged(found) => found,
                    Target::Changed(key, value) => Found::Staged(staged.put(&change.collection, &key, value)),
                };
                done.push((change.name.as_str(), found));
            }
            for (pointer, template) in &effect.record_set {
                let value = {
                    let mut records: Vec<(&str, &Value)> = vec![("record", &record), ("item", item)];
                    records.extend(done.iter().map(|(n, f)| (*n, f.get(&staged))));
                    let scope = Scope { named: &named, records: &records, ..bare };
                    scope.value(template).map_err(|e| broken(format!("record_set {pointer}: {e}")))?
                };
                set_at(&mut record, pointer, value).map_err(|e| broken(format!("record_set {pointer}: {e}")))?;
            }
        }
    }
    if let Value::Object(members) = &mut record {
        for name in &write.nulls {
            members.entry(name.clone()).or_insert(Value::Null);
        }
    }
    staged.put(&def.collection, &key, record.clone());
    for (collection, key, record) in &staged.0 {
        if let Some(fault) = check(api, collection, record) {
            return Err(broken(format!("would keep {collection} record {key} that breaks its schema: {fault}")));
        }
    }
    commit(api, changes, staged);
    let written = Written { status: def.status.unwrap_or(0), record, key, replayed: false };
    if let Some(replay_key) = replay_key {
        changes.replay_weight += crate::store::merge::weight(&written.record);
        changes.replays.insert((request.op.to_string(), replay_key), written.clone());
    }
    Ok(written)
}

/// A record a write reads: staged by it (it changed), or kept as it was.
#[derive(Clone, Copy)]
enum Found<'k> {
    Staged(usize),
    Read(&'k Value),
}

/// What one change did to its target.
enum Target<'k> {
    /// There is none, and the change may be skipped.
    Skipped,
    /// Read, not changed.
    Unchanged(Found<'k>),
    /// Changed: its key and new content, to stage.
    Changed(String, Value),
}

impl<'k> Found<'k> {
    fn get<'a>(&'a self, staged: &'a Staged) -> &'a Value
    where
        'k: 'a,
    {
        match self {
            Found::Staged(at) => &staged.0[*at].2,
            Found::Read(value) => value,
        }
    }
}

/// Why a change did not happen.
enum Refusal {
    /// The behaviour file names something that is not there.
    Broken(String),
    /// An invariant refused the write.
    Refused(HttpError),
}

/// One change: its target read, changed, or skipped when it is not there.
fn changed<'k>(
    api: &'k LoadedApi,
    changes: &'k ApiChanges,
    staged: &Staged,
    change: &Change,
    scope: &Scope<'_>,
) -> Result<Target<'k>, Refusal> {
    let key = scope.text(&change.key).map_err(Refusal::Broken)?;
    let Some(found) = locate(api, changes, staged, &change.collection, &key) else {
        return match &change.not_found {
            Some(message) => Err(Refusal::Refused(HttpError::new(404, message.replace("{key}", &key)))),
            None => Ok(Target::Skipped),
        };
    };
    guarded(&change.only_when, found.get(staged), &key, scope).map_err(Refusal::Refused)?;
    if change.add.is_empty() && change.set.is_empty() {
        return Ok(Target::Unchanged(found));
    }
    let mut target = found.get(staged).clone();
    for add in &change.add {
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
        let existing = at(&target, &field).cloned();
        let have = existing.as_ref().and_then(decimal).unwrap_or(Decimal::ZERO);
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
                    .replace("{key}", &key)
                    .replace("{have}", &have.normalize().to_string())
                    .replace("{need}", &need.normalize().to_string());
                return Err(Refusal::Refused(HttpError::new(floor.status, message)));
            }
        }
        let like = existing.unwrap_or(amount_value);
        set_at(&mut target, &field, written_like(after, &like)).map_err(Refusal::Broken)?;
    }
    for (pointer, template) in &change.set {
        let value = {
            let mut records: Vec<(&str, &Value)> = scope.records.to_vec();
            records.push(("target", &target));
            let inner = Scope { records: &records, ..*scope };
            inner.value(template).map_err(Refusal::Broken)?
        };
        set_at(&mut target, pointer, value).map_err(Refusal::Broken)?;
    }
    Ok(Target::Changed(key, target))
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
    let checker = api.record_checkers.get(collection)?;
    if checker.is_valid(record) {
        return None;
    }
    checker.findings(record, 1).into_iter().next().map(|v| format!("{}: {}", v.pointer, v.message))
}

/// Moves staged records into the session's changes.
fn commit(api: &LoadedApi, changes: &mut ApiChanges, staged: Staged) {
    for (collection, key, record) in staged.0 {
        let indexed = api.store.collection(&collection).and_then(|b| b.index.find(&key));
        changes.collections.entry(collection).or_default().put(key, indexed, record);
    }
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
