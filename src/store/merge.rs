//! Reads of a session that wrote: its records merged with the indexed ones.
//!
//! The index answers for the records no write touched; a session's own records (changed and
//! added) are matched and ordered by their fields, as [`FieldPlan`] names them, and slotted into
//! the indexed order. A session that never wrote to a collection never comes here.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::sync::OnceLock;

use serde_json::Value;

use crate::behaviour::Compare;
use crate::json::text;
use crate::openapi::params::ParamValues;
use crate::store::query::{FieldPlan, Page, Query, SortValue};
use crate::store::render::{Placeholders, Rendered, Shape};
use crate::store::{Collection, Path};

/// One collection's records as a session changed them: indexed records it replaced, and records
/// it added, in the order written. Change them through [`Changes::add`] and [`Changes::replace`],
/// which keep the journal the per-binding indexes catch up from.
#[derive(Debug, Default)]
pub(crate) struct Changes {
    /// Indexed records replaced, by index.
    pub(crate) replaced: hashbrown::HashMap<u32, Value>,
    /// Records added, in the order written, kept as text.
    pub(crate) added: Vec<Kept>,
    /// Each added record's position in `added`, by key.
    pub(crate) added_keys: hashbrown::HashMap<String, u32>,
    /// About how many bytes the records hold (see [`weight`]).
    weight: usize,
    /// Each record's own weight, so replacing it need not walk the old one.
    weights: hashbrown::HashMap<Slot, usize>,
    /// Every record put, in order: each binding's index takes in the entries it has not seen.
    journal: Vec<Slot>,
    /// Each binding's index of these records, by the binding's field plan.
    indexes: std::sync::Mutex<hashbrown::HashMap<usize, Indexed>>,
    /// Records serialised in a view, by slot and view address; a change forgets its record's.
    rendered: std::sync::Mutex<hashbrown::HashMap<Slot, RenderedViews>>,
}

impl Clone for Changes {
    /// The records and the journal; the indexes are rebuilt from the journal when read.
    fn clone(&self) -> Self {
        Changes {
            replaced: self.replaced.clone(),
            added: self.added.clone(),
            added_keys: self.added_keys.clone(),
            weight: self.weight,
            weights: self.weights.clone(),
            journal: self.journal.clone(),
            indexes: Default::default(),
            rendered: Default::default(),
        }
    }
}

/// One record serialised in each view it was read in, by the view's address.
type RenderedViews = smallvec::SmallVec<[(usize, std::sync::Arc<Rendered>); 2]>;

/// The records whose serialisations a session keeps at most; past it they are all let go.
const RENDERED_RECORDS: usize = 10_000;

/// Where a session's record is: an indexed record it replaced, or one it added.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Slot {
    Replaced(u32),
    Added(u32),
}

impl Slot {
    /// Its place among equals: indexed records by index, added ones after all of them.
    fn place(self, indexed: usize) -> u64 {
        match self {
            Slot::Replaced(i) => i as u64,
            Slot::Added(i) => indexed as u64 + i as u64,
        }
    }
}

/// A record a session added, kept as its JSON text: a 2 KB BRM transfer holds 2 KB where its
/// parsed tree takes 18 KB (see [`weight`]), so a burst of writes takes a ninth of the fresh
/// memory (page faults were half a transfer's time). Parsed when first read, and kept parsed
/// until it changes; it weighs what it would parsed, so reads cannot take a session past its cap.
#[derive(Clone, Debug)]
pub(crate) struct Kept {
    text: Box<str>,
    parsed: OnceLock<Value>,
    /// What the parsed record weighs.
    tree: usize,
}

impl Kept {
    fn new(record: &Value) -> Kept {
        let text = serde_json::to_string(record).expect("a JSON value serialises");
        Kept { text: text.into_boxed_str(), parsed: OnceLock::new(), tree: weight(record) }
    }

    /// The record parsed, kept for the next read.
    fn value(&self) -> &Value {
        self.parsed.get_or_init(|| self.parse())
    }

    /// The record parsed, without keeping it: for a walk over every record.
    fn peek(&self) -> Cow<'_, Value> {
        match self.parsed.get() {
            Some(value) => Cow::Borrowed(value),
            None => Cow::Owned(self.parse()),
        }
    }

    fn parse(&self) -> Value {
        // The text is what `new` wrote, and float_roundtrip parses its numbers back exactly.
        serde_json::from_str(&self.text).expect("a record's own text parses")
    }

    /// About how many bytes it holds with its parsed tree, which a read may keep.
    fn weight(&self) -> usize {
        std::mem::size_of::<Kept>() + self.text.len() + self.tree
    }
}

