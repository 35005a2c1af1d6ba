//! A binding compiled against its collection: filter indexes and precomputed sort orders, so a
//! filtered, sorted page costs what its matches cost, not what the collection holds.
//!
//! Longer than 500 lines on purpose: the builder, the kept parts the store cache reads back, and
//! the page walk share private index types (postings, orders, sort columns) that would have to
//! become crate-wide to split them; a fifth of the file is its tests.

use hashbrown::HashMap;
use std::cmp::Ordering;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::behaviour::{Binding, Compare, Paging, SortKey};
use crate::openapi::params::ParamValues;
use crate::store::{text_of, KeyIndex, Path, Store};

/// One filter: parameter values to the records whose field holds them.
#[derive(Debug, Serialize, Deserialize)]
struct FilterIndex {
    param: String,
    #[serde(serialize_with = "sorted")]
    postings: HashMap<String, Posting>,
    /// The filter matches the collection's own key: the key index answers, no postings kept.
    on_key: bool,
}

/// Writes a map in key order, so the same records give the same snapshot bytes.
fn sorted<S: serde::Serializer>(map: &HashMap<String, Posting>, serializer: S) -> Result<S::Ok, S::Error> {
    let mut entries: Vec<_> = map.iter().collect();
    entries.sort_unstable_by_key(|(k, _)| k.as_str());
    serializer.collect_map(entries)
}

/// The records holding one value: a sorted list while few do, a bitmap once the bitmap is no
/// larger than the list (one in 32 records or more), so a common value ORs in word by word.
#[derive(Debug, Serialize, Deserialize)]
enum Posting {
    List(Vec<u32>),
    Bits { bits: Vec<u64>, len: usize },
}

impl Posting {
    fn len(&self) -> usize {
        match self {
            Posting::List(ids) => ids.len(),
            Posting::Bits { len, .. } => *len,
        }
    }

    fn contains(&self, id: u32) -> bool {
        match self {
            Posting::List(ids) => ids.binary_search(&id).is_ok(),
            Posting::Bits { bits, .. } => bits[id as usize / 64] & (1 << (id % 64)) != 0,
        }
    }

    /// ORs the records into `bits`.
    fn or_into(&self, bits: &mut [u64]) {
        match self {
            Posting::List(ids) => ids.iter().for_each(|&id| bits[id as usize / 64] |= 1 << (id % 64)),
            Posting::Bits { bits: own, .. } => bits.iter_mut().zip(own).for_each(|(a, b)| *a |= b),
        }
    }

    /// Says why the posting cannot belong to a collection of `records`, if it cannot.
    fn fault(&self, records: usize) -> Option<String> {
        match self {
            Posting::List(ids) if ids.windows(2).any(|w| w[0] >= w[1]) => {
                Some("a posting list is not ascending".into())
            }
            Posting::List(ids) if ids.last().is_some_and(|&id| id as usize >= records) => {
                Some(format!("a posting names record {} of {records}", ids[ids.len() - 1]))
            }
            Posting::Bits { bits, .. } if bits.len() != records.div_ceil(64) => {
                Some(format!("a posting bitmap has {} words for {records} records", bits.len()))
            }
            _ => None,
        }
    }

    fn pack(self, records: usize) -> Posting {
        match self {
            Posting::List(ids) if ids.len() * 32 >= records => {
                let mut bits = vec![0u64; records.div_ceil(64)];
                let len = ids.len();
                Posting::List(ids).or_into(&mut bits);
                Posting::Bits { bits, len }
            }
            other => other,
        }
    }
}

/// Records in one order, and each record's position in it.
#[derive(Debug)]
struct Order {
    ids: Vec<u32>,
    rank: Vec<u32>,
}

/// The order asked for: a sort key (None for the tie-break alone) and a direction.
type OrderKey = (Option<String>, bool);

/// Precomputed orders, found by a scan: there are two per sort key, a handful in all.
#[derive(Debug, Default)]
struct Orders(Vec<(OrderKey, Order)>);

impl Orders {
    fn insert(&mut self, key: OrderKey, order: Order) {
        self.0.push((key, order));
    }

    fn get(&self, name: Option<&str>, desc: bool) -> Option<&Order> {
        self.0.iter().find(|((n, d), _)| n.as_deref() == name && *d == desc).map(|(_, o)| o)
    }
}

impl std::ops::Index<&OrderKey> for Orders {
    type Output = Order;

