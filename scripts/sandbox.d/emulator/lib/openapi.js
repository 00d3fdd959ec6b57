'use strict';
// Validation of ARM request bodies against the public OpenAPI (Swagger 2.0)
// documents of the APIs the emulator serves: Azure Data Factory 2018-06-01
// and Microsoft.GraphServices 2023-04-13, as kept under openapi/ (see
// openapi/SOURCES and openapi/extract.js). A body the definitions refuse is
// answered 400 InvalidRequestContent in ARM's error shape, naming the JSON
// path and the rule, as ARM answers a body it cannot deserialize.
//
// Key decision: the Swagger definitions are translated once, at load, into
// one JSON Schema per API and validated with Ajv; what Swagger means and JSON
// Schema does not say is made explicit in the translation:
//  - polymorphism: a reference to a discriminated type (LinkedService,
//    Dataset, Activity, CopySource, CopySink, StoreWriteSettings,
//    DatasetLocation, SecretBase, ...) validates the base and, when the
//    body's discriminator ("type") equals a kept subtype's
//    x-ms-discriminator-value (else its definition name), that subtype with
//    its allOf chain; any other value is validated against the base only;
//  - "type": "object" with no properties is AutoRest's "any" (ADF uses it for
//    values that may be literals or expressions);
//  - a definition with properties or allOf but no "type" is an object;
//  - enums match case-insensitively (ADF Studio itself writes pipeline
//    parameter types as "string", "int"), discriminator values exactly;
//  - a member whose value is null is treated as absent, as ARM's JSON
//    deserializer leaves such a member unset (a required one is then missing).
// The limits and sources are in mgdc-sandbox(7), REQUEST VALIDATION.

const Ajv = require('ajv');
const addFormats = require('ajv-formats');
const fs = require('node:fs');
const path = require('node:path');
const { armError } = require('./http');
const docs = require('../../openapi/docs');

const ARM_PREFIX = '/arm';
// Formats the kept documents use that a validator can check.
const FORMATS = ['date-time', 'uuid', 'uri'];
// Schema keywords copied as they are; everything not named is dropped
// (descriptions, x-ms-* extensions, readOnly, ...).
const COPIED = ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'minLength', 'maxLength',
  'pattern', 'minItems', 'maxItems', 'uniqueItems', 'required'];

const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const keyOf = (file, name) => `${file.replace(/\.json$/, '')}:${name}`;
const refTo = (key) => ({ $ref: `#/definitions/${key.replace(/~/g, '~0').replace(/\//g, '~1')}` });

// ---- translation ---------------------------------------------------------------------

/*
 * One API's definitions, indexed: defs[key] = {file, name, def}, with the
 * allOf parents of each and, for polymorphic definitions, the discriminator
 * property inherited from the root of their hierarchy.
 */
function indexApi(files) {
  const defs = {};
  for (const [file, doc] of Object.entries(files)) {
    for (const [name, def] of Object.entries(doc.definitions || {})) defs[keyOf(file, name)] = { file, name, def };
  }
  for (const d of Object.values(defs)) {
    d.parents = (d.def.allOf || []).filter((x) => x.$ref).map((x) => {
      const to = docs.resolveRef(d.file, x.$ref);
      return keyOf(to.file, to.name);
    });
  }
  const rootDiscriminator = (key, seen = new Set()) => {
    const d = defs[key];
    if (!d || seen.has(key)) return null;
    seen.add(key);
    if (typeof d.def.discriminator === 'string') return d.def.discriminator;
    for (const p of d.parents) {
      const r = rootDiscriminator(p, seen);
      if (r) return r;
    }
    return null;
  };
  for (const [key, d] of Object.entries(defs)) d.discriminator = rootDiscriminator(key);
  // Descendants through allOf, for every definition that has any.
  for (const d of Object.values(defs)) d.descendants = [];
  for (const [key, d] of Object.entries(defs)) {
    const stack = [...d.parents];
    const seen = new Set();
    while (stack.length) {
      const p = stack.pop();
      if (seen.has(p) || !defs[p]) continue;
      seen.add(p);
      defs[p].descendants.push(key);
      stack.push(...defs[p].parents);
    }
  }
  return defs;
}