/// One binding's view of a session's records: each record's filter values and sort values,
/// taken in once per write, and the records in every order the binding sorts by.
#[derive(Debug, Default)]
struct Indexed {
    /// Journal entries taken in.
    seen: usize,
    entries: hashbrown::HashMap<Slot, Entry>,
    /// Indexed records' tie-break values and sort key values, by index, kept once read.
    base: BaseValues,
    /// Slots in each order.
    orders: Vec<(OrderName, Vec<Slot>)>,
}

/// Indexed records' tie-break values and sort key values, by index.
type BaseValues = hashbrown::HashMap<u32, (Vec<SortValue>, Vec<SortValue>)>;

/// An order: the sort key's name (None for the tie-break alone), and whether it descends.
type OrderName = (Option<String>, bool);

/// One record as a binding filters and sorts it.
#[derive(Debug)]
struct Entry {
    /// Each filter's values on the record (through its join where it has one).
    filters: Vec<Vec<String>>,
    /// Each sort key's value, by the plan's keys, then the tie-break's.
    keys: Vec<SortValue>,
    tie: Vec<SortValue>,
    place: u64,
}

impl Entry {
    /// The sort values of `order`: its key's (if any), then the tie-break.
    fn sort_values(&self, key: Option<usize>) -> impl Iterator<Item = &SortValue> {
        key.map(|k| &self.keys[k]).into_iter().chain(&self.tie)
    }
}

/// About how many bytes a parsed record holds, walked without serialising it: each value's node,
/// and each object's hash table and entry list at the capacity serde_json's IndexMap gives it (the
/// entries grow to the table's capacity, parsed or cloned). A 2 KB BRM transfer weighs 18.2 KB,
/// what the allocator hands out for it.
pub(crate) fn weight(value: &Value) -> usize {
    const NODE: usize = std::mem::size_of::<Value>();
    const TABLE: usize = 64;
    const ENTRY: usize = std::mem::size_of::<String>() + 8 + NODE;
    const SLOT: usize = 16;
    NODE + match value {
        Value::String(s) => s.len(),
        Value::Array(items) => items.iter().map(weight).sum(),
        Value::Object(map) => {
            let members: usize = map.iter().map(|(k, v)| k.len() + weight(v) - NODE).sum();
            TABLE + room(map.len()) * ENTRY + map.len() * SLOT + members
        }
        _ => 0,
    }
}

/// About how many bytes the top-level member `name` adds to `record`'s [`weight`]; 0 when absent.
/// What a record's changed members weigh before and after a change moves its weight by.
pub(crate) fn member_weight(record: &Value, name: &str) -> usize {
    const NODE: usize = std::mem::size_of::<Value>();
    const ENTRY: usize = std::mem::size_of::<String>() + 8 + NODE;
    match record {
        Value::Object(map) => crate::json::member(map, name).map_or(0, |v| name.len() + weight(v) + ENTRY + 16),
        _ => 0,
    }
}

/// The entries an object of `n` members has room for: its hash table's capacity (7/8 of a power
/// of two buckets, 3 below 4 members).
fn room(n: usize) -> usize {
    match n {
        0 => 0,
        1..=3 => 3,
        4..=7 => 7,
        _ => (n * 8).div_ceil(7).next_power_of_two() / 8 * 7,
    }
}