    fn index(&self, key: &OrderKey) -> &Order {
        self.get(key.0.as_deref(), key.1).expect("the order exists")
    }
}

/// A compiled binding's query side.
#[derive(Debug)]
pub struct Query {
    /// Keys of the collection read.
    pub(crate) index: Arc<KeyIndex>,
    filters: Vec<FilterIndex>,
    orders: Orders,
    sort_param: Option<String>,
    direction_param: Option<String>,
    descending: Option<String>,
    /// The paging convention, if the binding pages.
    pub(crate) paging: Option<Paging>,
    /// The filters and sort keys as fields, for records a session wrote, which no index holds.
    pub(crate) fields: Arc<FieldPlan>,
}

/// A filter as fields: the parameter, the field, and the collection and foreign key it reads through.
pub(crate) type FieldFilter = (String, Path, Option<(String, Path)>);

/// A binding's filters and orders as record fields: what [`crate::store::merge`] reads to match
/// and place a session's records among the indexed ones.
#[derive(Debug, Default)]
pub(crate) struct FieldPlan {
    /// Each filter's parameter, field, and the collection and foreign key it reads through.
    pub(crate) filters: Vec<FieldFilter>,
    /// Sort keys by name.
    pub(crate) keys: Vec<(String, Path, Compare)>,
    /// The tie-break, ascending.
    pub(crate) tie_break: Vec<(Path, Compare)>,
}

/// Which records a request gets, in order, and how many matched in all.
#[derive(Debug, PartialEq, Eq)]
pub struct Page {
    /// Record indexes, in response order.
    pub ids: Vec<u32>,
    /// Number of records that matched before paging.
    pub total: usize,
}

/// A filter that reads another collection: the joined records and the field of theirs it matches.
type Join = (Arc<crate::store::Collection>, Path);

/// Builds a [`Query`] from records fed one at a time, so a large collection never has to be
/// held parsed in memory all at once.
pub struct QueryBuilder {
    filters: Vec<(FilterIndex, Path, Option<Join>)>,
    /// Each distinct sort column (a field and how it compares) and its values, by record. A field
    /// that is both a sort key and a tie-break (`id`, say) is read, held and ranked once.
    columns: Vec<(String, Compare, Path, Vec<SortValue>)>,
    /// The tie-break columns, by index into `columns`.
    tie_break: Vec<usize>,
    /// Each sort key's name and column.
    keys: Vec<(String, usize)>,
    /// Records taken in so far.
    count: usize,
    sort_param: Option<String>,
    direction_param: Option<String>,
    descending: Option<String>,
    paging: Option<Paging>,
    fields: Arc<FieldPlan>,
}

impl QueryBuilder {
    /// Prepares a binding; joined collections must already be in `store`.
    /// `key` is the JSON pointer of the collection's record key.
    pub fn new(binding: &Binding, store: &Store, key: &str) -> Result<QueryBuilder, String> {
        let mut filters = Vec::new();
        for filter in &binding.filters {
            let joined = match &filter.via {
                Some(join) => Some((
                    store
                        .collection(&join.collection)
                        .ok_or_else(|| {
                            format!(
                                "filter `{}`: collection `{}` must be declared before `{}`",
                                filter.param, join.collection, binding.collection
                            )
                        })?
                        .clone(),
                    Path::new(&join.key),
                )),
                None => None,
            };
            let on_key = joined.is_none() && filter.field == key;
            filters.push((
                FilterIndex { param: filter.param.clone(), postings: HashMap::new(), on_key },
                Path::new(&filter.field),
                joined,
            ));
        }
        let sort = binding.sort.as_ref();
        let mut columns: Vec<(String, Compare, Path, Vec<SortValue>)> = Vec::new();
        let mut column =
            |key: &SortKey| match columns.iter().position(|(f, c, _, _)| *f == key.field && *c == key.compare) {
                Some(i) => i,
                None => {
                    columns.push((key.field.clone(), key.compare, Path::new(&key.field), Vec::new()));
                    columns.len() - 1
                }
            };
        let tie_break: Vec<usize> = sort.map(|s| s.tie_break.iter().map(&mut column).collect()).unwrap_or_default();
        let keys: Vec<(String, usize)> =
            sort.map(|s| s.keys.iter().map(|(name, key)| (name.clone(), column(key))).collect()).unwrap_or_default();
        let fields = Arc::new(FieldPlan {
            filters: binding
                .filters
                .iter()
                .map(|f| {
                    let via = f.via.as_ref().map(|j| (j.collection.clone(), Path::new(&j.key)));
                    (f.param.clone(), Path::new(&f.field), via)
                })
                .collect(),
            keys: sort
                .map(|s| s.keys.iter().map(|(n, k)| (n.clone(), Path::new(&k.field), k.compare)).collect())
                .unwrap_or_default(),
            tie_break: sort
                .map(|s| s.tie_break.iter().map(|k| (Path::new(&k.field), k.compare)).collect())
                .unwrap_or_default(),
        });
        Ok(QueryBuilder {
            fields,
            filters,
            columns,
            tie_break,
            keys,
            count: 0,
            sort_param: sort.and_then(|s| s.field_param.clone()),
            direction_param: sort.and_then(|s| s.direction_param.clone()),
            descending: sort.and_then(|s| s.descending.clone()),
            paging: binding.paging.clone(),
        })
    }

