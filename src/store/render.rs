//! Record shapes (views), attribute selection and body assembly, with hrefs spliced in per request.
//!
//! Each record's bytes are serialised once at load, per view, into one buffer per collection and
//! view ([`Rendered`]). A page is then those bytes joined, with the request's own base URL written
//! where the fixture data holds a placeholder.

use bytes::Bytes;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;

use crate::store::select::{kept, members, Member};

/// Every record of a collection in one view, serialised back to back in one buffer, with the
/// offsets where the request's base URL goes. One buffer instead of one allocation per record
/// keeps a million records compact and quick to load.
#[derive(Debug, Default)]
pub(crate) struct Rendered {
    bytes: Vec<u8>,
    /// End offset of each record in `bytes`.
    ends: Vec<usize>,
    /// Offsets in `bytes` where a placeholder was cut out, ascending.
    holes: Vec<usize>,
    scratch: Vec<u8>,
    /// Each record's top-level members, found on the first `fields=` request: collections that
    /// are never selected from (a million OES allocations) never pay for it.
    members: std::sync::OnceLock<MemberIndex>,
}

/// The top-level members of every record of a [`Rendered`], offsets relative to each record.
#[derive(Debug, Default)]
struct MemberIndex {
    /// Every record's members, back to back.
    members: Vec<Member>,
    /// Where each record's members end in `members`.
    ends: Vec<usize>,
    /// Whether each record is an object; others are written whole.
    objects: Vec<bool>,
}

impl Rendered {
    /// Appends `record` as `shape` shows it, cutting out every placeholder prefix.
    pub(crate) fn push(&mut self, shape: &Shape, record: &Value, placeholders: &Placeholders) {
        self.scratch.clear();
        // Room for a typical record at once: a record written alone (a write's answer) otherwise
        // grows its buffer a dozen times.
        self.scratch.reserve(4096);
        let shaped = Shaped { shape, shown: shape.shown.as_ref(), record };
        serde_json::to_writer(&mut self.scratch, &shaped).expect("a JSON value serialises");
        self.bytes.reserve(self.scratch.len());
        placeholders.pieces(&self.scratch, |piece, hole| {
            self.bytes.extend_from_slice(piece);
            if hole {
                self.holes.push(self.bytes.len());
            }
        });
        self.ends.push(self.bytes.len());
    }

    /// Appends a value serialised as it is, with no placeholders cut out.
    pub(crate) fn push_plain<T: Serialize + ?Sized>(&mut self, value: &T) {
        serde_json::to_writer(&mut self.bytes, value).expect("a JSON value serialises");
        self.ends.push(self.bytes.len());
    }

    /// What a snapshot keeps: the bytes, each record's end offset, and the hole offsets.
    pub(crate) fn parts(&self) -> (&[u8], &[usize], &[usize]) {
        (&self.bytes, &self.ends, &self.holes)
    }

    /// Rebuilds a collection's bytes kept by a snapshot, checking that the offsets fit them.
    pub(crate) fn from_parts(bytes: Vec<u8>, ends: Vec<usize>, holes: Vec<usize>) -> Result<Rendered, String> {
        let ascending = |v: &[usize]| v.windows(2).all(|w| w[0] <= w[1]);
        if !ascending(&ends) || ends.last().copied().unwrap_or(0) != bytes.len() {
            return Err(format!("record offsets do not fit {} bytes", bytes.len()));
        }
        if !ascending(&holes) || holes.last().is_some_and(|&h| h > bytes.len()) {
            return Err(format!("hole offsets do not fit {} bytes", bytes.len()));
        }
        Ok(Rendered { bytes, ends, holes, scratch: Vec::new(), members: Default::default() })
    }

    /// Frees the slack left by growing.
    pub(crate) fn shrink(&mut self) {
        self.bytes.shrink_to_fit();
        self.ends.shrink_to_fit();
        self.holes.shrink_to_fit();
        self.scratch = Vec::new();
    }

    fn span(&self, id: u32) -> (usize, usize) {
        let id = id as usize;
        (if id == 0 { 0 } else { self.ends[id - 1] }, self.ends[id])
    }

    fn holes_in(&self, start: usize, end: usize) -> &[usize] {
        // Most collections hold no href, and a page of them is a run of copies.
        if self.holes.is_empty() {
            return &[];
        }
        let from = self.holes.partition_point(|&h| h < start);
        let to = self.holes.partition_point(|&h| h < end);
        &self.holes[from..to]
    }

    /// Appends record `id`, with `base` (already JSON-escaped) in each hole.
    pub(crate) fn write(&self, id: u32, out: &mut Vec<u8>, base: &[u8]) {
        let (start, end) = self.span(id);
        self.write_range(start, end, out, base);
    }