// Translate one Swagger schema found in `file`. `inherit` is true for the
// members of an allOf, which name a parent rather than a polymorphic value.
// Every object schema carries, as $comment, `where` it comes from (definition
// and path inside it), so an error can name the rule's owner.
function translate(s, file, defs, where, inherit = false) {
  if (!isObj(s)) return s;
  if (typeof s.$ref === 'string') {
    const to = docs.resolveRef(file, s.$ref);
    const key = keyOf(to.file, to.name);
    const d = defs[key];
    if (!d) throw new Error(`openapi: ${file}: $ref '${s.$ref}' is not in the kept documents`);
    return refTo(!inherit && d.discriminator && d.descendants.length ? `${key}@poly` : key);
  }
  const model = isObj(s.properties) || Array.isArray(s.allOf) || typeof s.discriminator === 'string';
  if (s.type === 'object' && !model && s.additionalProperties === undefined) return {};
  const out = { $comment: where };
  if (typeof s.type === 'string') out.type = s.type;
  else if (model) out.type = 'object';
  if (isObj(s.properties)) {
    out.properties = {};
    for (const [k, v] of Object.entries(s.properties)) out.properties[k] = translate(v, file, defs, `${where}/properties/${k}`);
  }
  if (s.additionalProperties !== undefined) {
    out.additionalProperties = isObj(s.additionalProperties) ? translate(s.additionalProperties, file, defs, `${where}/additionalProperties`) : s.additionalProperties;
  }
  if (Array.isArray(s.allOf)) out.allOf = s.allOf.map((x) => translate(x, file, defs, where, true));
  if (s.items !== undefined) out.items = translate(s.items, file, defs, `${where}/items`);
  if (Array.isArray(s.enum)) out.enumCI = s.enum.slice();
  if (typeof s.format === 'string' && FORMATS.includes(s.format)) out.format = s.format;
  for (const k of COPIED) if (s[k] !== undefined) out[k] = s[k];
  return out;
}

// The value a subtype's discriminator takes: x-ms-discriminator-value, else
// the definition's name (Swagger 2.0).
const discriminatorValue = (d) => (typeof d.def['x-ms-discriminator-value'] === 'string' ? d.def['x-ms-discriminator-value'] : d.name);

function apiSchema(defs) {
  const definitions = {};
  for (const [key, d] of Object.entries(defs)) {
    definitions[key] = translate(d.def, d.file, defs, `${d.file}#/definitions/${d.name}`);
    if (!d.discriminator || !d.descendants.length) continue;
    const prop = d.discriminator;
    definitions[`${key}@poly`] = {
      allOf: [refTo(key), ...d.descendants.map((sub) => ({
        if: { type: 'object', properties: { [prop]: { const: discriminatorValue(defs[sub]) } }, required: [prop] },
        then: refTo(sub),
      }))],
    };
  }
  return { definitions };
}

// ---- loading -------------------------------------------------------------------------

function newAjv() {
  const ajv = new Ajv({ allErrors: false, verbose: true, strict: false, unicodeRegExp: false });
  addFormats(ajv, FORMATS);
  ajv.addKeyword({
    keyword: 'enumCI',
    type: 'string',
    schemaType: 'array',
    validate: (allowed, data) => allowed.some((a) => typeof a === 'string' && a.toLowerCase() === data.toLowerCase()),
  });
  return ajv;
}

// Path template of the OpenAPI document -> RegExp over the emulator's path.
function pathRegExp(template) {
  const re = template.split(/\{[^}]+\}/).map((part) => part.replace(/[.*+?^$()|[\]\\]/g, '\\$&')).join('[^/]+');
  return new RegExp(`^${ARM_PREFIX}${re}$`, 'i');
}

/*
 * load() - every operation of the kept documents as [{api, version, method,
 * template, re, operationId, body: {name, required} | null, validate}]. Throws when a
 * kept document is inconsistent (a $ref to nothing).
 */
function load() {
  const byApi = {};
  for (const s of docs.sources()) {
    (byApi[s.api] = byApi[s.api] || {})[s.file] = JSON.parse(fs.readFileSync(path.join(docs.DIR, s.local), 'utf8'));
  }
  const ops = [];
  for (const [api, files] of Object.entries(byApi)) {
    const defs = indexApi(files);
    const ajv = newAjv();
    const id = `mgdc-openapi:${api}`;
    ajv.addSchema({ $id: id, ...apiSchema(defs) });
    for (const [file, doc] of Object.entries(files)) {
      for (const [template, item] of Object.entries(doc.paths || {})) {
        for (const [method, op] of Object.entries(item)) {
          const param = (op.parameters || []).find((x) => x.in === 'body');
          let validate = null;
          if (param) {
            const target = translate(param.schema, file, defs, `${file}, body parameter '${param.name}'`);
            validate = ajv.compile({ $id: `${id}/${op.operationId}`, ...withBase(target, id) });
          }
          ops.push({
            api: api.split('/')[0], version: api.split('/')[1], method: method.toUpperCase(), template, re: pathRegExp(template),
            operationId: op.operationId, body: param ? { name: param.name, required: param.required === true } : null, validate,
          });
        }
      }
    }
  }
  return ops;
}

// A schema compiled on its own refers to the API's definitions by the API's id.
function withBase(schema, id) {
  const s = JSON.parse(JSON.stringify(schema));
  const fix = (n) => {
    if (!isObj(n) && !Array.isArray(n)) return;
    for (const v of Object.values(n)) fix(v);
    if (isObj(n) && typeof n.$ref === 'string' && n.$ref.startsWith('#')) n.$ref = `${id}${n.$ref}`;
  };
  fix(s);
  return s;
}