    /// Takes in the next record (its index is the number taken so far).
    pub fn ingest(&mut self, record: &Value) {
        let i = self.count as u32;
        self.count += 1;
        for (filter, field, joined) in &mut self.filters {
            if filter.on_key {
                continue;
            }
            let source = match joined {
                Some((other, key)) => {
                    let mut found = None;
                    key.for_each(record, |k| {
                        if found.is_none() {
                            found = match k {
                                Value::String(k) => other.get(k),
                                k => other.get(&text_of(k)),
                            };
                        }
                    });
                    match found {
                        Some((_, r)) => r,
                        None => continue,
                    }
                }
                None => record,
            };
            field.for_each(source, |value| {
                let key: std::borrow::Cow<'_, str> = match value {
                    Value::String(s) => std::borrow::Cow::Borrowed(s),
                    other => std::borrow::Cow::Owned(text_of(other)),
                };
                match filter.postings.get_mut(key.as_ref()) {
                    Some(Posting::List(list)) if list.last() == Some(&i) => {}
                    Some(Posting::List(list)) => list.push(i),
                    Some(Posting::Bits { .. }) => unreachable!("postings are packed only when the query is finished"),
                    None => {
                        filter.postings.insert(key.into_owned(), Posting::List(vec![i]));
                    }
                }
            });
        }
        for (_, compare, path, values) in self.columns.iter_mut() {
            values.push(SortValue::of(record, path, *compare));
        }
    }

    /// Sorts every order once and returns the query.
    ///
    /// Each column is ranked once with a comparison sort; every order is then a sort of packed
    /// integer keys, so a million records take one string sort per column, not one per order.
    pub fn finish(self, index: Arc<KeyIndex>) -> Query {
        let n = self.count;
        // Every column is ranked at once, one thread each: a comparison sort per column is most
        // of the work of finishing a large collection.
        let columns: Vec<&[SortValue]> = self.columns.iter().map(|(_, _, _, values)| values.as_slice()).collect();
        let ranked = ranks_of(&columns);
        let tie_columns: Vec<&Vec<u32>> = self.tie_break.iter().map(|&i| &ranked[i]).collect();
        // The tie-break order, with the record index last, makes each record's tie rank unique.
        let mut tie_order: Vec<u32> = (0..n as u32).collect();
        tie_order.sort_unstable_by(|&a, &b| {
            tie_columns.iter().map(|c| c[a as usize].cmp(&c[b as usize])).find(|o| o.is_ne()).unwrap_or(a.cmp(&b))
        });
        let mut tie_rank = vec![0u32; n];
        for (position, &id) in tie_order.iter().enumerate() {
            tie_rank[id as usize] = position as u32;
        }
        let mut orders = Orders::default();
        orders.insert((None, false), order_from(tie_order));
        for (name, column) in &self.keys {
            let primary = &ranked[*column];
            let top = primary.iter().copied().max().unwrap_or(0) as u64;
            for desc in [false, true] {
                let mut keyed: Vec<(u64, u32)> = (0..n)
                    .map(|i| {
                        let p = primary[i] as u64;
                        let p = if desc { top - p } else { p };
                        ((p << 32) | tie_rank[i] as u64, i as u32)
                    })
                    .collect();
                keyed.sort_unstable();
                orders.insert((Some(name.clone()), desc), order_from(keyed.into_iter().map(|(_, i)| i).collect()));
            }
        }
        let filters = self
            .filters
            .into_iter()
            .map(|(mut f, _, _)| {
                f.postings = f.postings.into_iter().map(|(k, p)| (k, p.pack(n))).collect();
                f
            })
            .collect();
        Query {
            index,
            filters,
            orders,
            sort_param: self.sort_param,
            direction_param: self.direction_param,
            descending: self.descending,
            paging: self.paging,
            fields: self.fields,
        }
    }
}

