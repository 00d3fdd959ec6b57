'use strict';
// A small evaluator for Azure Data Factory expressions, enough for what MGDC
// pipelines put in Copy activity properties: `@pipeline().RunId`,
// `@pipeline().parameters.X` (or `['X']`), `@dataset().X`, `@trigger().outputs.X`, `@concat(...)`,
// a few string functions, string/number/boolean literals, `@@` escapes and
// `@{...}` string interpolation. Values arrive either as plain JSON or as
// `{"value": "...", "type": "Expression"}`.
//
// Key decision: a recursive-descent parser over a token list, with hard caps
// on expression length and nesting, and unknown functions or properties are
// errors (ExprError) rather than empty strings, so a typo in a pipeline fails
// the run with a message instead of writing to a wrong folder.

const MAX_LEN = 8192;
const MAX_DEPTH = 32; // nesting inside one expression
const MAX_VALUE_DEPTH = 128; // nesting of the JSON values resolved

class ExprError extends Error {}

function tokenize(src) {
  const toks = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) { i++; continue; }
    if (c === "'") {
      let s = '';
      i++;
      for (;;) {
        if (i >= src.length) throw new ExprError(`Unterminated string literal in expression '${src}'.`);
        if (src[i] === "'") {
          if (src[i + 1] === "'") { s += "'"; i += 2; continue; }
          i++;
          break;
        }
        s += src[i++];
      }
      toks.push({ t: 'str', v: s });
      continue;
    }
    if ('().,[]'.includes(c)) { toks.push({ t: c }); i++; continue; }
    const num = /^-?\d+(\.\d+)?/.exec(src.slice(i));
    if (num) { toks.push({ t: 'num', v: Number(num[0]) }); i += num[0].length; continue; }
    const id = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i));
    if (id) { toks.push({ t: 'id', v: id[0] }); i += id[0].length; continue; }
    throw new ExprError(`Unexpected character '${c}' in expression '${src}'.`);
  }
  return toks;
}

// Case-insensitive property lookup, as ADF resolves `RunId` / `runid`.
function prop(obj, name, src) {
  if (obj === null || typeof obj !== 'object') throw new ExprError(`Cannot read property '${name}' in expression '${src}'.`);
  if (Object.prototype.hasOwnProperty.call(obj, name)) return obj[name];
  const k = Object.keys(obj).find((x) => x.toLowerCase() === String(name).toLowerCase());
  if (k === undefined) throw new ExprError(`The property '${name}' does not exist in expression '${src}'.`);
  return obj[k];
}

const asString = (v) => (typeof v === 'string' ? v : v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));

const FUNCS = {
  concat: (a) => a.map(asString).join(''),
  tolower: (a) => asString(a[0]).toLowerCase(),
  toupper: (a) => asString(a[0]).toUpperCase(),
  string: (a) => asString(a[0]),
  trim: (a) => asString(a[0]).trim(),
  replace: (a) => asString(a[0]).split(asString(a[1])).join(asString(a[2])),
  substring: (a) => asString(a[0]).substr(Number(a[1]), Number(a[2])),
  coalesce: (a) => a.find((x) => x !== null && x !== undefined) ?? null,
};

/*
 * evaluate - evaluate the expression text `src` (without the leading '@')
 * against `ctx` = { pipeline: {...}, dataset: {...} }. Returns a JS value;
 * throws ExprError with a message naming the expression on any error.
 */
function evaluate(src, ctx) {
  if (src.length > MAX_LEN) throw new ExprError(`Expression longer than ${MAX_LEN} characters.`);
  const toks = tokenize(src);
  let pos = 0;
  const peek = () => toks[pos];
  const want = (t) => {
    const k = toks[pos++];
    if (!k || k.t !== t) throw new ExprError(`Expected '${t}' in expression '${src}'.`);
    return k;
  };
  function primary(depth) {
    if (depth > MAX_DEPTH) throw new ExprError(`Expression nested deeper than ${MAX_DEPTH} levels.`);
    const k = toks[pos++];
    if (!k) throw new ExprError(`Unexpected end of expression '${src}'.`);
    if (k.t === 'str' || k.t === 'num') return k.v;
    if (k.t !== 'id') throw new ExprError(`Unexpected '${k.t}' in expression '${src}'.`);
    const lower = k.v.toLowerCase();
    if (peek() && peek().t === '(') {
      pos++;
      const args = [];
      if (peek() && peek().t !== ')') {
        for (;;) {
          args.push(postfix(depth + 1));
          if (peek() && peek().t === ',') { pos++; continue; }
          break;
        }
      }
      want(')');
      if (lower === 'pipeline' || lower === 'dataset' || lower === 'activity' || lower === 'trigger') {
        if (args.length) throw new ExprError(`${k.v}() takes no arguments.`);
        if (!ctx[lower]) throw new ExprError(`${k.v}() is not available in this context.`);
        return ctx[lower];
      }
      const f = FUNCS[lower];
      if (!f) throw new ExprError(`The function '${k.v}' is not supported by the sandbox (expression '${src}').`);
      return f(args);
    }
    if (lower === 'true') return true;
    if (lower === 'false') return false;
    if (lower === 'null') return null;
    throw new ExprError(`Unrecognized name '${k.v}' in expression '${src}'.`);
  }
  function postfix(depth) {
    let v = primary(depth);
    for (;;) {
      const k = peek();
      if (k && k.t === '.') {
        pos++;
        v = prop(v, want('id').v, src);
      } else if (k && k.t === '[') {
        pos++;
        const key = postfix(depth + 1);
        want(']');
        v = prop(v, key, src);
      } else {
        return v;
      }
    }
  }
  const v = postfix(0);
  if (pos !== toks.length) throw new ExprError(`Unexpected text after the end of expression '${src}'.`);
  return v;
}

/*
 * evalString - a string that may hold ADF expression syntax: '@expr' is
 * evaluated, '@@x' is the literal '@x', and '@{expr}' inside any string is
 * interpolated. Other strings come back unchanged.
 */
function evalString(s, ctx) {
  if (s.startsWith('@@')) return s.slice(1);
  if (s.startsWith('@') && !s.startsWith('@{')) return evaluate(s.slice(1), ctx);
  if (!s.includes('@{')) return s;
  let out = '';
  let i = 0;
  while (i < s.length) {
    const j = s.indexOf('@{', i);
    if (j < 0) { out += s.slice(i); break; }
    out += s.slice(i, j);
    const end = s.indexOf('}', j);
    if (end < 0) throw new ExprError(`Unterminated '@{' in '${s}'.`);
    out += asString(evaluate(s.slice(j + 2, end), ctx));
    i = end + 1;
  }
  return out;
}

/*
 * resolve - the value of an ADF property `v`: an Expression object is
 * evaluated, a string goes through evalString, arrays and objects are
 * resolved element by element. Throws ExprError.
 */
function resolve(v, ctx, depth = 0) {
  if (depth > MAX_VALUE_DEPTH) throw new ExprError('Property nested too deeply.');
  if (typeof v === 'string') return evalString(v, ctx);
  if (Array.isArray(v)) return v.map((x) => resolve(x, ctx, depth + 1));
  if (v && typeof v === 'object') {
    if (v.type === 'Expression' && typeof v.value === 'string') return evalString(v.value.startsWith('@') ? v.value : `@${v.value}`, ctx);
    const o = {};
    for (const [k, x] of Object.entries(v)) o[k] = resolve(x, ctx, depth + 1);
    return o;
  }
  return v;
}

module.exports = { ExprError, evaluate, evalString, resolve, asString };
