//! Reads of a session that wrote: its records merged with the indexed ones.
//!
//! The index answers for the records no write touched; a session's own records (changed and
//! added) are matched and ordered by their fields, as [`FieldPlan`] names them, and slotted into
//! the indexed order. A session that never wrote to a collection never comes here.

use std::cmp::Ordering;

use serde_json::Value;

use crate::behaviour::Compare;
use crate::json::text;
use crate::openapi::params::ParamValues;
use crate::store::query::{FieldPlan, Query, SortValue};
use crate::store::{Collection, Path};

/// One collection's records as a session changed them: indexed records it replaced, and records
/// it added, in the order written.
#[derive(Clone, Debug, Default)]
pub(crate) struct Changes {
    /// Indexed records replaced, by index.
    pub(crate) replaced: hashbrown::HashMap<u32, Value>,
    /// Records added, in the order written.
    pub(crate) added: Vec<Value>,
    /// Each added record's position in `added`, by key.
    pub(crate) added_keys: hashbrown::HashMap<String, u32>,
}

/// A record of a merged answer.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Item<'a> {
    /// An indexed record no write touched, by index.
    Base(u32),
    /// A record the session wrote.
    Written(&'a Value),
}

/// How a merged read finds another collection's records (for filters that read through one).
pub(crate) trait Lookup {
    /// The record of `collection` with `key`, as the session sees it.
    fn record(&self, collection: &str, key: &str) -> Option<&Value>;
}

impl Changes {
    /// The record with this key or alias, as the session sees it.
    pub(crate) fn get<'a>(&'a self, base: &'a Collection, key: &str) -> Option<Item<'a>> {
        if let Some(&i) = self.added_keys.get(key) {
            return Some(Item::Written(&self.added[i as usize]));
        }
        let index = base.index.find(key)?;
        Some(match self.replaced.get(&index) {
            Some(record) => Item::Written(record),
            None => Item::Base(index),
        })
    }

    /// The record as the session sees it, parsed.
    pub(crate) fn value<'a>(&'a self, base: &'a Collection, key: &str) -> Option<&'a Value> {
        match self.get(base, key)? {
            Item::Written(v) => Some(v),
            Item::Base(i) => base.records.get(i as usize),
        }
    }

    /// How many records the session wrote here.
    pub(crate) fn len(&self) -> usize {
        self.replaced.len() + self.added.len()
    }
}

/// The page a request asks for from a collection a session changed, and the number matched.
/// `base` must hold its parsed records (collections a write touches keep them).
pub(crate) fn page<'a>(
    query: &Query,
    params: &ParamValues,
    base: &'a Collection,
    changes: &'a Changes,
    lookup: &dyn Lookup,
) -> (Vec<Item<'a>>, usize) {
    let plan = &query.fields;
    let (skip, take) = query.window(params);
    let wanted = wanted(plan, params);
    let matches = |record: &Value| matches(plan, &wanted, record, lookup);
    let (key, desc) = query.order_asked(params);
    let primary = key.and_then(|k| plan.keys.iter().find(|(n, _, _)| n == k)).map(|(_, p, c)| (p, *c));
    let sort_key = |record: &Value| sort_key(plan, primary, record);

    // The session's records that match, ordered; each carries its place among equals (indexed
    // records keep their index, added ones come after every indexed one).
    let n = base.len() as u64;
    let mut written: Vec<(Vec<SortValue>, u64, &Value)> = changes
        .replaced
        .iter()
        .map(|(&i, v)| (i as u64, v))
        .chain(changes.added.iter().enumerate().map(|(i, v)| (n + i as u64, v)))
        .filter(|(_, v)| matches(v))
        .map(|(place, v)| (sort_key(v), place, v))
        .collect();
    let compare = |a: &[SortValue], a_place: u64, b: &[SortValue], b_place: u64| {
        ordered(a, b, primary.is_some() && desc).then(a_place.cmp(&b_place))
    };
    written.sort_by(|a, b| compare(&a.0, a.1, &b.0, b.1));

    // Indexed matches up to the page's end, less those the session replaced.
    let reach = skip.saturating_add(take).saturating_add(changes.replaced.len());
    let indexed = query.run_window(params, 0, reach);
    let replaced_matching =
        changes.replaced.keys().filter(|&&i| base.records.get(i as usize).is_some_and(&matches)).count();
    let total = indexed.total - replaced_matching + written.len();

    let mut items = Vec::new();
    let mut w = written.iter().peekable();
    let mut position = 0usize;
    let mut push = |item: Item<'a>, items: &mut Vec<Item<'a>>| {
        if position >= skip && items.len() < take {
            items.push(item);
        }
        position += 1;
    };
    for id in indexed.ids.into_iter().filter(|i| !changes.replaced.contains_key(i)) {
        if items.len() >= take {
            break;
        }
        // A collection kept without parsed records has no sort (see `load::changed_collections`).
        let here = base.records.get(id as usize).map(&sort_key).unwrap_or_default();
        while let Some((_, _, v)) = w.next_if(|(k, place, _)| compare(k, *place, &here, id as u64).is_lt()) {
            push(Item::Written(v), &mut items);
        }
        push(Item::Base(id), &mut items);
    }
    for (_, _, v) in w {
        if items.len() >= take {
            break;
        }
        push(Item::Written(v), &mut items);
    }
    (items, total)
}

/// Each given filter's wanted values, by filter.
fn wanted<'p>(plan: &FieldPlan, params: &'p ParamValues) -> Vec<Option<Vec<std::borrow::Cow<'p, str>>>> {
    plan.filters.iter().map(|(param, _, _)| params.texts(param).filter(|w| !w.is_empty())).collect()
}

/// Whether a record holds, for every given filter, one of its values.
fn matches(
    plan: &FieldPlan,
    wanted: &[Option<Vec<std::borrow::Cow<'_, str>>>],
    record: &Value,
    lookup: &dyn Lookup,
) -> bool {
    plan.filters.iter().zip(wanted).all(|((_, field, via), wanted)| {
        let Some(wanted) = wanted else { return true };
        let source = match via {
            Some((collection, key)) => match key.get(record).and_then(|k| lookup.record(collection, &text(k))) {
                Some(joined) => joined,
                None => return false,
            },
            None => record,
        };
        let mut hit = false;
        field.for_each(source, |v| hit |= wanted.iter().any(|w| *w == text(v)));
        hit
    })
}

/// A record's sort values: the chosen key (if any), then the tie-break.
fn sort_key(plan: &FieldPlan, primary: Option<(&Path, Compare)>, record: &Value) -> Vec<SortValue> {
    primary
        .into_iter()
        .chain(plan.tie_break.iter().map(|(p, c)| (p, *c)))
        .map(|(path, compare)| SortValue::of(record, path, compare))
        .collect()
}

/// Orders two sort keys: the first (the chosen key) reversed when `desc`, the tie-break always
/// ascending.
fn ordered(a: &[SortValue], b: &[SortValue], desc: bool) -> Ordering {
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        let o = x.cmp(y);
        let o = if i == 0 && desc { o.reverse() } else { o };
        if o.is_ne() {
            return o;
        }
    }
    Ordering::Equal
}