    /// Appends record `id` keeping only the top-level members named in `keep` (see
    /// [`select_members`](crate::store::select::select_members)), at about the cost of a copy.
    pub(crate) fn write_selected(&self, id: u32, keep: &[String], out: &mut Vec<u8>, base: &[u8]) {
        let index = self.members.get_or_init(|| self.index_members());
        let id = id as usize;
        if !index.objects[id] {
            return self.write(id as u32, out, base);
        }
        let (start, _) = self.span(id as u32);
        let from = if id == 0 { 0 } else { index.ends[id - 1] };
        out.push(b'{');
        let mut first = true;
        for m in &index.members[from..index.ends[id]] {
            if kept(&self.bytes[start + m.name.0..start + m.name.1], keep) {
                if !first {
                    out.push(b',');
                }
                first = false;
                self.write_range(start + m.name.0, start + m.end, out, base);
            }
        }
        out.push(b'}');
    }

    fn index_members(&self) -> MemberIndex {
        let mut index = MemberIndex::default();
        for id in 0..self.ends.len() {
            let (start, end) = self.span(id as u32);
            let found = members(&self.bytes[start..end]);
            index.objects.push(found.is_some());
            index.members.extend(found.into_iter().flatten());
            index.ends.push(index.members.len());
        }
        index
    }

    /// Appends `bytes[start..end]`, with `base` in each hole.
    fn write_range(&self, start: usize, end: usize, out: &mut Vec<u8>, base: &[u8]) {
        let mut at = start;
        for &hole in self.holes_in(start, end) {
            out.extend_from_slice(&self.bytes[at..hole]);
            out.extend_from_slice(base);
            at = hole;
        }
        out.extend_from_slice(&self.bytes[at..end]);
    }

    /// The written size of record `id` with a base of `base` bytes in each hole.
    pub(crate) fn size_with(&self, id: u32, base: usize) -> usize {
        let (start, end) = self.span(id);
        end - start + base * self.holes_in(start, end).len()
    }

    /// The written size of records `first..=last` with a base of `base` bytes in each hole.
    pub(crate) fn run_size_with(&self, first: u32, last: u32, base: usize) -> usize {
        let (start, end) = (self.span(first).0, self.span(last).1);
        end - start + base * self.holes_in(start, end).len()
    }

    /// How many records it holds.
    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    /// True when it holds none.
    pub(crate) fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
}

/// Placeholder URL prefixes, longest first, with a table of the bytes that can start one.
#[derive(Clone, Debug)]
pub(crate) struct Placeholders {
    prefixes: Vec<String>,
    first: [bool; 256],
    /// The distinct bytes a placeholder starts with, for a vectorised search when there are few.
    firsts: Vec<u8>,
}

impl Default for Placeholders {
    fn default() -> Self {
        Placeholders::new(&[])
    }
}

impl Placeholders {
    /// Placeholders from their texts.
    pub(crate) fn new(texts: &[String]) -> Placeholders {
        let mut prefixes: Vec<String> = texts.iter().filter(|t| !t.is_empty()).cloned().collect();
        prefixes.sort_by_key(|p| std::cmp::Reverse(p.len()));
        let mut first = [false; 256];
        for p in &prefixes {
            first[p.as_bytes()[0] as usize] = true;
        }
        let firsts = (0..=255u8).filter(|&b| first[b as usize]).collect();
        Placeholders { prefixes, first, firsts }
    }

    /// Calls `piece` with each stretch of `text` between placeholders, in order, and whether a
    /// placeholder follows it (every stretch but the last).
    pub(crate) fn pieces<'t>(&self, text: &'t [u8], mut piece: impl FnMut(&'t [u8], bool)) {
        let (mut start, mut from) = (0, 0);
        while let Some(at) = self.next_candidate(text, from) {
            match self.at(&text[at..]) {
                Some(len) => {
                    piece(&text[start..at], true);
                    start = at + len;
                    from = start;
                }
                None => from = at + 1,
            }
        }
        piece(&text[start..], false);
    }

    /// Where, at or after `from`, the next byte that can start a placeholder is.
    fn next_candidate(&self, text: &[u8], from: usize) -> Option<usize> {
        let rest = &text[from..];
        let found = match *self.firsts.as_slice() {
            [] => None,
            [a] => memchr::memchr(a, rest),
            [a, b] => memchr::memchr2(a, b, rest),
            [a, b, c] => memchr::memchr3(a, b, c, rest),
            _ => rest.iter().position(|&b| self.first[b as usize]),
        };
        found.map(|i| from + i)
    }

    /// The length of the placeholder `text` starts with, if any.
    fn at(&self, text: &[u8]) -> Option<usize> {
        if !self.first[text[0] as usize] {
            return None;
        }
        self.prefixes.iter().find(|p| text.starts_with(p.as_bytes())).map(String::len)
    }
}

