#!/usr/bin/env node
// Compares two OpenAPI 3 documents converted from one Swagger 2.0 document: swagger2openapi's
// (theirs) and specmock's (ours). Structural: the same (path, method) set; per operation the same
// parameters (name, in, required, style/explode, schema), request body (presence, required, media
// types, schemas), responses (statuses, media types, schemas, header names); the same
// components/schemas and securitySchemes. Run by .ci/swagger2.
//
//   node tests/swagger2/compare.mjs theirs.json ours.json [swagger.json|yaml]
//
// The Swagger source, when given, lets an ALLOWED entry check what the source said; YAML is read with
// the `yaml` package swagger2openapi brings (found through NODE_PATH, as .ci/swagger2 sets it).
//
// Exits 0 when the documents agree up to the ALLOWED differences below, 1 with a list of the
// differences otherwise, 2 on bad arguments.
//
// Normalised before comparing, as they legitimately differ: key order; `servers` (specmock puts its
// own); operationId where swagger2openapi has none (specmock derives one); references to component
// parameters, request bodies and responses (followed, so where a converter puts a shared part does
// not matter); siblings of `$ref` (OpenAPI 3.0 ignores them; swagger2openapi removes them);
// annotations swagger2openapi adds (`x-s2o-*`, `x-origin`); whitespace in descriptions; `style`
// and `explode` written out or left at their defaults; examples (swagger2openapi writes
// `examples: {response: {value}}`, specmock `example`); a form's `encoding`.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