/// The part of a [`Query`] made from the records, as a snapshot keeps it: the filter postings
/// and each order's record ids (ranks follow from the ids).
#[derive(Deserialize)]
pub(crate) struct QueryParts {
    filters: Vec<FilterIndex>,
    orders: Vec<(OrderKey, Vec<u32>)>,
}

/// [`QueryParts`] borrowed from a query, for writing; it encodes the same.
#[derive(Serialize)]
pub(crate) struct QueryPartsRef<'a> {
    filters: &'a [FilterIndex],
    orders: Vec<(&'a OrderKey, &'a [u32])>,
}

impl QueryBuilder {
    /// Makes the query from parts kept by a snapshot instead of from records, checking that they
    /// fit this binding and a collection of `index.len()` records.
    pub(crate) fn resume(self, index: Arc<KeyIndex>, parts: QueryParts) -> Result<Query, String> {
        let n = index.len();
        if parts.filters.len() != self.filters.len() {
            return Err(format!("{} filters kept, {} declared", parts.filters.len(), self.filters.len()));
        }
        for (kept, (declared, _, _)) in parts.filters.iter().zip(&self.filters) {
            if kept.param != declared.param || kept.on_key != declared.on_key {
                return Err(format!("filter `{}` kept where `{}` is declared", kept.param, declared.param));
            }
            if let Some(fault) = kept.postings.values().find_map(|p| p.fault(n)) {
                return Err(format!("filter `{}`: {fault}", kept.param));
            }
        }
        let mut expected = vec![(None, false)];
        for (name, _) in &self.keys {
            expected.extend([(Some(name.clone()), false), (Some(name.clone()), true)]);
        }
        let kept: Vec<&OrderKey> = parts.orders.iter().map(|(k, _)| k).collect();
        if kept != expected.iter().collect::<Vec<_>>() {
            return Err(format!("orders {kept:?} kept where {expected:?} are declared"));
        }
        let mut orders = Orders::default();
        for (key, ids) in parts.orders {
            let order = order_checked(ids, n).ok_or_else(|| format!("order {key:?} is not an order of {n} records"))?;
            orders.insert(key, order);
        }
        Ok(Query {
            index,
            filters: parts.filters,
            orders,
            sort_param: self.sort_param,
            direction_param: self.direction_param,
            descending: self.descending,
            paging: self.paging,
            fields: self.fields,
        })
    }
}