let OPS = null;
const operations = () => (OPS = OPS || load());

// ---- errors --------------------------------------------------------------------------

// A copy of `v` without the object members whose value is null.
function dropNulls(v) {
  if (Array.isArray(v)) return v.map(dropNulls);
  if (!isObj(v)) return v;
  const o = {};
  for (const [k, x] of Object.entries(v)) if (x !== null) o[k] = dropNulls(x);
  return o;
}

// JSON pointer of Ajv -> the path notation of ARM's messages: a.b[0].c
function jsonPath(pointer, extra) {
  const parts = pointer.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (extra !== undefined) parts.push(extra);
  let out = '';
  for (const p of parts) {
    if (/^\d+$/.test(p)) out += `[${p}]`;
    else if (/^[A-Za-z_$@][\w$@-]*$/.test(p)) out += out ? `.${p}` : p;
    else out += `['${p.replace(/'/g, "\\'")}']`;
  }
  return out || '$';
}

const jsonType = (v) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
// Values are echoed only for rules on enums, patterns, formats and ranges:
// a value of the wrong type may be a secret in the wrong place.
const shown = (v) => {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 80 ? `${s.slice(0, 77)}...` : s;
};

// Where the rule an Ajv error names comes from (see translate()).
const ruleOwner = (e) => (e.parentSchema && typeof e.parentSchema.$comment === 'string' ? e.parentSchema.$comment : 'the request body');

function describe(e) {
  switch (e.keyword) {
    case 'required':
      return { target: jsonPath(e.instancePath, e.params.missingProperty), text: 'is required' };
    case 'type':
      return { target: jsonPath(e.instancePath), text: `must be of type ${e.params.type}, not ${jsonType(e.data)}` };
    case 'enumCI':
      return { target: jsonPath(e.instancePath), text: `must be one of ${e.schema.map((x) => `'${x}'`).join(', ')}, not ${shown(e.data)}` };
    case 'format':
      return { target: jsonPath(e.instancePath), text: `must be a ${e.params.format}${e.params.format === 'date-time' ? ' as RFC 3339 defines it (e.g. 2026-01-31T00:00:00Z)' : ''}, not ${shown(e.data)}` };
    case 'pattern':
      return { target: jsonPath(e.instancePath), text: `must match the pattern ${e.params.pattern}, not ${shown(e.data)}` };
    default:
      return { target: jsonPath(e.instancePath), text: `${e.message}, not ${typeof e.data === 'number' ? e.data : jsonType(e.data)}` };
  }
}

/*
 * validate(method, urlPath, apiVersion, body) - the first rule of the kept
 * OpenAPI documents that `body` breaks, as {target, message, keyword,
 * operationId}, or null when it breaks none or no kept operation matches
 * (method, path, api-version). `body` is the parsed JSON (undefined when the
 * request had none). Pure; never throws for a body.
 */
function validate(method, urlPath, apiVersion, body) {
  const op = operations().find((o) => o.method === method && o.version === apiVersion && o.re.test(urlPath));
  if (!op || !op.body) return null;
  if (body === undefined) {
    if (!op.body.required) return null;
    return { target: op.body.name, keyword: 'required', operationId: op.operationId, message: `The request content was invalid: the body '${op.body.name}' is required by ${op.operationId} (${op.api} ${op.version}).` };
  }
  if (op.validate(dropNulls(body))) return null;
  const errs = op.validate.errors.filter((e) => e.keyword !== 'if');
  const e = errs[0] || op.validate.errors[0];
  const { target, text } = describe(e);
  const rule = e.keyword === 'enumCI' ? 'enum' : e.keyword;
  return {
    target, keyword: rule, operationId: op.operationId,
    message: `The request content was invalid: '${target}' ${text} (rule '${rule}' at ${ruleOwner(e)} of the ${op.api} ${op.version} OpenAPI document, operation ${op.operationId}).`,
  };
}

/*
 * check(ctx, body) - validate an ARM request's parsed body (see validate());
 * throws HttpError 400 {"error": {"code": "InvalidRequestContent", "message",
 * "target"}} when it breaks a rule. Routes call it after their ARM prelude, so
 * a bad token or api-version is still answered first.
 */
function check(ctx, body) {
  const bad = validate(ctx.req.method, ctx.url.pathname, ctx.url.searchParams.get('api-version'), body);
  if (!bad) return;
  console.log(`emulator: openapi: refused ${ctx.req.method} ${ctx.url.pathname}: ${bad.message}`);
  const err = armError(400, 'InvalidRequestContent', bad.message);
  err.body.error.target = bad.target;
  throw err;
}

module.exports = { check, validate, operations };