// Differences known and justified: each is reported as allowed, not as a failure. `test` sees one
// difference: { kind, where, theirs, ours, source, doc, op, body, media, value } (source: the
// Swagger document, when given and readable; doc: swagger2openapi's document; op: its operation, when in one; body: its request body, when comparing one; media: its
// media type object, when comparing the schema of one; value: its component, when comparing one).
const ALLOWED = [
  {
    id: 'default-produces',
    reason:
      'a response whose operation and document name no `produces`: swagger2openapi writes `*/*`, ' +
      'specmock `application/json`. Swagger 2.0 names no default; specmock serves JSON and takes the ' +
      'same default as both tools take for `consumes`.',
    test: (d) =>
      d.kind === 'response media types' &&
      d.theirs.includes('*/*') &&
      same([...new Set(d.theirs.map((m) => (m === '*/*' ? 'application/json' : m)))].sort(), d.ours),
  },
  {
    id: 'form-file-multipart',
    reason:
      'a form with a `type: file` field whose `consumes` does not list multipart/form-data: ' +
      'swagger2openapi makes it application/x-www-form-urlencoded, which cannot carry a file; ' +
      'specmock makes it multipart/form-data (and notes the slip).',
    test: (d) =>
      d.kind === 'request media types' &&
      same(d.theirs, ['application/x-www-form-urlencoded']) &&
      same(d.ours, ['multipart/form-data']),
  },
  {
    id: 'path-level-body',
    reason:
      'a body or formData parameter on the path item, for an operation with no `parameters` of its ' +
      'own: swagger2openapi merges path-level bodies only into operations that have a parameters ' +
      'list, then deletes them from the path item, so the body is lost; specmock gives the operation ' +
      'the request body.',
    test: (d) => d.kind === 'request body presence' && d.theirs === 'absent' && d.op && !('parameters' in d.op),
  },
  {
    id: 'form-required',
    reason:
      'a form with a required field after an optional one: swagger2openapi takes `required` for the ' +
      'request body from the first formData parameter only; specmock makes the body required when ' +
      'any field is, as the fields cannot be sent without one.',
    test: (d) =>
      d.kind === 'request body required' &&
      d.theirs === false &&
      d.ours === true &&
      Object.keys((d.body && d.body.content) || {}).some((m) => /form/.test(m)),
  },
  {
    id: 'external-ref',
    reason:
      'a reference into another Swagger file (`other.yaml#/definitions/X`): swagger2openapi leaves it ' +
      'as written; specmock rewrites its fragment (`#/components/schemas/X`), because specmock converts ' +
      'a referenced Swagger 2.0 file too when it loads it.',
    test: (d) =>
      d.kind === 'schema' &&
      d.where.endsWith('/$ref') &&
      typeof d.theirs === 'string' &&
      !d.theirs.startsWith('#') &&
      d.theirs.includes('#/definitions/') &&
      d.ours === d.theirs.replace('#/definitions/', '#/components/schemas/'),
  },
  {
    id: 'oauth-url-query',
    reason:
      'an OAuth2 authorizationUrl or tokenUrl with a query string: swagger2openapi cuts the query off; ' +
      'a query is part of a URL and OpenAPI 3 allows it, so specmock keeps the URL as written.',
    test: (d) =>
      d.kind === 'schema' &&
      /\/(authorizationUrl|tokenUrl)$/.test(d.where) &&
      typeof d.ours === 'string' &&
      d.ours.split('?')[0].trim() === d.theirs,
  },
  {
    id: 'example-media-type-schema',
    reason:
      'a response example under a media type that `produces` does not list (Docker: JSON errors from ' +
      'streaming endpoints): swagger2openapi gives that media type the example alone; specmock gives ' +
      'it the response schema too, which the example is an instance of.',
    test: (d) =>
      d.kind === 'schema' && d.theirs === undefined && d.ours !== undefined && isObject(d.media) &&
      !('schema' in d.media) && ('examples' in d.media || 'example' in d.media),
  },
  {
    id: 'file-items',
    reason:
      'an array of files in a form (`items: {type: file}`): swagger2openapi leaves `type: file`, which ' +
      'OpenAPI 3 does not have; specmock makes each item `{type: string, format: binary}`.',
    test: (d) =>
      d.kind === 'schema' &&
      ((d.where.endsWith('/items/type') && d.theirs === 'file' && d.ours === 'string') ||
        (d.where.endsWith('/items/format') && d.theirs === undefined && d.ours === 'binary')),
  },
  {
    id: 'body-example-media-type',
    reason:
      'a body parameter with `x-examples` under a media type that `consumes` does not list: ' +
      'swagger2openapi keeps `x-examples` as an extension; specmock puts each example under its media ' +
      'type, adding the media type (as both tools do for response `examples`).',
    test: (d) =>
      d.kind === 'request media types' &&
      isObject(d.body) &&
      isObject(d.body['x-examples']) &&
      same([...new Set([...d.theirs, ...Object.keys(d.body['x-examples'])])].sort(), d.ours),
  },
  {
    id: 'local-path-ref',
    reason:
      'a path item that is a `$ref` to another path of the same document: swagger2openapi takes the ' +
      'target for a schema, moves it to components/schemas and loses the operations of both paths; ' +
      'specmock converts the target in place.',
    test: (d) =>
      (d.kind === 'operation' &&
        d.theirs === 'absent' &&
        String((d.doc.paths[d.where.split(' ').slice(1).join(' ')] || {}).$ref).startsWith('#/components/schemas/')) ||
      (d.kind === 'schemas' &&
        d.ours === 'absent' &&
        isObject(d.value) &&
        METHODS.some((m) => isObject(d.value[m]) && 'responses' in d.value[m])),
  },
  {
    id: 'definition-as-parameter',
    reason:
      'a parameter `$ref` to a definition (`#/definitions/X`, not a parameter): swagger2openapi takes ' +
      'the schema for the parameter and strips `type`, `enum` and the like from the definition itself; ' +
      'specmock drops the parameter (and notes the slip) and keeps the schema whole.',
    test: (d) => {
      const m = /^components\/schemas\/([^/]+)\//.exec(d.where);
      if (d.kind !== 'schema' || d.theirs !== undefined || !m || !isObject(d.source)) return false;
      const prefix = `#/definitions/${m[1]}`;
      return Object.values(d.source.paths || {}).some(
        (item) =>
          isObject(item) &&
          [item, ...METHODS.map((k) => item[k]).filter(isObject)].some(
            (o) =>
              Array.isArray(o.parameters) &&
              o.parameters.some(
                (p) => isObject(p) && typeof p.$ref === 'string' && (p.$ref === prefix || p.$ref.startsWith(prefix + '/')),
              ),
          ),
      );
    },
  },
  {
    id: 'yaml-float-tag',
    reason:
      'a YAML number tagged `!!float` (`minimum: !!float 1`): swagger2openapi\'s YAML library reads it ' +
      'as the string "1"; specmock reads the number 1.',
    test: (d) => d.kind === 'schema' && typeof d.theirs === 'string' && typeof d.ours === 'number' && Number(d.theirs) === d.ours,
  },
  {
    id: 'null-response',
    reason:
      'a response given as nothing (`default:` with no value): swagger2openapi keeps the null, which ' +
      'is not a response object in OpenAPI 3; specmock drops the entry (and notes the slip).',
    test: (d) => d.kind === 'response' && d.theirs === null && d.ours === undefined,
  },
  {
    id: 'nullable-ref',
    reason:
      '`x-nullable: true` beside a `$ref`: swagger2openapi drops it with the other `$ref` siblings; ' +
      'specmock keeps it as `allOf: [{$ref}]` with `nullable: true`, the OpenAPI 3.0 way to say it.',
    test: (d) =>
      d.kind === 'schema' &&
      isObject(d.theirs) &&
      Object.keys(d.theirs).length === 1 &&
      typeof d.theirs.$ref === 'string' &&
      isObject(d.ours) &&
      d.ours.nullable === true &&
      Array.isArray(d.ours.allOf) &&
      d.ours.allOf.length === 1 &&
      d.ours.allOf[0].$ref === d.theirs.$ref,
  },
];

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const MAX_SHOWN = 200;

function isObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function same(a, b) {
  return stable(a) === stable(b);
}

/** JSON with sorted keys, for equality regardless of key order. */
function stable(v) {
  if (Array.isArray(v)) return '[' + v.map(stable).join(',') + ']';
  if (isObject(v)) {
    return '{' + Object.keys(v).sort().map((k) => JSON.stringify(k) + ':' + stable(v[k])).join(',') + '}';
  }
  return JSON.stringify(v);
}

function short(v) {
  if (v === undefined) return 'absent';
  const s = typeof v === 'string' ? v : stable(v);
  return s.length > 160 ? s.slice(0, 157) + '...' : s;
}

/** A JSON pointer resolved in `doc`, or undefined. */
function resolvePointer(doc, ref) {
  if (typeof ref !== 'string' || !ref.startsWith('#')) return undefined;
  let node = doc;
  for (const raw of ref.slice(1).split('/').slice(1)) {
    const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (!isObject(node) && !Array.isArray(node)) return undefined;
    node = node[key];
    if (node === undefined) return undefined;
  }
  return node;
}

/** A parameter, request body, response or header with component references followed. */
function follow(doc, v, seen = new Set()) {
  while (isObject(v) && typeof v.$ref === 'string' && v.$ref.startsWith('#/components/') && !seen.has(v.$ref)) {
    if (v.$ref.startsWith('#/components/schemas/')) break;
    seen.add(v.$ref);
    const target = resolvePointer(doc, v.$ref);
    if (target === undefined) break;
    v = target;
  }
  return v;
}

/** A schema (or any part of one) normalised: no annotations, no `$ref` siblings, tidy descriptions. */
function normSchema(v) {
  if (Array.isArray(v)) return v.map(normSchema);
  if (!isObject(v)) return v;
  if (typeof v.$ref === 'string') return { $ref: v.$ref };
  const out = {};
  for (const [k, val] of Object.entries(v)) {
    if (k.startsWith('x-s2o-') || k === 'x-origin') continue;
    if ((k === 'description' || k === 'title' || k === 'summary') && typeof val === 'string') {
      out[k] = val.replace(/\s+/g, ' ').trim();
    } else if (k === 'properties' && isObject(val)) {
      // Property names are data, not keywords: keep them all, normalise each schema.
      out[k] = Object.fromEntries(Object.entries(val).map(([n, s]) => [n, normSchema(s)]));
    } else if (k === 'example' || k === 'enum' || k === 'default') {
      out[k] = val;
    } else {
      out[k] = normSchema(val);
    }
  }
  return out;
}

class Comparison {
  constructor(theirs, ours, source) {
    this.theirs = theirs;
    this.ours = ours;
    this.source = source;
    this.failures = [];
    this.allowed = new Map();
  }

  differ(kind, where, theirs, ours, op, extra = {}) {
    const d = { kind, where, theirs, ours, source: this.source, doc: this.theirs, op, ...extra };
    const entry = ALLOWED.find((a) => a.test(d));
    if (entry) {
      const list = this.allowed.get(entry.id) || [];
      list.push(d);
      this.allowed.set(entry.id, list);
      return;
    }
    this.failures.push(d);
  }

  /** Compares two schemas, descending to report the first place where they part. */
  schema(where, t, o, op, extra = {}) {
    t = normSchema(t);
    o = normSchema(o);
    this.schemaNode(where, t, o, op, extra);
  }