/// A record of a merged answer.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Item<'a> {
    /// An indexed record no write touched, by index.
    Base(u32),
    /// A record the session wrote, and where it keeps it.
    Written(&'a Value, Slot),
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
            return Some(Item::Written(self.added[i as usize].value(), Slot::Added(i)));
        }
        let index = base.index.find(key)?;
        Some(match self.replaced.get(&index) {
            Some(record) => Item::Written(record, Slot::Replaced(index)),
            None => Item::Base(index),
        })
    }

    /// The record as the session sees it, parsed.
    pub(crate) fn value<'a>(&'a self, base: &'a Collection, key: &str) -> Option<&'a Value> {
        match self.get(base, key)? {
            Item::Written(v, _) => Some(v),
            Item::Base(i) => base.records.get(i as usize),
        }
    }

    /// How many records the session wrote here.
    pub(crate) fn len(&self) -> usize {
        self.replaced.len() + self.added.len()
    }

    /// About how many bytes its records hold.
    pub(crate) fn weight(&self) -> usize {
        self.weight
    }

    /// Every record the session wrote here: the indexed ones it replaced, then the ones it
    /// added, each parsed for the walk alone unless a read parsed it already.
    pub(crate) fn records(&self) -> impl Iterator<Item = Cow<'_, Value>> {
        self.replaced.values().map(Cow::Borrowed).chain(self.added.iter().map(Kept::peek))
    }

    /// Where the record with this key or alias is, as the session sees it: one it added, or an
    /// indexed one (replaced or not).
    pub(crate) fn slot(&self, base: &Collection, key: &str) -> Option<Slot> {
        match self.added_keys.get(key) {
            Some(&i) => Some(Slot::Added(i)),
            None => base.index.find(key).map(Slot::Replaced),
        }
    }

    /// Takes the session's record at `slot` out, to change it in place: a write gives it back
    /// with [`Changes::give_back`] or keeps it with [`Changes::replace`]. None for an indexed
    /// record the session never replaced.
    pub(crate) fn take(&mut self, slot: Slot) -> Option<Value> {
        match slot {
            Slot::Added(i) => {
                let kept = self.added.get_mut(i as usize)?;
                // Its text stays: a record given back unchanged is that text again.
                Some(kept.parsed.take().unwrap_or_else(|| kept.parse()))
            }
            Slot::Replaced(index) => {
                let record = self.replaced.get_mut(&index).map(std::mem::take)?;
                // Its weight is what `replace` takes off, and the null left behind weighs nothing.
                self.weights.entry(slot).or_insert_with(|| weight(&record));
                Some(record)
            }
        }
    }

    /// Puts back, unchanged, a record [`Changes::take`] took.
    pub(crate) fn give_back(&mut self, slot: Slot, record: Value) {
        match slot {
            // Its text was kept.
            Slot::Added(_) => drop(record),
            Slot::Replaced(index) => {
                self.replaced.insert(index, record);
            }
        }
    }

    /// Keeps `record` at `slot`: an added record, or the indexed record it replaces.
    pub(crate) fn replace(&mut self, slot: Slot, record: Value) {
        self.replace_by(slot, record, None);
    }

    /// [`Changes::replace`] for a record [`Changes::take`] took and changed in place, its weight
    /// moved by `delta` (what its changed members weigh now less what they weighed): an indexed
    /// record need not be walked again.
    pub(crate) fn replace_by(&mut self, slot: Slot, record: Value, delta: Option<isize>) {
        match slot {
            Slot::Added(i) => {
                let kept = Kept::new(&record);
                self.weight += kept.weight();
                let old = std::mem::replace(&mut self.added[i as usize], kept);
                self.weight -= old.weight();
            }
            Slot::Replaced(index) => {
                let heavy = match (delta, self.weights.get(&slot)) {
                    (Some(delta), Some(&was)) => was.saturating_add_signed(delta),
                    _ => weight(&record),
                };
                let was = self.weights.insert(slot, heavy);
                if let Some(old) = self.replaced.insert(index, record) {
                    // A record taken out to change in place leaves a null: its weight was kept.
                    self.weight -= was.unwrap_or_else(|| weight(&old));
                }
                self.weight += heavy;
            }
        }
        self.changed(slot);
    }

    /// Keeps `record` under `key`, after every record the session added.
    pub(crate) fn add(&mut self, key: String, record: &Value) {
        let i = self.added.len() as u32;
        let kept = Kept::new(record);
        self.weight += kept.weight() + key.len();
        self.added_keys.insert(key, i);
        self.added.push(kept);
        self.changed(Slot::Added(i));
    }

    /// Notes a record newly kept at `slot`: in the journal the indexes catch up from, and by
    /// forgetting how the record was rendered.
    fn changed(&mut self, slot: Slot) {
        self.journal.push(slot);
        self.rendered.get_mut().unwrap_or_else(|e| e.into_inner()).remove(&slot);
    }

    /// `record`, kept at `slot`, in the view `shape`: serialised once until it changes.
    pub(crate) fn rendered(
        &self,
        slot: Slot,
        record: &Value,
        shape: &Shape,
        placeholders: &Placeholders,
    ) -> std::sync::Arc<Rendered> {
        let view = shape as *const Shape as usize;
        let mut cache = self.rendered.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= RENDERED_RECORDS && !cache.contains_key(&slot) {
            cache.clear();
        }
        let views = cache.entry(slot).or_default();
        if let Some((_, one)) = views.iter().find(|(v, _)| *v == view) {
            return one.clone();
        }
        let mut one = Rendered::default();
        one.push(shape, record, placeholders);
        let one = std::sync::Arc::new(one);
        views.push((view, one.clone()));
        one
    }

    /// Replaced records move to new indexes (after a reload): every index is rebuilt.
    pub(crate) fn reindex(&mut self, replaced: hashbrown::HashMap<u32, Value>) {
        self.replaced = replaced;
        self.journal = self.replaced.keys().map(|&i| Slot::Replaced(i)).collect();
        self.journal.extend((0..self.added.len() as u32).map(Slot::Added));
        self.weights.clear();
        self.indexes = Default::default();
        self.rendered = Default::default();
    }

    /// The record at `slot`; an added one is parsed and kept for the next read.
    fn record(&self, slot: Slot) -> &Value {
        match slot {
            Slot::Replaced(i) => &self.replaced[&i],
            Slot::Added(i) => self.added[i as usize].value(),
        }
    }

    /// The record at `slot`, parsed for this read alone unless a read parsed it already.
    pub(crate) fn peek(&self, slot: Slot) -> Cow<'_, Value> {
        match slot {
            Slot::Replaced(i) => Cow::Borrowed(&self.replaced[&i]),
            Slot::Added(i) => self.added[i as usize].peek(),
        }
    }
}