/// A record serialised as a view shows it, without building the shaped copy.
struct Shaped<'a> {
    shape: &'a Shape,
    /// `shape.props` as a set.
    shown: Option<&'a hashbrown::HashSet<String>>,
    record: &'a Value,
}

impl Serialize for Shaped<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (Some(props), Some(shown), Value::Object(map)) = (&self.shape.props, self.shown, self.record) else {
            return self.record.serialize(serializer);
        };
        let name = Value::String(self.shape.name.clone());
        let type_field = self.shape.type_field.as_deref();
        let mut out = serializer.serialize_map(None)?;
        for (k, v) in map.iter().filter(|(k, _)| shown.contains(k.as_str())) {
            out.serialize_entry(k, if Some(k.as_str()) == type_field { &name } else { v })?;
        }
        if self.shape.explicit_nulls {
            for p in props.iter().filter(|p| !map.contains_key(*p)) {
                out.serialize_entry(p, if Some(p.as_str()) == type_field { &name } else { &Value::Null })?;
            }
        }
        out.end()
    }
}

/// Bytes with holes where the request's base URL goes.
#[derive(Clone, Debug, Default)]
pub(crate) struct Template {
    parts: Vec<Bytes>,
}

impl Template {
    /// Serialises `value` and cuts it at every placeholder prefix.
    pub(crate) fn new(value: &Value, placeholders: &Placeholders) -> Template {
        let text = serde_json::to_vec(value).expect("a JSON value serialises");
        let mut parts = Vec::new();
        placeholders.pieces(&text, |piece, _| parts.push(Bytes::copy_from_slice(piece)));
        Template { parts }
    }

    /// Appends the bytes, with `base` (already JSON-escaped) in each hole.
    pub(crate) fn write(&self, out: &mut Vec<u8>, base: &[u8]) {
        for (i, part) in self.parts.iter().enumerate() {
            if i > 0 {
                out.extend_from_slice(base);
            }
            out.extend_from_slice(part);
        }
    }
}

/// How a record is shown: which first-level attributes, and what `@type` says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Shape {
    /// The view's name (the schema name), written into `type_field` when set.
    pub(crate) name: String,
    /// Attributes shown, in schema order; None shows the record as it is.
    pub(crate) props: Option<Vec<String>>,
    /// Field that names the view, e.g. `@type`.
    pub(crate) type_field: Option<String>,
    /// Show attributes the record lacks as null.
    pub(crate) explicit_nulls: bool,
    /// `props` as a set, made once: a scan of the list per record attribute dominated loading a
    /// million records, and a set made per answer dominated rendering one.
    shown: Option<hashbrown::HashSet<String>>,
}

impl Shape {
    /// A view called `name` showing `props` (None: the record as it is).
    pub(crate) fn new(
        name: String,
        props: Option<Vec<String>>,
        type_field: Option<String>,
        explicit_nulls: bool,
    ) -> Shape {
        let shown = props.as_ref().map(|p| p.iter().cloned().collect());
        Shape { name, props, type_field, explicit_nulls, shown }
    }
}