impl Query {
    /// Runs the query for one request's parameters.
    /// The parts a snapshot keeps.
    pub(crate) fn parts(&self) -> QueryPartsRef<'_> {
        QueryPartsRef {
            filters: &self.filters,
            orders: self.orders.0.iter().map(|(k, o)| (k, o.ids.as_slice())).collect(),
        }
    }

    /// The page of record ids the request's filters, sort and paging select, and the total.
    pub fn run(&self, params: &ParamValues) -> Page {
        let (skip, take) = self.window(params);
        self.run_window(params, skip, take)
    }

    /// The sort key asked for (None: the tie-break alone) and whether it runs descending; a key
    /// the binding does not know reads as none, as the index answers it.
    pub(crate) fn order_asked<'p>(&self, params: &'p ParamValues) -> (Option<&'p str>, bool) {
        let key = self.sort_param.as_deref().and_then(|p| params.str(p));
        let desc = match (&self.direction_param, &self.descending) {
            (Some(p), Some(d)) => params.str(p) == Some(d.as_str()),
            _ => false,
        };
        match self.orders.get(key, desc) {
            Some(_) => (key, desc),
            None => (None, false),
        }
    }

    /// The first record of the order asked for, filters aside: no match sorts before it.
    pub(crate) fn first_in_order(&self, params: &ParamValues) -> Option<u32> {
        let (key, desc) = self.order_asked(params);
        let order = self.orders.get(key, desc).unwrap_or_else(|| &self.orders[&(None, false)]);
        order.ids.first().copied()
    }

    /// Records `skip..skip + take` of the matches, in the order asked for, and the total.
    pub(crate) fn run_window(&self, params: &ParamValues, skip: usize, take: usize) -> Page {
        let candidates = self.candidates(params);
        let (key, desc) = self.order_asked(params);
        let order = self.orders.get(key, desc).unwrap_or_else(|| &self.orders[&(None, false)]);
        match candidates {
            Some(Matches::Bits(bits)) => select_bits(&bits, order, skip, take),
            Some(Matches::List(ids)) => select(Some(ids), order, skip, take),
            None => select(None, order, skip, take),
        }
    }

    /// The records to skip and to take, as the request's paging parameters ask.
    pub(crate) fn window(&self, params: &ParamValues) -> (usize, usize) {
        let clamp = |v: Option<i64>| v.map(|v| v.max(0) as usize);
        match &self.paging {
            Some(Paging::PageNumber { page, size }) => {
                let size = clamp(params.int(size)).unwrap_or(usize::MAX);
                let page = clamp(params.int(page)).unwrap_or(0);
                (page.saturating_mul(size), size)
            }
            Some(Paging::Offset { offset, limit, .. }) => {
                (clamp(params.int(offset)).unwrap_or(0), clamp(params.int(limit)).unwrap_or(usize::MAX))
            }
            None => (0, usize::MAX),
        }
    }

    /// The records matching every given filter; None when no filter narrows.
    ///
    /// Few matches stay a sorted list and are ranked directly. Many matches become a bitmap,
    /// and the page is a walk along the precomputed order: either way no sort of the matches.
    fn candidates(&self, params: &ParamValues) -> Option<Matches> {
        let everything = self.index.len();
        // Each narrowing filter as the postings of its values (OR within, AND across).
        let mut groups: Vec<Vec<&Posting>> = Vec::new();
        let mut key_hits: Option<Vec<u32>> = None;
        for filter in &self.filters {
            // An absent or empty list does not narrow.
            let Some(wanted) = params.texts(&filter.param).filter(|w| !w.is_empty()) else { continue };
            if filter.on_key {
                let mut hits: Vec<u32> = wanted.iter().filter_map(|v| self.index.find(v.as_ref())).collect();
                hits.sort_unstable();
                hits.dedup();
                key_hits = Some(hits);
                continue;
            }
            let found: Vec<&Posting> = wanted.iter().filter_map(|v| filter.postings.get(v.as_ref())).collect();
            if found.is_empty() {
                return Some(Matches::List(Vec::new()));
            }
            // A value every record holds (the one tenant, say) narrows nothing.
            if found.iter().all(|p| p.len() < everything) {
                groups.push(found);
            }
        }
        let size = |g: &Vec<&Posting>| g.iter().map(|p| p.len()).sum::<usize>();
        groups.sort_by_key(size);
        let sparse = |g: &Vec<&Posting>| g.iter().all(|p| matches!(p, Posting::List(_))) && size(g) * 16 < everything;
        let seed = match key_hits {
            Some(hits) => Some(hits),
            None if groups.is_empty() => return None,
            None if sparse(&groups[0]) => {
                let g = groups.remove(0);
                let mut u: Vec<u32> = g
                    .iter()
                    .flat_map(|p| match p {
                        Posting::List(ids) => ids.iter().copied(),
                        Posting::Bits { .. } => unreachable!("a sparse group holds lists"),
                    })
                    .collect();
                if g.len() > 1 {
                    u.sort_unstable();
                    u.dedup();
                }
                Some(u)
            }
            None => None,
        };
        if let Some(mut result) = seed {
            // Few candidates: keep those every other filter also holds.
            for g in &groups {
                result.retain(|&id| g.iter().any(|p| p.contains(id)));
            }
            return Some(Matches::List(result));
        }
        // Dense: OR each filter's postings into a bitmap and AND the bitmaps, with no sorting.
        let words = everything.div_ceil(64);
        let mut bits = vec![0u64; words];
        groups[0].iter().for_each(|p| p.or_into(&mut bits));
        let mut other = vec![0u64; words];
        for g in &groups[1..] {
            other.iter_mut().for_each(|w| *w = 0);
            g.iter().for_each(|p| p.or_into(&mut other));
            bits.iter_mut().zip(&other).for_each(|(a, b)| *a &= b);
        }
        Some(Matches::Bits(bits))
    }
}

/// Records that matched the filters.
enum Matches {
    /// Sorted record indexes.
    List(Vec<u32>),
    /// One bit per record.
    Bits(Vec<u64>),
}

