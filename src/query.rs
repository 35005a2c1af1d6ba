//! A binding compiled against its collection: filter indexes and precomputed sort orders, so a
//! filtered, sorted page costs what its matches cost, not what the collection holds.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

use crate::behaviour::{Binding, Compare, Paging, SortKey};
use crate::params::ParamValues;
use crate::store::{text_of, values_at, KeyIndex, Store};

/// One filter: parameter values to the records whose field holds them.
#[derive(Debug)]
struct FilterIndex {
    param: String,
    postings: HashMap<String, Vec<u32>>,
}

/// Records in one order, and each record's position in it.
#[derive(Debug)]
struct Order {
    ids: Vec<u32>,
    rank: Vec<u32>,
}

/// The order asked for: a sort key (None for the tie-break alone) and a direction.
type OrderKey = (Option<String>, bool);

/// A compiled binding's query side.
#[derive(Debug)]
pub struct Query {
    /// Keys of the collection read.
    pub index: Arc<KeyIndex>,
    filters: Vec<FilterIndex>,
    orders: HashMap<OrderKey, Order>,
    sort_param: Option<String>,
    direction_param: Option<String>,
    descending: Option<String>,
    /// The paging convention, if the binding pages.
    pub paging: Option<Paging>,
}

/// Which records a request gets, in order, and how many matched in all.
#[derive(Debug, PartialEq, Eq)]
pub struct Page {
    /// Record indexes, in response order.
    pub ids: Vec<u32>,
    /// Number of records that matched before paging.
    pub total: usize,
}

/// Builds a [`Query`] from records fed one at a time, so a large collection never has to be
/// held parsed in memory all at once.
pub struct QueryBuilder {
    filters: Vec<(FilterIndex, String, Option<(Arc<crate::store::Collection>, String)>)>,
    tie_break: Vec<SortKey>,
    keys: Vec<(String, SortKey)>,
    tie_values: Vec<Vec<SortValue>>,
    primaries: Vec<Vec<SortValue>>,
    sort_param: Option<String>,
    direction_param: Option<String>,
    descending: Option<String>,
    paging: Option<Paging>,
}

impl QueryBuilder {
    /// Prepares a binding; joined collections must already be in `store`.
    pub fn new(binding: &Binding, store: &Store) -> Result<QueryBuilder, String> {
        let mut filters = Vec::new();
        for filter in &binding.filters {
            let joined = match &filter.via {
                Some(join) => Some((
                    store
                        .collection(&join.collection)
                        .ok_or_else(|| {
                            format!("filter `{}`: collection `{}` must be declared before `{}`", filter.param, join.collection, binding.collection)
                        })?
                        .clone(),
                    join.key.clone(),
                )),
                None => None,
            };
            filters.push((FilterIndex { param: filter.param.clone(), postings: HashMap::new() }, filter.field.clone(), joined));
        }
        let sort = binding.sort.as_ref();
        let keys: Vec<(String, SortKey)> = sort.map(|s| s.keys.clone().into_iter().collect()).unwrap_or_default();
        Ok(QueryBuilder {
            filters,
            tie_break: sort.map(|s| s.tie_break.clone()).unwrap_or_default(),
            primaries: vec![Vec::new(); keys.len()],
            keys,
            tie_values: Vec::new(),
            sort_param: sort.and_then(|s| s.field_param.clone()),
            direction_param: sort.and_then(|s| s.direction_param.clone()),
            descending: sort.and_then(|s| s.descending.clone()),
            paging: binding.paging.clone(),
        })
    }

    /// Takes in the next record (its index is the number taken so far).
    pub fn ingest(&mut self, record: &Value) {
        let i = self.tie_values.len() as u32;
        for (filter, field, joined) in &mut self.filters {
            let source = match joined {
                Some((other, key)) => match record.pointer(key).map(text_of).and_then(|k| other.get(&k)) {
                    Some((_, r)) => r,
                    None => continue,
                },
                None => record,
            };
            for value in values_at(source, field) {
                let list = filter.postings.entry(text_of(value)).or_default();
                if list.last() != Some(&i) {
                    list.push(i);
                }
            }
        }
        self.tie_values.push(self.tie_break.iter().map(|k| SortValue::of(record, k)).collect());
        for ((_, key), values) in self.keys.iter().zip(self.primaries.iter_mut()) {
            values.push(SortValue::of(record, key));
        }
    }

    /// Sorts every order once and returns the query.
    pub fn finish(self, index: Arc<KeyIndex>) -> Query {
        let mut orders = HashMap::new();
        orders.insert((None, false), build_order(&self.tie_values, None, false));
        for ((name, _), primary) in self.keys.iter().zip(&self.primaries) {
            for desc in [false, true] {
                orders.insert((Some(name.clone()), desc), build_order(&self.tie_values, Some(primary), desc));
            }
        }
        Query {
            index,
            filters: self.filters.into_iter().map(|(f, _, _)| f).collect(),
            orders,
            sort_param: self.sort_param,
            direction_param: self.direction_param,
            descending: self.descending,
            paging: self.paging,
        }
    }
}