/// The page a request asks for from a collection a session changed, and the number matched.
/// `base` must hold its parsed records (collections a write touches keep them, or have no sort).
///
/// The session's records come from the binding's index of them, brought up to date with the
/// writes since it was last read: each write costs its own records once, not every read.
pub(crate) fn page<'a>(
    query: &Query,
    params: &ParamValues,
    base: &'a Collection,
    changes: &'a Changes,
    lookup: &dyn Lookup,
    need_total: bool,
) -> (Vec<Item<'a>>, usize) {
    let plan = &query.fields;
    let (skip, take) = query.window(params);
    let wanted = wanted(plan, params);
    let (key, desc) = query.order_asked(params);
    let key_index = key.and_then(|k| plan.keys.iter().position(|(n, _, _)| n == k));
    let n = base.len();

    let mut indexes = changes.indexes.lock().unwrap_or_else(|e| e.into_inner());
    let indexed = indexes.entry(std::sync::Arc::as_ptr(plan) as usize).or_default();
    indexed.catch_up(plan, changes, n, lookup);
    let reach = skip.saturating_add(take);
    let at = indexed.order(key.map(str::to_string), desc && key_index.is_some(), key_index);
    let (order, entries, base_values) = (&indexed.orders[at].1, &indexed.entries, &mut indexed.base);
    // Indexed records' tie-break values and sort key values, read from the records once and
    // kept (indexed records never change).
    let sort_values_of = |values: &mut BaseValues, id: u32| {
        if let (hashbrown::hash_map::Entry::Vacant(slot), Some(record)) =
            (values.entry(id), base.records.get(id as usize))
        {
            slot.insert((
                sort_key(plan, None, record),
                plan.keys.iter().map(|(_, p, c)| SortValue::of(record, p, *c)).collect(),
            ));
        }
    };
    let hit = |e: &Entry| {
        e.filters.iter().zip(&wanted).all(|(values, w)| match w {
            Some(w) => values.iter().any(|v| w.iter().any(|w| w == v)),
            None => true,
        })
    };
    // The session's matches in order, as far as the page reaches (or all, to count them).
    let mut written: Vec<&Entry> = Vec::with_capacity(reach.min(entries.len()));
    let mut written_total = 0usize;
    for slot in order {
        let entry = &entries[slot];
        if hit(entry) {
            if written.len() < reach {
                written.push(entry);
            }
            written_total += 1;
            if !need_total && written.len() >= reach {
                break;
            }
        }
    }
    let descending = desc && key_index.is_some();
    // Whether a session's entry sorts before indexed record `id`, given its sort values.
    let sorts_before = |e: &Entry, id: u32, (tie, keys): &(Vec<SortValue>, Vec<SortValue>)| {
        let theirs = key_index.and_then(|k| keys.get(k)).into_iter().chain(tie);
        ordered(e.sort_values(key_index), theirs, descending).then(e.place.cmp(&(id as u64))).is_lt()
    };
    // A collection kept without parsed records has no sort (see `load::changed_collections`).
    let unsorted = (Vec::new(), Vec::new());
    // Where the session's matches fill the page and its last sorts before the first indexed
    // record, filters aside, no indexed record is on the page: a session reading back the newest
    // records it wrote needs no indexed query. (Without a total to count, the total is partial.)
    let page_is_written = !need_total
        && reach > 0
        && written.len() >= reach
        && match query.first_in_order(params) {
            None => true,
            Some(first) => {
                sort_values_of(base_values, first);
                sorts_before(written[reach - 1], first, base_values.get(&first).unwrap_or(&unsorted))
            }
        };
    // Indexed matches up to the page's end, less those the session replaced.
    let indexed_page = match page_is_written {
        true => Page { ids: Vec::new(), total: 0 },
        false => query.run_window(params, 0, reach.saturating_add(changes.replaced.len())),
    };
    for &id in &indexed_page.ids {
        sort_values_of(base_values, id);
    }
    let base_values = &*base_values;

    let total = match page_is_written {
        true => written_total,
        false => {
            let replaced_matching = changes
                .replaced
                .keys()
                .filter(|&&i| base.records.get(i as usize).is_some_and(|r| matches(plan, &wanted, r, lookup)))
                .count();
            indexed_page.total - replaced_matching + written_total
        }
    };

    let slot_of = |e: &Entry| -> Slot {
        if (e.place as usize) < n {
            Slot::Replaced(e.place as u32)
        } else {
            Slot::Added((e.place - n as u64) as u32)
        }
    };
    let mut items = Vec::with_capacity(take.min(written.len() + indexed_page.ids.len()));
    let mut w = written.iter().peekable();
    let mut position = 0usize;
    let mut push = |item: Item<'a>, items: &mut Vec<Item<'a>>| {
        if position >= skip && items.len() < take {
            items.push(item);
        }
        position += 1;
    };
    for id in indexed_page.ids.into_iter().filter(|i| !changes.replaced.contains_key(i)) {
        if items.len() >= take {
            break;
        }
        let values = base_values.get(&id).unwrap_or(&unsorted);
        while let Some(e) = w.next_if(|e| sorts_before(e, id, values)) {
            let slot = slot_of(e);
            push(Item::Written(changes.record(slot), slot), &mut items);
        }
        push(Item::Base(id), &mut items);
    }
    for e in w {
        if items.len() >= take {
            break;
        }
        let slot = slot_of(e);
        push(Item::Written(changes.record(slot), slot), &mut items);
    }
    (items, total)
}