/// A page from a bitmap of matches: walk the order, counting matches until the page is full.
fn select_bits(bits: &[u64], order: &Order, skip: usize, take: usize) -> Page {
    let total = bits.iter().map(|w| w.count_ones() as usize).sum();
    let mut ids = Vec::new();
    if skip < total && take > 0 {
        let mut seen = 0usize;
        for &id in &order.ids {
            if bits[id as usize / 64] & (1 << (id % 64)) != 0 {
                if seen >= skip {
                    ids.push(id);
                    if ids.len() == take {
                        break;
                    }
                }
                seen += 1;
            }
        }
    }
    Page { ids, total }
}

fn select(candidates: Option<Vec<u32>>, order: &Order, skip: usize, take: usize) -> Page {
    match candidates {
        None => {
            let total = order.ids.len();
            let start = skip.min(total);
            let end = start.saturating_add(take).min(total);
            Page { ids: order.ids[start..end].to_vec(), total }
        }
        Some(ids) => {
            let total = ids.len();
            if skip >= total || take == 0 {
                return Page { ids: Vec::new(), total };
            }
            let mut ranks: Vec<u32> = ids.iter().map(|&i| order.rank[i as usize]).collect();
            // Partition so that [skip, skip + take) holds the page's ranks, then sort only those.
            if skip > 0 {
                ranks.select_nth_unstable(skip);
            }
            let window = &mut ranks[skip..];
            let take = take.min(window.len());
            if take < window.len() {
                window.select_nth_unstable(take);
            }
            let page = &mut window[..take];
            page.sort_unstable();
            Page { ids: page.iter().map(|&r| order.ids[r as usize]).collect(), total }
        }
    }
}

/// The ranks of several columns, sorted side by side when they are large.
fn ranks_of(columns: &[&[SortValue]]) -> Vec<Vec<u32>> {
    if columns.len() < 2 || columns.iter().all(|c| c.len() < 50_000) {
        return columns.iter().map(|c| ranks(c)).collect();
    }
    std::thread::scope(|scope| {
        let running: Vec<_> = columns.iter().map(|c| scope.spawn(move || ranks(c))).collect();
        running.into_iter().map(|t| t.join().expect("ranking a column does not panic")).collect()
    })
}

/// Dense ranks of a column: equal values share a rank.
fn ranks(column: &[SortValue]) -> Vec<u32> {
    // Integer keys settle almost every comparison; the full comparison only breaks their ties.
    let keys: Vec<u128> = column.iter().map(SortValue::prefix).collect();
    let cmp = |a: usize, b: usize| keys[a].cmp(&keys[b]).then_with(|| column[a].cmp(&column[b]));
    let mut by_value: Vec<u32> = (0..column.len() as u32).collect();
    by_value.sort_unstable_by(|&a, &b| cmp(a as usize, b as usize));
    let mut rank = vec![0u32; column.len()];
    let mut current = 0;
    for w in 0..by_value.len() {
        if w > 0 && cmp(by_value[w] as usize, by_value[w - 1] as usize).is_ne() {
            current += 1;
        }
        rank[by_value[w] as usize] = current;
    }
    rank
}

fn order_from(ids: Vec<u32>) -> Order {
    let mut rank = vec![0u32; ids.len()];
    for (position, &id) in ids.iter().enumerate() {
        rank[id as usize] = position as u32;
    }
    Order { ids, rank }
}

/// The order of `ids`, if they are each of the `n` records once.
fn order_checked(ids: Vec<u32>, n: usize) -> Option<Order> {
    if ids.len() != n {
        return None;
    }
    let mut rank = vec![u32::MAX; n];
    for (position, &id) in ids.iter().enumerate() {
        let slot = rank.get_mut(id as usize)?;
        if *slot != u32::MAX {
            return None;
        }
        *slot = position as u32;
    }
    Some(Order { ids, rank })
}

#[cfg(test)]
fn build_order(tie: &[Vec<SortValue>], primary: Option<&[SortValue]>, desc: bool) -> Order {
    let mut ids: Vec<u32> = (0..tie.len() as u32).collect();
    ids.sort_by(|&a, &b| {
        let (a, b) = (a as usize, b as usize);
        let first = match primary {
            Some(p) if desc => p[b].cmp(&p[a]),
            Some(p) => p[a].cmp(&p[b]),
            None => Ordering::Equal,
        };
        first.then_with(|| tie[a].cmp(&tie[b])).then(a.cmp(&b))
    });
    let mut rank = vec![0u32; ids.len()];
    for (position, &id) in ids.iter().enumerate() {
        rank[id as usize] = position as u32;
    }
    Order { ids, rank }
}

/// A field's value as it sorts. Missing values sort first.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum SortValue {
    Missing,
    Number(Decimal),
    Time(i64),
    Text(Box<str>),
}

