// JSON Schema → the TypeScript-like type text harmony prints inside `namespace functions { … }` (SPEC §4.6).
// This follows openai/harmony's `json_schema_to_typescript` rule for rule, quirks included (the nested closing
// brace at the nested indent, the property-level oneOf layout, the description dedup), because the model was
// trained on exactly that text.

type Json = unknown;

function get(schema: Json, key: string): Json {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) return undefined;
  return Object.prototype.hasOwnProperty.call(schema, key) ? (schema as Record<string, Json>)[key] : undefined;
}

function isEnum(schema: Json): boolean {
  const e = get(schema, 'enum');
  return Array.isArray(e) && e.length > 0;
}

function isNullable(schema: Json): boolean {
  return get(schema, 'nullable') === true;
}

/**
 * Compact JSON as serde_json's `Display` prints it. Integers print as digits; other numbers use JS's shortest
 * round-trip form with `e+` written `e`. A float written `10.0` in the source JSON cannot be told from `10` once
 * parsed by JavaScript, so it prints `10` (serde prints `10.0`).
 */
export function jsonDisplay(v: Json): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'number') return numberDisplay(v);
  if (typeof v === 'string' || typeof v === 'boolean') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(jsonDisplay).join(',')}]`;
  if (typeof v === 'object') {
    const parts: string[] = [];
    for (const [k, x] of Object.entries(v as Record<string, Json>)) {
      if (x === undefined) continue;
      parts.push(`${JSON.stringify(k)}:${jsonDisplay(x)}`);
    }
    return `{${parts.join(',')}}`;
  }
  return 'null';
}

function numberDisplay(n: number): string {
  if (!Number.isFinite(n)) return 'null';
  return String(n).replace('e+', 'e');
}

function defaultComment(schema: Json, dflt: Json): string {
  if (typeof dflt === 'string') return isEnum(schema) ? `default: ${dflt}` : `default: "${dflt}"`;
  return `default: ${jsonDisplay(dflt)}`;
}

function withNull(schema: Json, type: string): string {
  return isNullable(schema) && !type.includes('null') ? `${type} | null` : type;
}

/** The TypeScript-like rendering of `schema` at `indent` (harmony's `json_schema_to_typescript`). */
export function jsonSchemaToTypeScript(schema: Json, indent = ''): string {
  const oneOf = get(schema, 'oneOf');
  if (Array.isArray(oneOf)) {
    let out = '';
    for (const variant of oneOf) {
      out += `\n${indent} | `;
      out += withNull(variant, jsonSchemaToTypeScript(variant, `${indent}   `));
      const comments: string[] = [];
      const desc = get(variant, 'description');
      if (typeof desc === 'string') comments.push(desc);
      const dflt = get(variant, 'default');
      if (dflt !== undefined) {
        // At this level harmony prints an enum's string default as JSON (quoted), unlike everywhere else.
        comments.push(typeof dflt === 'string' && !isEnum(variant) ? `default: "${dflt}"` : `default: ${jsonDisplay(dflt)}`);
      }
      if (comments.length > 0) out += ` // ${comments.join(' ')}`;
    }
    return out;
  }

  const type = get(schema, 'type');
  if (Array.isArray(type)) {
    const names = type.filter((t): t is string => typeof t === 'string').map((t) => (t === 'integer' ? 'number' : t));
    if (names.length > 0) return names.join(' | ');
  }
  if (typeof type === 'string') {
    switch (type) {
      case 'object':
        return objectType(schema, indent);
      case 'string': {
        const e = get(schema, 'enum');
        if (Array.isArray(e)) {
          const members = e.filter((x): x is string => typeof x === 'string').map((x) => `"${x}"`);
          if (members.length > 0) return members.join(' | ');
        }
        return 'string';
      }
      case 'number':
      case 'integer':
        return 'number';
      case 'boolean':
        return 'boolean';
      case 'array': {
        const items = get(schema, 'items');
        return items === undefined ? 'Array<any>' : `${jsonSchemaToTypeScript(items, indent)}[]`;
      }
      default:
        return 'any';
    }
  }
  return 'any';
}

function objectType(schema: Json, indent: string): string {
  let out = '';
  const desc = get(schema, 'description');
  if (typeof desc === 'string') out += `${indent}// ${desc}\n`;
  out += '{\n';
  const props = get(schema, 'properties');
  if (typeof props === 'object' && props !== null && !Array.isArray(props)) {
    const required = new Set<string>();
    const req = get(schema, 'required');
    if (Array.isArray(req)) for (const r of req) if (typeof r === 'string') required.add(r);
    for (const [key, val] of Object.entries(props as Record<string, Json>)) {
      if (val === undefined) continue;
      const opt = required.has(key) ? '' : '?';
      const title = get(val, 'title');
      if (typeof title === 'string') out += `${indent}// ${title}\n${indent}//\n`;
      const valOneOf = get(val, 'oneOf');
      const valDesc = get(val, 'description');
      if (valOneOf === undefined && typeof valDesc === 'string') out += `${indent}// ${valDesc}\n`;
      const examples = get(val, 'examples');
      if (Array.isArray(examples) && examples.length > 0) {
        out += `${indent}// Examples:\n`;
        for (const ex of examples) if (typeof ex === 'string') out += `${indent}// - "${ex}"\n`;
      }
      if (Array.isArray(valOneOf)) {
        out += oneOfProperty(key, opt, val, valOneOf, indent);
        continue;
      }
      out += `${indent}${key}${opt}: `;
      out += withNull(val, jsonSchemaToTypeScript(val, `${indent}    `));
      out += ',';
      if (valOneOf === undefined) {
        const dflt = get(val, 'default');
        if (dflt !== undefined) out += ` // ${defaultComment(val, dflt)}`;
      }
      out += '\n';
    }
  }
  out += `${indent}}`;
  return out;
}

function oneOfProperty(key: string, opt: string, val: Json, variants: Json[], indent: string): string {
  let out = '';
  const desc = get(val, 'description');
  const propertyDesc = typeof desc === 'string' ? desc : undefined;
  const firstDesc = variants.length > 0 ? get(variants[0], 'description') : undefined;
  const skip = propertyDesc !== undefined && typeof firstDesc === 'string' && firstDesc === propertyDesc;
  let descAbove = false;
  if (!skip && propertyDesc !== undefined) {
    out += `${indent}// ${propertyDesc}\n`;
    descAbove = true;
  }
  const dflt = get(val, 'default');
  if (dflt !== undefined) out += `${indent}// ${defaultComment(val, dflt)}\n`;
  out += `${indent}${key}${opt}:\n`;
  variants.forEach((variant, i) => {
    out += `${indent} | `;
    out += withNull(variant, jsonSchemaToTypeScript(variant, `${indent}   `));
    const comments: string[] = [];
    if (!(i === 0 && descAbove)) {
      const vd = get(variant, 'description');
      if (typeof vd === 'string' && vd !== propertyDesc) comments.push(vd);
    }
    const vdflt = get(variant, 'default');
    if (vdflt !== undefined) comments.push(defaultComment(variant, vdflt));
    if (comments.length > 0) out += ` // ${comments.join(' ')}`;
    out += '\n';
  });
  out += `${indent},\n`;
  return out;
}
