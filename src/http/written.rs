//! The answer to a write: the record as its reading operation shows it, with `Location` for a
//! created one, or the refusal in the API's envelope.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::Value;

use crate::http::answer::json_bytes_as;
use crate::http::error::HttpError;
use crate::load::LoadedApi;
use crate::openapi::params::ParamValues;
use crate::openapi::{Location, Operation};
use crate::state::write::{apply, CompiledWrite, Request};
use crate::state::Sessions;
use crate::store::render::Rendered;

/// What a path segment must escape of a key: BRM's POIDs keep their `+` and `.` as they are.
const SEGMENT: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~').remove(b'+');

/// What a validated, authorised write asks for.
pub(crate) struct Asked<'a> {
    /// Its parameters.
    pub(crate) params: &'a ParamValues,
    /// Its body, validated (null when none came).
    pub(crate) body: &'a Value,
    /// Its own base URL, JSON-escaped.
    pub(crate) base: &'a [u8],
    /// Its headers.
    pub(crate) headers: &'a HeaderMap,
    /// Its session (`""`: the default).
    pub(crate) session: &'a str,
    /// The caller's user id, when the identity names one.
    pub(crate) user: Option<&'a str>,
}

/// Runs a write in the request's session and answers it.
pub(crate) fn write(
    api: &LoadedApi,
    op: &Operation,
    write: &CompiledWrite,
    asked: &Asked<'_>,
    sessions: &Sessions,
) -> Result<Response, HttpError> {
    let Asked { params, body, base, headers, session, user } = *asked;
    let path: Vec<(String, String)> = op
        .params
        .iter()
        .filter(|p| p.location == Location::Path)
        .filter_map(|p| params.str(&p.name).map(|v| (p.name.to_string(), v.to_string())))
        .collect();
    // The record as its reading operation shows it, in that operation's default view.
    let binding = api.bindings.get(&write.def.read).expect("checked at load");
    let (shape, _) = &binding.views[binding.default_view];
    let show = |record: &Value| {
        let mut one = Rendered::default();
        match &write.def.echo {
            Some(members) => {
                let echoed: serde_json::Map<String, Value> =
                    members.iter().filter_map(|m| body.get(m).map(|v| (m.clone(), v.clone()))).collect();
                one.push_plain(&echoed);
            }
            None => one.push(shape, record, &api.placeholders),
        }
        one
    };
    let request = Request { op: &op.id, session, path: &path, headers, body, user, show: &show };
    let written = sessions.write(session, &api.api.name, &mut |changes| apply(api, write, &request, changes))?;
    let mut out = Vec::with_capacity(written.answer.size_with(0, base.len()) + 64);
    if let Some(property) = &write.def.wrap {
        out.push(b'{');
        serde_json::to_writer(&mut out, property).expect("a string serialises");
        out.push(b':');
    }
    written.answer.write(0, &mut out, base);
    if write.def.wrap.is_some() {
        out.push(b'}');
    }
    let status = match written.status {
        0 => op.success().map_or(200, |r| r.status),
        status => status,
    };
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let mut response = json_bytes_as(status, out, binding.content_type.clone());
    if status == StatusCode::CREATED {
        let (template, param) = &write.read_path;
        let id = percent_encoding::utf8_percent_encode(&written.key, SEGMENT).to_string();
        let path = template.replace(&format!("{{{param}}}"), &id);
        let location = format!("{}{path}", String::from_utf8_lossy(base));
        if let Ok(value) = HeaderValue::from_str(&location) {
            response.headers_mut().insert(header::LOCATION, value);
        }
    }
    Ok(response)
}