impl SortValue {
    /// A key that orders like the value wherever the keys differ: the variant, then a leading
    /// part of the value (a text's first eight bytes, a time, a decimal's integer part).
    fn prefix(&self) -> u128 {
        let (tag, payload): (u128, u64) = match self {
            SortValue::Missing => (0, 0),
            SortValue::Number(d) => (1, d.leading()),
            SortValue::Time(t) => (2, (*t as u64) ^ (1 << 63)),
            SortValue::Text(t) => {
                let mut head = [0u8; 8];
                let n = t.len().min(8);
                head[..n].copy_from_slice(&t.as_bytes()[..n]);
                (3, u64::from_be_bytes(head))
            }
        };
        (tag << 64) | payload as u128
    }

    pub(crate) fn of(record: &Value, path: &Path, compare: Compare) -> SortValue {
        let Some(value) = path.get(record) else {
            return SortValue::Missing;
        };
        let text: std::borrow::Cow<'_, str> = match value {
            Value::String(s) => std::borrow::Cow::Borrowed(s),
            other => std::borrow::Cow::Owned(text_of(other)),
        };
        let parsed = match compare {
            Compare::Text => None,
            Compare::Decimal => Decimal::parse(&text).map(SortValue::Number),
            Compare::Timestamp => chrono::DateTime::parse_from_rfc3339(&text)
                .ok()
                .and_then(|t| t.timestamp_nanos_opt())
                .map(SortValue::Time),
        };
        parsed.unwrap_or_else(|| SortValue::Text(text.into()))
    }
}

/// A decimal of any size, compared exactly: sign, then integer digits, then fraction digits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Decimal {
    negative: bool,
    // Boxed, not String: a million of them sit in a sort column while a collection loads.
    integer: Box<str>,
    fraction: Box<str>,
}

impl Decimal {
    /// Parses `-?digits(.digits)?`; None for anything else.
    pub(crate) fn parse(text: &str) -> Option<Decimal> {
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text.strip_prefix('+').unwrap_or(text)),
        };
        let (integer, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        if integer.is_empty() && fraction.is_empty()
            || !integer.bytes().all(|b| b.is_ascii_digit())
            || !fraction.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let integer: Box<str> = integer.trim_start_matches('0').into();
        let fraction: Box<str> = fraction.trim_end_matches('0').into();
        let zero = integer.is_empty() && fraction.is_empty();
        Some(Decimal { negative: negative && !zero, integer, fraction })
    }

    /// Orders like the decimal wherever two results differ: its integer part, offset so that
    /// negatives sort first; integer parts past 18 digits share the extremes.
    fn leading(&self) -> u64 {
        const MID: u64 = 1 << 63;
        // Leading zeros are trimmed at parse, so zero's integer part is empty.
        let whole = match self.integer.len() {
            0 => Some(0),
            1..=18 => self.integer.parse::<u64>().ok(),
            _ => None,
        };
        match (self.negative, whole) {
            (false, Some(w)) => MID + w,
            (false, None) => u64::MAX,
            (true, Some(w)) => MID - w - 1,
            (true, None) => 0,
        }
    }

    fn magnitude_cmp(&self, other: &Self) -> Ordering {
        self.integer
            .len()
            .cmp(&other.integer.len())
            .then_with(|| self.integer.cmp(&other.integer))
            .then_with(|| self.fraction.cmp(&other.fraction))
    }
}

impl Ord for Decimal {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self.negative, other.negative) {
            (false, true) => Ordering::Greater,
            (true, false) => Ordering::Less,
            (false, false) => self.magnitude_cmp(other),
            (true, true) => other.magnitude_cmp(self),
        }
    }
}

impl PartialOrd for Decimal {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_compare_by_value() {
        let d = |s| Decimal::parse(s).unwrap();
        assert!(d("900") < d("10000"));
        assert!(d("-5") < d("3"));
        assert!(d("-50") < d("-5"));
        assert!(d("1.5") < d("1.50001"));
        assert_eq!(d("007.10"), d("7.1"));
        assert_eq!(d("-0"), d("0"));
        assert!(Decimal::parse("1e5").is_none());
    }

