//! The thin end of the pipeline: a validated, authorised request answered from the store, or
//! from the spec's examples where no binding exists.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::Value;

use crate::behaviour::{Body, Paging};
use crate::http::error::HttpError;
use crate::http::mock;
use crate::load::{CompiledBinding, LoadedApi};
use crate::openapi::params::ParamValues;
use crate::openapi::Operation;
use crate::state::ApiChanges;
use crate::store::merge::{self, Item};
use crate::store::render::Rendered;

/// The request's own base URL for this API, JSON-escaped, e.g. `http://127.0.0.1:4010/brm/.../v4`.
pub(crate) fn base_url(api: &LoadedApi, headers: &HeaderMap) -> Result<Vec<u8>, HttpError> {
    let (scheme, host) = scheme_and_host(headers)?;
    let mut out = Vec::with_capacity(scheme.len() + 3 + host.len() + api.base_path_json.len());
    out.extend_from_slice(scheme.as_bytes());
    out.extend_from_slice(b"://");
    // A valid host holds no quote, backslash or control byte: it is JSON as it is.
    out.extend_from_slice(host.as_bytes());
    out.extend_from_slice(&api.base_path_json);
    Ok(out)
}

/// The origin the request was sent to, e.g. `http://127.0.0.1:4010`.
pub(crate) fn request_origin(headers: &HeaderMap) -> Result<String, HttpError> {
    let (scheme, host) = scheme_and_host(headers)?;
    Ok(format!("{scheme}://{host}"))
}

/// The scheme (`X-Forwarded-Proto` when it says http or https) and the Host. The Host header
/// must be one `host[:port]` by the URI grammar, since it is written into every `href`; a
/// missing one reads as `localhost`.
fn scheme_and_host(headers: &HeaderMap) -> Result<(&'static str, &str), HttpError> {
    let mut hosts = headers.get_all(header::HOST).iter();
    let host = match (hosts.next(), hosts.next()) {
        (None, _) => "localhost",
        (Some(_), Some(_)) => return Err(HttpError::bad_request("Host: sent twice; expected one Host header")),
        (Some(value), None) => valid_host(value.as_bytes()).ok_or_else(|| {
            HttpError::bad_request(format!(
                "Host: {:?} is not a host; expected host[:port], e.g. localhost:4010",
                String::from_utf8_lossy(&value.as_bytes()[..value.len().min(100)])
            ))
        })?,
    };
    // A constant name: looking one up by &str parses and checks it on every request.
    const FORWARDED_PROTO: header::HeaderName = header::HeaderName::from_static("x-forwarded-proto");
    let scheme = match headers.get(FORWARDED_PROTO).map(|h| h.as_bytes()) {
        Some(b"https") => "https",
        _ => "http",
    };
    Ok((scheme, host))
}