  schemaNode(where, t, o, op, extra) {
    if (same(t, o)) return;
    const d = { kind: 'schema', where, theirs: t, ours: o, source: this.source, doc: this.theirs, op, ...extra };
    if (!ALLOWED.some((a) => a.test(d))) {
      if (Array.isArray(t) && Array.isArray(o) && t.length === o.length) {
        t.forEach((item, i) => this.schemaNode(`${where}/${i}`, item, o[i], op, extra));
        return;
      }
      if (isObject(t) && isObject(o)) {
        for (const k of new Set([...Object.keys(t), ...Object.keys(o)])) {
          this.schemaNode(`${where}/${k}`, t[k], o[k], op, extra);
        }
        return;
      }
    }
    this.differ('schema', where, t, o, op, extra);
  }

  run() {
    this.paths();
    this.components();
    return this;
  }

  paths() {
    const tp = this.theirs.paths || {};
    const op = this.ours.paths || {};
    const ops = (paths) => {
      const set = [];
      for (const [p, item] of Object.entries(paths)) {
        if (!isObject(item) || p.startsWith('x-')) continue;
        for (const m of METHODS) if (isObject(item[m])) set.push(`${m.toUpperCase()} ${p}`);
      }
      return set;
    };
    const theirOps = ops(tp);
    const ourOps = ops(op);
    for (const o of theirOps) if (!ourOps.includes(o)) this.differ('operation', o, 'present', 'absent');
    for (const o of ourOps) if (!theirOps.includes(o)) this.differ('operation', o, 'absent', 'present');
    for (const key of theirOps.filter((o) => ourOps.includes(o))) {
      const [method, ...rest] = key.split(' ');
      const path = rest.join(' ');
      const m = method.toLowerCase();
      this.operation(key, tp[path], tp[path][m], op[path], op[path][m]);
    }
  }

  /** Path-level parameters overridden by the operation's, by (in, name). */
  params(doc, item, operation) {
    const out = new Map();
    for (const list of [item.parameters, operation.parameters]) {
      for (const raw of Array.isArray(list) ? list : []) {
        const p = follow(doc, raw);
        // What is not a parameter (a reference to a schema, say) is no parameter on either side.
        if (!isObject(p) || typeof p.in !== 'string' || typeof p.name !== 'string') continue;
        out.set(`${p.in} ${p.name}`, p);
      }
    }
    return out;
  }

  operation(where, tItem, tOp, oItem, oOp) {
    if (typeof tOp.operationId === 'string' && tOp.operationId !== oOp.operationId) {
      this.differ('operationId', where, tOp.operationId, oOp.operationId, tOp);
    }
    // Parameters.
    const tp = this.params(this.theirs, tItem, tOp);
    const ourParams = this.params(this.ours, oItem, oOp);
    for (const k of tp.keys()) if (!ourParams.has(k)) this.differ('parameter', `${where} ${k}`, 'present', 'absent', tOp);
    for (const k of ourParams.keys()) if (!tp.has(k)) this.differ('parameter', `${where} ${k}`, 'absent', 'present', tOp);
    for (const [k, t] of tp) {
      const o = ourParams.get(k);
      if (!o) continue;
      const at = `${where} parameter ${k}`;
      const style = (p) => p.style || (p.in === 'query' || p.in === 'cookie' ? 'form' : 'simple');
      const explode = (p) => (typeof p.explode === 'boolean' ? p.explode : style(p) === 'form');
      if (!!t.required !== !!o.required) this.differ('parameter required', at, !!t.required, !!o.required, tOp);
      if (style(t) !== style(o)) this.differ('parameter style', at, style(t), style(o), tOp);
      if (explode(t) !== explode(o)) this.differ('parameter explode', at, explode(t), explode(o), tOp);
      this.schema(`${at} schema`, t.schema, o.schema, tOp);
    }
    // Request body.
    const tb = follow(this.theirs, tOp.requestBody);
    const ob = follow(this.ours, oOp.requestBody);
    if (!!tb !== !!ob) {
      this.differ('request body presence', where, tb ? 'present' : 'absent', ob ? 'present' : 'absent', tOp);
    } else if (tb && ob) {
      const at = `${where} requestBody`;
      if (!!tb.required !== !!ob.required) {
        this.differ('request body required', at, !!tb.required, !!ob.required, tOp, { body: tb });
      }
      this.content('request', at, tb.content, ob.content, tOp, { body: tb });
    }
    // Responses.
    const tr = tOp.responses || {};
    const or = oOp.responses || {};
    const codes = (r) => Object.keys(r).filter((c) => !c.startsWith('x-'));
    for (const c of codes(tr)) if (!(c in or)) this.differ('response', `${where} ${c}`, tr[c], undefined, tOp);
    for (const c of codes(or)) if (!(c in tr)) this.differ('response', `${where} ${c}`, undefined, or[c], tOp);
    for (const c of codes(tr).filter((c) => c in or)) {
      const t = follow(this.theirs, tr[c]);
      const o = follow(this.ours, or[c]);
      const at = `${where} ${c}`;
      if (!isObject(t) || !isObject(o)) {
        if (!same(t, o)) this.differ('response', at, t, o, tOp);
        continue;
      }
      this.content('response', at, t.content, o.content, tOp);
      const th = Object.keys(t.headers || {}).sort();
      const oh = Object.keys(o.headers || {}).sort();
      if (!same(th, oh)) this.differ('response headers', at, th, oh, tOp);
    }
  }