#[cfg(test)]
impl Shape {
    /// The record as this view shows it, built as a value: the reference [`Rendered`]'s
    /// serialiser is tested against.
    pub(crate) fn apply<'r>(&self, record: &'r Value) -> std::borrow::Cow<'r, Value> {
        let Some(props) = &self.props else { return std::borrow::Cow::Borrowed(record) };
        let Value::Object(map) = record else { return std::borrow::Cow::Borrowed(record) };
        let mut out = serde_json::Map::new();
        for (k, v) in map {
            if props.iter().any(|p| p == k) {
                out.insert(k.clone(), v.clone());
            }
        }
        if self.explicit_nulls {
            for p in props {
                if !out.contains_key(p) {
                    out.insert(p.clone(), Value::Null);
                }
            }
        }
        if let Some(field) = &self.type_field {
            if out.contains_key(field) {
                out.insert(field.clone(), Value::String(self.name.clone()));
            }
        }
        std::borrow::Cow::Owned(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pieces_cut_at_every_placeholder_the_longest_first() {
        let cut = |prefixes: &[&str], text: &str| {
            let placeholders = Placeholders::new(&prefixes.iter().map(|p| p.to_string()).collect::<Vec<_>>());
            let mut out = Vec::new();
            placeholders
                .pieces(text.as_bytes(), |piece, hole| out.push((String::from_utf8(piece.to_vec()).unwrap(), hole)));
            out
        };
        let pieces = |list: &[(&str, bool)]| list.iter().map(|(p, h)| (p.to_string(), *h)).collect::<Vec<_>>();
        assert_eq!(cut(&["h://x"], "no holes"), pieces(&[("no holes", false)]));
        assert_eq!(cut(&["h://x"], "h://xh://x/a"), pieces(&[("", true), ("", true), ("/a", false)]));
        assert_eq!(
            cut(&["h://x", "h://x/v4"], "[h://x/v4/b,h://x/v5]"),
            pieces(&[("[", true), ("/b,", true), ("/v5]", false)])
        );
        assert_eq!(cut(&["h://x"], "hh://h://"), pieces(&[("hh://h://", false)]));
        // Four distinct first bytes take the table scan instead of memchr; same cuts.
        assert_eq!(
            cut(&["a1", "b2", "c3", "d4"], "xa1yb2zc3wd4v"),
            pieces(&[("x", true), ("y", true), ("z", true), ("w", true), ("v", false)])
        );
        assert_eq!(cut(&[], "h://x"), pieces(&[("h://x", false)]));
    }

    #[test]
    fn templates_splice_the_base_url() {
        let ph = Placeholders::new(&["http://host:port/x/version".to_string()]);
        let t = Template::new(&json!({"href": "http://host:port/x/version/a/1", "b": [1]}), &ph);
        let mut out = Vec::new();
        t.write(&mut out, b"http://127.0.0.1:4010/x/v4");
        assert_eq!(String::from_utf8(out).unwrap(), r#"{"href":"http://127.0.0.1:4010/x/v4/a/1","b":[1]}"#);
    }

    #[test]
    fn rendered_records_splice_the_base_url_and_match_the_shaped_value() {
        let ph = Placeholders::new(&["http://host:port/x/version".to_string()]);
        let shape = Shape::new(
            "Ext".into(),
            Some(vec!["id".into(), "@type".into(), "href".into(), "n".into()]),
            Some("@type".into()),
            true,
        );
        let records = [
            json!({"id": "1", "href": "http://host:port/x/version/a/1", "drop": 1, "@type": "Base"}),
            json!({"id": "2", "n": [1, 2]}),
        ];
        let mut rendered = Rendered::default();
        for r in &records {
            rendered.push(&shape, r, &ph);
        }
        rendered.shrink();
        assert_eq!(rendered.len(), 2);
        let both = rendered.size_with(0, 15) + rendered.size_with(1, 15);
        assert_eq!(rendered.run_size_with(0, 1, 15), both, "a run is the sum of its records");
        for (i, r) in records.iter().enumerate() {
            let mut out = Vec::new();
            rendered.write(i as u32, &mut out, b"http://h:1/x/v4");
            assert_eq!(out.len(), rendered.size_with(i as u32, b"http://h:1/x/v4".len()));
            assert_eq!(out.len(), rendered.run_size_with(i as u32, i as u32, b"http://h:1/x/v4".len()));
            let expected = serde_json::to_string(&shape.apply(r))
                .unwrap()
                .replace("http://host:port/x/version", "http://h:1/x/v4");
            assert_eq!(String::from_utf8(out).unwrap(), expected);
        }
    }

    #[test]
    fn selected_records_keep_named_members_with_the_base_url_spliced() {
        let ph = Placeholders::new(&["http://host:port/x/version".to_string()]);
        let shape = Shape::new("T".into(), None, None, false);
        let mut rendered = Rendered::default();
        rendered.push(&shape, &json!({"id": "1", "href": "http://host:port/x/version/a/1", "n": {"m": "}"}}), &ph);
        rendered.push(&shape, &json!([{"id": "2"}]), &ph);
        rendered.push(&shape, &json!({}), &ph);
        rendered.push(&shape, &json!({"n": [1], "href": "http://host:port/x/version/a/3"}), &ph);
        let select = |id: u32, keep: &[&str]| {
            let keep: Vec<String> = keep.iter().map(|k| k.to_string()).collect();
            let mut out = Vec::new();
            rendered.write_selected(id, &keep, &mut out, b"http://h:1/x/v4");
            String::from_utf8(out).unwrap()
        };
        assert_eq!(select(0, &["href", "n"]), r#"{"href":"http://h:1/x/v4/a/1","n":{"m":"}"}}"#);
        assert_eq!(select(0, &["id"]), r#"{"id":"1"}"#);
        assert_eq!(select(1, &["id"]), r#"[{"id":"2"}]"#, "not an object: written whole");
        assert_eq!(select(2, &["id"]), "{}");
        assert_eq!(select(3, &["href"]), r#"{"href":"http://h:1/x/v4/a/3"}"#);
        assert_eq!(select(3, &[]), "{}");
    }

    #[test]
    fn shapes_fill_nulls_and_name_the_view() {
        let shape = Shape::new(
            "Ext".into(),
            Some(vec!["id".into(), "@type".into(), "extra".into()]),
            Some("@type".into()),
            true,
        );
        let shown = shape.apply(&json!({"id": "1", "drop": true, "@type": "Base"})).into_owned();
        assert_eq!(shown, json!({"id": "1", "@type": "Ext", "extra": null}));
    }
}