/// `host[:port]` as a Host header may hold it (RFC 3986 3.2.2): a bracketed IP literal, or a
/// name of unreserved, sub-delim and percent characters, then an optional numeric port. None of
/// these is a quote, a backslash or a control byte, so a valid host is JSON as it is.
///
/// Checked by hand, byte by byte: `http::uri::Authority::try_from` copies the bytes and parses
/// userinfo too, 1,400 instructions a request (4% of the transfer route, by callgrind).
fn valid_host(value: &[u8]) -> Option<&str> {
    let (name, port) = match value.first()? {
        b'[' => value.split_at(value.iter().position(|&b| b == b']')? + 1),
        _ => value.split_at(value.iter().rposition(|&b| b == b':').unwrap_or(value.len())),
    };
    let port_ok = match port.split_first() {
        None => true,
        Some((b':', digits)) => digits.len() <= 5 && digits.iter().all(u8::is_ascii_digit),
        Some(_) => false,
    };
    let name_ok = match name {
        [b'[', literal @ .., b']'] => {
            !literal.is_empty() && literal.iter().all(|b| b.is_ascii_hexdigit() || b":.".contains(b))
        }
        _ => !name.is_empty() && name.iter().all(|&b| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=%".contains(&b)),
    };
    (port_ok && name_ok).then(|| std::str::from_utf8(value).ok()).flatten()
}

/// A JSON response from bytes, as `application/json`.
pub(crate) fn json_bytes(status: StatusCode, body: Vec<u8>) -> Response {
    json_bytes_as(status, body, HeaderValue::from_static("application/json"))
}

/// A JSON response from bytes with the Content-Type given: one a spec declares, built at load
/// (cloning it shares its bytes).
pub(crate) fn json_bytes_as(status: StatusCode, body: Vec<u8>, content_type: HeaderValue) -> Response {
    // Room for the headers the layers add, so none of them regrows the map.
    let mut headers = HeaderMap::with_capacity(8);
    headers.insert(header::CONTENT_TYPE, content_type);
    let mut response = Response::new(axum::body::Body::from(body));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}

/// What a validated, authorised request asks for.
pub(crate) struct Asked<'a> {
    /// Its parameters.
    pub(crate) params: &'a ParamValues,
    /// The tenant it addresses: index and record.
    pub(crate) tenant: Option<(u32, &'a Value)>,
    /// Its own base URL, JSON-escaped.
    pub(crate) base: &'a [u8],
    /// Its headers.
    pub(crate) headers: &'a HeaderMap,
    /// Its request id.
    pub(crate) rid: &'a str,
}

/// Answers a request whose parameters passed validation, merging what its session wrote.
pub(crate) fn answer(
    api: &LoadedApi,
    op: &Operation,
    asked: &Asked<'_>,
    changes: Option<&ApiChanges>,
) -> Result<Response, HttpError> {
    let (params, base) = (asked.params, asked.base);
    let Some(binding) = api.bindings.get(&op.id) else {
        return match op.success() {
            Some(success) => {
                let asked = mock::Asked { headers: asked.headers, base, rid: asked.rid };
                mock::respond(api, success, success.status, &asked, None, None)
            }
            // No responses declared: success, with nothing to say.
            None => Ok(Response::new(axum::body::Body::empty())),
        };
    };
    let view = choose_view(binding, params);
    let fields = selected_fields(binding, view, params)?;
    let (shape, rendered) = (&binding.views[view].0, &binding.views[view].1);
    // The session's changes to this binding's collection, when it has any (an untouched session
    // looks nothing up).
    let written = changes
        .and_then(|c| c.collections.get(&binding.collection))
        .filter(|c| c.len() > 0)
        .and_then(|c| Some((c, api.store.collection(&binding.collection)?)));
    let render = |item: Item<'_>, out: &mut Vec<u8>| match (item, &fields) {
        (Item::Base(id), None) => rendered.write(id, out, base),
        (Item::Base(id), Some(keep)) => rendered.write_selected(id, keep, out, base),
        (Item::Written(record, slot), keep) => {
            let one = match written {
                Some((changes, _)) => changes.rendered(slot, record, shape, &api.placeholders),
                None => {
                    let mut one = Rendered::default();
                    one.push(shape, record, &api.placeholders);
                    std::sync::Arc::new(one)
                }
            };
            match keep {
                None => one.write(0, out, base),
                Some(keep) => one.write_selected(0, keep, out, base),
            }
        }
    };
    let lookup = SessionLookup { api, changes };
    let page = |out: &mut Vec<u8>| -> (Records<'_>, usize) {
        match written {
            Some((changes, base_collection)) => {
                // Only offset paging sends a total; other pages stop once they are full.
                let need_total = matches!(binding.query.paging, Some(Paging::Offset { .. }));
                let (items, total) = merge::page(&binding.query, params, base_collection, changes, &lookup, need_total);
                // Sized at once: a page grown by doubling copied itself a few times over.
                let size: usize = items
                    .iter()
                    .map(|item| match item {
                        Item::Base(id) => rendered.size_with(*id, base.len()),
                        Item::Written(record, slot) => {
                            changes.rendered(*slot, record, shape, &api.placeholders).size_with(0, base.len())
                        }
                    })
                    .sum();
                out.reserve(size + items.len() + 64);
                (Records::Merged(items), total)
            }
            None => {
                let page = binding.query.run(params);
                reserve(out, rendered, &page.ids, base.len());
                (Records::Indexed(page.ids), page.total)
            }
        }
    };
    let mut out = Vec::new();
    let mut extra_headers = Vec::new();
    match &binding.body {
        Body::Single { property, .. } => {
            let param = binding.lookup.as_deref().unwrap_or("id");
            let id = params.str(param).unwrap_or_default();
            let found = match written {
                Some((changes, base_collection)) => changes.get(base_collection, id),
                None => binding.query.index.find(id).map(Item::Base),
            };
            let Some(item) = found else {
                return Err(HttpError::new(404, binding.not_found.replace("{id}", id)));
            };
            if let Item::Base(index) = item {
                reserve(&mut out, rendered, &[index], base.len());
            }
            if let Some(p) = property {
                out.push(b'{');
                write_json(&mut out, p);
                out.push(b':');
            }
            render(item, &mut out);
            if property.is_some() {
                out.push(b'}');
            }
        }
        Body::List { property, .. } => {
            let (items, total) = page(&mut out);
            if let Some(p) = property {
                out.push(b'{');
                write_json(&mut out, p);
                out.push(b':');
            }
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                render(item, &mut out);
            }
            out.push(b']');
            if property.is_some() {
                out.push(b'}');
            }
            if let Some(Paging::Offset { total_header, result_header, .. }) = &binding.query.paging {
                if let Some(h) = total_header {
                    extra_headers.push((h.clone(), total.to_string()));
                }
                if let Some(h) = result_header {
                    extra_headers.push((h.clone(), items.len().to_string()));
                }
            }
        }
        Body::Map { property, from_tenant, .. } => {
            let (items, _) = page(&mut out);
            out.push(b'{');
            // A tenant the session changed shows its own record, not the one serialised at load.
            let tenant = asked.tenant.map(|(index, record)| {
                let rule = api.auth.as_ref().and_then(|a| a.tenant.as_ref());
                let changed = rule
                    .zip(changes)
                    .and_then(|(rule, c)| c.collections.get(&rule.collection))
                    .and_then(|c| c.replaced.get(&index));
                match changed {
                    Some(record) => (None, record),
                    None => (binding.tenant_members.get(index as usize), record),
                }
            });
            match tenant {
                Some((Some(members), _)) => out.extend_from_slice(members),
                Some((None, record)) => {
                    for (name, pointer) in from_tenant {
                        if let Some(value) = crate::json::at(record, pointer) {
                            write_json(&mut out, name);
                            out.push(b':');
                            write_json(&mut out, value);
                            out.push(b',');
                        }
                    }
                }
                None => {}
            }
            write_json(&mut out, property);
            out.extend_from_slice(b":{");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                match item {
                    Item::Base(id) => binding.map_keys.write(id, &mut out, b""),
                    Item::Written(record, _) => {
                        let key = written.map(|(_, c)| c.key_of(record)).unwrap_or_default();
                        write_json(&mut out, &key);
                    }
                }
                out.push(b':');
                render(item, &mut out);
            }
            out.extend_from_slice(b"}}");
        }
    }
    let status = op.success().map_or(200, |r| r.status);
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let mut response = json_bytes_as(status, out, binding.content_type.clone());
    for (name, value) in extra_headers {
        if let (Ok(n), Ok(v)) = (header::HeaderName::try_from(name), HeaderValue::try_from(value)) {
            response.headers_mut().insert(n, v);
        }
    }
    Ok(response)
}