  content(kind, where, t, o, op, extra = {}) {
    t = t || {};
    o = o || {};
    const tk = Object.keys(t).sort();
    const ok = Object.keys(o).sort();
    if (!same(tk, ok)) this.differ(`${kind} media types`, where, tk, ok, op, extra);
    if (tk.length === 1 && ok.length === 1) {
      this.schema(`${where} ${tk[0]}`, t[tk[0]].schema, o[ok[0]].schema, op, { media: t[tk[0]] });
      return;
    }
    for (const m of tk.filter((m) => ok.includes(m))) {
      this.schema(`${where} ${m}`, t[m].schema, o[m].schema, op, { media: t[m] });
    }
  }

  components() {
    const tc = this.theirs.components || {};
    const oc = this.ours.components || {};
    for (const section of ['schemas', 'securitySchemes']) {
      const ts = tc[section] || {};
      const os = oc[section] || {};
      for (const n of Object.keys(ts)) if (!(n in os)) this.differ(section, n, 'present', 'absent', undefined, { value: ts[n] });
      for (const n of Object.keys(os)) if (!(n in ts)) this.differ(section, n, 'absent', 'present');
      for (const n of Object.keys(ts).filter((n) => n in os)) {
        this.schema(`components/${section}/${n}`, ts[n], os[n], undefined);
      }
    }
  }
}

/** The Swagger source, or undefined when it cannot be read (then source-based ALLOWED tests fail). */
function readSource(file) {
  if (!file) return undefined;
  const text = readFileSync(file, 'utf8');
  try {
    return JSON.parse(text);
  } catch {
    try {
      return createRequire(import.meta.url)('yaml').parse(text);
    } catch {
      return undefined;
    }
  }
}

function main() {
  const [theirsFile, oursFile, sourceFile] = process.argv.slice(2);
  if (!theirsFile || !oursFile) {
    console.error('usage: node compare.mjs theirs.json ours.json [swagger.json|yaml]');
    process.exit(2);
  }
  const theirs = JSON.parse(readFileSync(theirsFile, 'utf8'));
  const ours = JSON.parse(readFileSync(oursFile, 'utf8'));
  const c = new Comparison(theirs, ours, readSource(sourceFile)).run();
  for (const [id, list] of c.allowed) {
    const entry = ALLOWED.find((a) => a.id === id);
    console.log(`allowed ${id} (${list.length}): ${entry.reason}`);
    for (const d of list.slice(0, 3)) console.log(`    e.g. ${d.where}`);
  }
  if (c.failures.length === 0) {
    console.log(`same: ${oursFile} agrees with swagger2openapi`);
    return;
  }
  console.log(`${c.failures.length} difference(s) between swagger2openapi (theirs) and specmock (ours):`);
  for (const d of c.failures.slice(0, MAX_SHOWN)) {
    console.log(`  ${d.kind} at ${d.where}\n      theirs: ${short(d.theirs)}\n      ours:   ${short(d.ours)}`);
  }
  if (c.failures.length > MAX_SHOWN) console.log(`  ... and ${c.failures.length - MAX_SHOWN} more`);
  process.exit(1);
}

main();