impl Query {
    /// Compiles a binding over a loaded collection; `Err` names what in the behaviour file is wrong.
    pub fn compile(binding: &Binding, store: &Store) -> Result<Query, String> {
        let collection = store
            .collection(&binding.collection)
            .ok_or_else(|| format!("collection `{}` is not declared", binding.collection))?;
        let mut builder = QueryBuilder::new(binding, store)?;
        for record in &collection.records {
            builder.ingest(record);
        }
        Ok(builder.finish(collection.index.clone()))
    }

    /// The sort keys this query knows, for checking against the spec's enum.
    pub fn sort_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.orders.keys().filter_map(|(k, _)| k.clone()).collect();
        keys.sort();
        keys.dedup();
        keys
    }

    /// Runs the query for one request's parameters.
    pub fn run(&self, params: &ParamValues) -> Page {
        let candidates = self.candidates(params);
        let key = self.sort_param.as_deref().and_then(|p| params.str(p)).map(str::to_string);
        let desc = match (&self.direction_param, &self.descending) {
            (Some(p), Some(d)) => params.str(p) == Some(d.as_str()),
            _ => false,
        };
        let order = self
            .orders
            .get(&(key, desc))
            .unwrap_or_else(|| &self.orders[&(None, false)]);
        let (skip, take) = self.window(params);
        select(candidates, order, skip, take)
    }

    fn window(&self, params: &ParamValues) -> (usize, usize) {
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

    /// Record indexes matching every given filter, ascending; None when no filter was given.
    fn candidates(&self, params: &ParamValues) -> Option<Vec<u32>> {
        let everything = self.index.len();
        let mut lists: Vec<std::borrow::Cow<'_, [u32]>> = Vec::new();
        for filter in &self.filters {
            // An absent or empty list does not narrow.
            let Some(wanted) = params.texts(&filter.param).filter(|w| !w.is_empty()) else { continue };
            let found: Vec<&Vec<u32>> = wanted.iter().filter_map(|v| filter.postings.get(v)).collect();
            let list: std::borrow::Cow<'_, [u32]> = match found.as_slice() {
                [] => return Some(Vec::new()),
                [one] => std::borrow::Cow::Borrowed(one.as_slice()),
                many => {
                    let mut union: Vec<u32> = many.iter().flat_map(|l| l.iter().copied()).collect();
                    union.sort_unstable();
                    union.dedup();
                    std::borrow::Cow::Owned(union)
                }
            };
            // A value every record holds (the one tenant, say) narrows nothing.
            if list.len() < everything {
                lists.push(list);
            }
        }
        if lists.is_empty() {
            return None;
        }
        lists.sort_by_key(|l| l.len());
        let mut result = lists[0].to_vec();
        for list in &lists[1..] {
            result = intersect(&result, list);
        }
        Some(result)
    }
}

fn intersect(a: &[u32], b: &[u32]) -> Vec<u32> {
    let (mut i, mut j, mut out) = (0, 0, Vec::with_capacity(a.len().min(b.len())));
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            Ordering::Less => i += 1,
            Ordering::Greater => j += 1,
            Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out
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
enum SortValue {
    Missing,
    Number(Decimal),
    Time(i64),
    Text(String),
}

impl SortValue {
    fn of(record: &Value, key: &SortKey) -> SortValue {
        let Some(value) = record.pointer(&key.field).filter(|v| !v.is_null()) else {
            return SortValue::Missing;
        };
        let text = text_of(value);
        match key.compare {
            Compare::Text => SortValue::Text(text),
            Compare::Decimal => Decimal::parse(&text).map(SortValue::Number).unwrap_or(SortValue::Text(text)),
            Compare::Timestamp => chrono::DateTime::parse_from_rfc3339(&text)
                .ok()
                .and_then(|t| t.timestamp_nanos_opt())
                .map(SortValue::Time)
                .unwrap_or(SortValue::Text(text)),
        }
    }
}

/// A decimal of any size, compared exactly: sign, then integer digits, then fraction digits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decimal {
    negative: bool,
    integer: String,
    fraction: String,
}

impl Decimal {
    /// Parses `-?digits(.digits)?`; None for anything else.
    pub fn parse(text: &str) -> Option<Decimal> {
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
        let integer = integer.trim_start_matches('0').to_string();
        let fraction = fraction.trim_end_matches('0').to_string();
        let zero = integer.is_empty() && fraction.is_empty();
        Some(Decimal { negative: negative && !zero, integer, fraction })
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
    fn intersect_keeps_common_ids() {
        assert_eq!(intersect(&[1, 3, 5, 7], &[3, 4, 5, 8]), vec![3, 5]);
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