/// A page's records: indexed ones by index, or a session's merged with them.
enum Records<'a> {
    Indexed(Vec<u32>),
    Merged(Vec<Item<'a>>),
}

impl<'a> Records<'a> {
    fn len(&self) -> usize {
        match self {
            Records::Indexed(ids) => ids.len(),
            Records::Merged(items) => items.len(),
        }
    }

    fn iter(&self) -> impl Iterator<Item = Item<'a>> + '_ {
        let (indexed, merged) = match self {
            Records::Indexed(ids) => (Some(ids.iter().map(|&id| Item::Base(id))), None),
            Records::Merged(items) => (None, Some(items.iter().copied())),
        };
        indexed.into_iter().flatten().chain(merged.into_iter().flatten())
    }
}

/// Room for a page's records, so the body never regrows.
fn reserve(out: &mut Vec<u8>, rendered: &Rendered, ids: &[u32], base: usize) {
    // A run of records in stored order (a whole map, an unsorted page) is sized at once.
    let run = ids.windows(2).all(|w| w[1] == w[0].wrapping_add(1));
    let size = match (run, ids.first(), ids.last()) {
        (true, Some(&first), Some(&last)) => rendered.run_size_with(first, last, base) + 48 * ids.len(),
        _ => ids.iter().map(|&i| rendered.size_with(i, base) + 48).sum(),
    };
    out.reserve(size + 64);
}