    #[test]
    fn prefixes_never_contradict_the_order() {
        let values = [
            SortValue::Missing,
            SortValue::Number(Decimal::parse("-1234567890123456789012").unwrap()),
            SortValue::Number(Decimal::parse("-6").unwrap()),
            SortValue::Number(Decimal::parse("-5.5").unwrap()),
            SortValue::Number(Decimal::parse("-5").unwrap()),
            SortValue::Number(Decimal::parse("-0.5").unwrap()),
            SortValue::Number(Decimal::parse("0").unwrap()),
            SortValue::Number(Decimal::parse("0.25").unwrap()),
            SortValue::Number(Decimal::parse("999999999999999999").unwrap()),
            SortValue::Number(Decimal::parse("99999999999999999999").unwrap()),
            SortValue::Time(-5),
            SortValue::Time(0),
            SortValue::Time(7),
            SortValue::Text("".into()),
            SortValue::Text("ab".into()),
            SortValue::Text("ab\u{0}x".into()),
            SortValue::Text("abcdefgh".into()),
            SortValue::Text("abcdefghz".into()),
            SortValue::Text("b".into()),
        ];
        for a in &values {
            for b in &values {
                if a.prefix() != b.prefix() {
                    assert_eq!(a.prefix().cmp(&b.prefix()), a.cmp(b), "{a:?} {b:?}");
                }
            }
        }
        assert!(values.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn postings_answer_the_same_as_lists_or_bitmaps() {
        let ids = vec![1, 5, 64, 65, 127];
        let packed = Posting::List(ids.clone()).pack(128);
        assert!(matches!(packed, Posting::Bits { len: 5, .. }));
        let list = Posting::List(ids.clone()).pack(1000);
        assert!(matches!(list, Posting::List(_)));
        for id in 0..128 {
            assert_eq!(packed.contains(id), ids.contains(&id), "{id}");
            assert_eq!(list.contains(id), ids.contains(&id), "{id}");
        }
        let (mut a, mut b) = (vec![0u64; 2], vec![0u64; 2]);
        packed.or_into(&mut a);
        list.or_into(&mut b);
        assert_eq!(a, b);
    }

    #[test]
    fn select_pages_through_ranks() {
        let tie: Vec<Vec<SortValue>> = (0..10).rev().map(|i| vec![SortValue::Time(i)]).collect();
        let order = build_order(&tie, None, false);
        assert_eq!(order.ids, vec![9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
        let page = select(Some(vec![0, 2, 4, 6, 8]), &order, 1, 2);
        assert_eq!(page, Page { ids: vec![6, 4], total: 5 });
        assert_eq!(select(Some(vec![1]), &order, 3, 2).ids, Vec::<u32>::new());
    }
}

#[cfg(test)]
mod rank_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ranked_orders_equal_a_plain_comparison_sort() {
        let binding: Binding = serde_json::from_value(json!({
            "collection": "c",
            "sort": {
                "field_param": "f",
                "keys": {"q": {"field": "/q", "compare": "decimal"}, "t": {"field": "/t"}},
                "tie_break": [{"field": "/at", "compare": "timestamp"}, {"field": "/id"}]
            },
            "body": {"shape": "list"}
        }))
        .unwrap();
        let mut g = crate::generate::Gen::new(3);
        let records: Vec<Value> = (0..500)
            .map(|i| {
                json!({"id": format!("r{}", g.below(0, 300)), "q": g.below(0, 40).to_string(), "t": *g.pick(&["a", "b", "c"]),
                       "at": format!("2026-01-0{}T00:00:00Z", g.below(1, 4)), "i": i})
            })
            .collect();
        let mut builder = QueryBuilder::new(&binding, &Store::default(), "/id").unwrap();
        records.iter().for_each(|r| builder.ingest(r));
        let query = builder.finish(Default::default());
        let sort = binding.sort.unwrap();
        let of = |r: &Value, k: &SortKey| SortValue::of(r, &Path::new(&k.field), k.compare);
        let tie: Vec<Vec<SortValue>> =
            records.iter().map(|r| sort.tie_break.iter().map(|k| of(r, k)).collect()).collect();
        assert_eq!(ranks_of(&[&[SortValue::Time(3), SortValue::Missing, SortValue::Time(3)][..]]), vec![vec![1, 0, 1]]);
        assert_eq!(query.orders[&(None, false)].ids, build_order(&tie, None, false).ids);
        for (name, key) in &sort.keys {
            let primary: Vec<SortValue> = records.iter().map(|r| of(r, key)).collect();
            for desc in [false, true] {
                assert_eq!(
                    query.orders[&(Some(name.clone()), desc)].ids,
                    build_order(&tie, Some(&primary), desc).ids,
                    "{name} {desc}"
                );
            }
        }
    }
}