impl Indexed {
    /// Takes in the journal entries written since the last read.
    fn catch_up(&mut self, plan: &FieldPlan, changes: &Changes, indexed: usize, lookup: &dyn Lookup) {
        for &slot in &changes.journal[self.seen..] {
            let record = changes.peek(slot);
            let record = &*record;
            let filters = plan
                .filters
                .iter()
                .map(|(_, field, via)| {
                    let source = match via {
                        Some((collection, key)) => key.get(record).and_then(|k| lookup.record(collection, &text(k))),
                        None => Some(record),
                    };
                    let mut values = Vec::new();
                    if let Some(source) = source {
                        field.for_each(source, |v| values.push(text(v).into_owned()));
                    }
                    values
                })
                .collect();
            let keys = plan.keys.iter().map(|(_, p, c)| SortValue::of(record, p, *c)).collect();
            let tie = plan.tie_break.iter().map(|(p, c)| SortValue::of(record, p, *c)).collect();
            let entry = Entry { filters, keys, tie, place: slot.place(indexed) };
            let old = self.entries.insert(slot, entry);
            for ((name, desc), order) in self.orders.iter_mut() {
                let key = name.as_ref().and_then(|n| plan.keys.iter().position(|(k, _, _)| k == n));
                if old.is_some() {
                    order.retain(|s| *s != slot);
                }
                insert(order, &self.entries, slot, key, *desc);
            }
        }
        self.seen = changes.journal.len();
    }

    /// Where one order is in `orders`, made on first use.
    fn order(&mut self, name: Option<String>, desc: bool, key: Option<usize>) -> usize {
        match self.orders.iter().position(|(k, _)| k.0 == name && k.1 == desc) {
            Some(at) => at,
            None => {
                let mut slots: Vec<Slot> = self.entries.keys().copied().collect();
                let entries = &self.entries;
                slots.sort_by(|a, b| compare(&entries[a], &entries[b], key, desc));
                self.orders.push(((name, desc), slots));
                self.orders.len() - 1
            }
        }
    }
}