/// Another collection's records as a session sees them, for filters that read through one.
struct SessionLookup<'a> {
    api: &'a LoadedApi,
    changes: Option<&'a ApiChanges>,
}

impl merge::Lookup for SessionLookup<'_> {
    fn record(&self, collection: &str, key: &str) -> Option<&Value> {
        let base = self.api.store.collection(collection)?;
        match self.changes.and_then(|c| c.collections.get(collection)) {
            Some(changes) => changes.value(base, key),
            None => base.get(key).map(|(_, v)| v),
        }
    }
}

/// Writes a value as JSON straight into a body, with no intermediate copy.
fn write_json<T: serde::Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
    serde_json::to_writer(out, value).expect("a JSON value serialises");
}

fn choose_view(binding: &CompiledBinding, params: &ParamValues) -> usize {
    binding
        .view_param
        .as_ref()
        .and_then(|(p, _)| params.str(p))
        .and_then(|name| binding.views.iter().position(|(s, _)| s.name == name))
        .unwrap_or(binding.default_view)
}

/// The attributes `fields` keeps, None for the whole record; a name the view lacks is refused.
fn selected_fields(
    binding: &CompiledBinding,
    view: usize,
    params: &ParamValues,
) -> Result<Option<Vec<String>>, HttpError> {
    let Some(selection) = &binding.fields else { return Ok(None) };
    // An array (`fields=a,b` or `fields=a&fields=b`) or, in a spec that says so, one comma-separated string.
    let Some(given) = params.texts(&selection.param) else { return Ok(None) };
    let mut keep = selection.always.clone();
    let names: Vec<&str> = given.iter().flat_map(|t| t.split(',')).map(str::trim).filter(|s| !s.is_empty()).collect();
    if names.len() == 1 && selection.none.as_deref() == Some(names[0]) {
        return Ok(Some(keep));
    }
    let shape = &binding.views[view].0;
    let known: Vec<String> = match &shape.props {
        Some(props) => props.clone(),
        // Without a view schema, the first record's attributes are the known ones.
        None => Some(&binding.views[view].1)
            .filter(|r| !r.is_empty())
            .and_then(|r| {
                let mut bytes = Vec::new();
                r.write(0, &mut bytes, b"");
                serde_json::from_slice::<Value>(&bytes).ok()
            })
            .and_then(|v| v.as_object().map(|m| m.keys().cloned().collect()))
            .unwrap_or_default(),
    };
    for name in names {
        if !known.iter().any(|k| k == name) {
            let elsewhere =
                binding.views.iter().find(|(s, _)| s.props.as_ref().is_some_and(|p| p.iter().any(|k| k == name)));
            let message = match (elsewhere, &binding.view_param) {
                (Some((other, _)), Some((param, _))) => format!(
                    "{}: '{name}' is an attribute of {}; ask for it with {param}={}",
                    selection.param, other.name, other.name
                ),
                _ => format!(
                    "{}: unknown attribute '{name}'; expected a comma-separated list of: {}",
                    selection.param,
                    known.join(", ")
                ),
            };
            return Err(HttpError::bad_request(message));
        }
        if !keep.iter().any(|k| k == name) {
            keep.push(name.to_string());
        }
    }
    Ok(Some(keep))
}

#[cfg(test)]
mod tests {
    use super::valid_host;

    #[test]
    fn hosts_follow_the_authority_grammar() {
        for good in ["localhost", "localhost:4010", "127.0.0.1:1", "[::1]:4010", "[fe80::1]", "my-app.test", "a_b~c:"] {
            assert_eq!(valid_host(good.as_bytes()), Some(good), "{good}");
        }
        for bad in [
            "",
            "mock\ttest",
            "user@host",
            "a b",
            "a:b:c",
            "h\"x",
            "h\\x",
            "[::1",
            "[]:1",
            "[::1]x",
            "h:99999a",
            "h:123456",
            "é.test",
        ] {
            assert_eq!(valid_host(bad.as_bytes()), None, "{bad:?}");
        }
    }
}