/// Puts `slot` into `order` where it sorts.
fn insert(
    order: &mut Vec<Slot>,
    entries: &hashbrown::HashMap<Slot, Entry>,
    slot: Slot,
    key: Option<usize>,
    desc: bool,
) {
    let entry = &entries[&slot];
    let at = order.partition_point(|s| compare(&entries[s], entry, key, desc).is_lt());
    order.insert(at, slot);
}

/// Two entries in an order: the key in its direction, the tie-break ascending, then the place.
fn compare(a: &Entry, b: &Entry, key: Option<usize>, desc: bool) -> Ordering {
    ordered(a.sort_values(key), b.sort_values(key), desc).then(a.place.cmp(&b.place))
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
fn ordered<'v>(
    a: impl IntoIterator<Item = &'v SortValue>,
    b: impl IntoIterator<Item = &'v SortValue>,
    desc: bool,
) -> Ordering {
    for (i, (x, y)) in a.into_iter().zip(b).enumerate() {
        let o = x.cmp(y);
        let o = if i == 0 && desc { o.reverse() } else { o };
        if o.is_ne() {
            return o;
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_member_moves_the_weight_by_what_it_weighs() {
        let before = serde_json::json!({"id": "b1", "value": {"amount": 1, "units": "EUR"}, "name": "1.00 EUR"});
        let mut after = before.clone();
        after["value"] = serde_json::json!({"amount": 12.5, "units": "EUR", "note": "a longer text"});
        after["name"] = serde_json::json!("12.50 EUR");
        let moved: isize = ["value", "name"]
            .iter()
            .map(|m| member_weight(&after, m) as isize - member_weight(&before, m) as isize)
            .sum();
        assert_eq!(weight(&before) as isize + moved, weight(&after) as isize);
        assert_eq!(member_weight(&before, "absent"), 0);
    }

    #[test]
    fn an_added_record_is_kept_as_text_and_reads_back_exactly() {
        let record = serde_json::json!({
            "id": "t1", "amount": 36.42, "tiny": 1e-7, "big": 12345678901234567890u64, "nested": {"units": "EUR"}
        });
        let mut changes = Changes::default();
        changes.add("t1".into(), &record);
        let kept = changes.weight();
        assert!(kept > weight(&record), "it weighs what it would parsed, which a read may keep");
        assert_eq!(*changes.peek(Slot::Added(0)), record, "a walk parses it for itself");
        assert!(changes.added[0].parsed.get().is_none(), "and keeps nothing");
        assert_eq!(changes.record(Slot::Added(0)), &record, "every number reads back as written");
        assert!(changes.added[0].parsed.get().is_some(), "a read keeps it parsed");
        assert_eq!(changes.weight(), kept, "within the weight it was given");

        // Taken and given back unchanged: the text is still the record, and the parse is let go.
        let taken = changes.take(Slot::Added(0)).unwrap();
        changes.give_back(Slot::Added(0), taken);
        assert!(changes.added[0].parsed.get().is_none());
        assert_eq!(changes.record(Slot::Added(0)), &record);

        // Changed: the new text is kept, weighed anew.
        let mut taken = changes.take(Slot::Added(0)).unwrap();
        taken["nested"]["units"] = "a longer unit".into();
        changes.replace(Slot::Added(0), taken.clone());
        let longer = "a longer unit".len() - "EUR".len();
        assert_eq!(changes.weight(), kept + 2 * longer, "its text and its tree each grew by the longer unit");
        assert_eq!(changes.record(Slot::Added(0)), &taken);
        assert_eq!(changes.journal, [Slot::Added(0), Slot::Added(0)], "each change is journalled for the indexes");
    }

    #[test]
    fn an_object_is_weighed_at_its_tables_capacity() {
        // Capacities hashbrown gives a table for n entries: 3, 7, then 7/8 of the buckets.
        assert_eq!([0, 1, 3, 4, 7, 8, 14, 15, 28, 29].map(room), [0, 3, 3, 7, 7, 14, 14, 28, 28, 56]);
        let one = weight(&serde_json::json!({ "a": 1 }));
        let two = weight(&serde_json::json!({ "a": 1, "b": 2 }));
        assert_eq!(two - one, 1 + 16, "a second member fits the room the first one's table has");
    }
}
