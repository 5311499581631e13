/**
 * The JSON Schema subset used by packaging/rmpkg.schema.json, the same one
 * packaging/rmpkg.py implements (type, const, enum, pattern, min/maxLength,
 * minimum/maximum, min/maxItems, required, properties, additionalProperties,
 * items, $ref to #/$defs). Errors name the exact field.
 */
import { BundleError } from "./errors.js";

export interface Schema {
  readonly $ref?: string;
  readonly $defs?: Record<string, Schema>;
  readonly type?: "object" | "array" | "string" | "integer" | "number" | "boolean";
  readonly const?: unknown;
  readonly enum?: readonly unknown[];
  readonly pattern?: string;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly minItems?: number;
  readonly maxItems?: number;
  readonly required?: readonly string[];
  readonly properties?: Record<string, Schema>;
  readonly additionalProperties?: boolean | Schema;
  readonly items?: Schema;
}

function typeName(value: unknown): string {
  if (value === null) return "NoneType";
  if (Array.isArray(value)) return "list";
  if (typeof value === "number") return Number.isInteger(value) ? "int" : "float";
  if (typeof value === "object") return "dict";
  if (typeof value === "string") return "str";
  if (typeof value === "boolean") return "bool";
  return typeof value;
}

function typeOk(value: unknown, expected: NonNullable<Schema["type"]>): boolean {
  switch (expected) {
    case "object":
      return typeof value === "object" && value !== null && !Array.isArray(value);
    case "array":
      return Array.isArray(value);
    case "string":
      return typeof value === "string";
    case "integer":
      return typeof value === "number" && Number.isInteger(value);
    case "number":
      return typeof value === "number";
    case "boolean":
      return typeof value === "boolean";
  }
}

function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

const where = (path: string): string => path || "(top level)";
const patterns = new Map<string, RegExp>();

export function validate(value: unknown, schema: Schema, root: Schema = schema, path = ""): void {
  if (schema.$ref !== undefined) {
    const prefix = "#/$defs/";
    const target = schema.$ref.startsWith(prefix) ? root.$defs?.[schema.$ref.slice(prefix.length)] : undefined;
    if (!target) throw new Error(`unsupported $ref ${schema.$ref}`);
    validate(value, target, root, path);
  }
  if ("const" in schema && !deepEqual(value, schema.const)) {
    throw new BundleError(`${where(path)}: expected ${JSON.stringify(schema.const)}, got ${JSON.stringify(value)}`);
  }
  if (schema.enum !== undefined && !schema.enum.some((e) => deepEqual(e, value))) {
    throw new BundleError(
      `${where(path)}: expected one of ${JSON.stringify(schema.enum)}, got ${JSON.stringify(value)}`,
    );
  }
  if (schema.type !== undefined && !typeOk(value, schema.type)) {
    throw new BundleError(`${where(path)}: expected ${schema.type}, got ${typeName(value)}`);
  }
  if (typeof value === "string") {
    const length = [...value].length;
    if (schema.minLength !== undefined && length < schema.minLength) {
      throw new BundleError(`${where(path)}: shorter than ${schema.minLength} characters`);
    }
    if (schema.maxLength !== undefined && length > schema.maxLength) {
      throw new BundleError(`${where(path)}: longer than ${schema.maxLength} characters`);
    }
    if (schema.pattern !== undefined) {
      let re = patterns.get(schema.pattern);
      if (!re) patterns.set(schema.pattern, (re = new RegExp(schema.pattern, "u")));
      if (!re.test(value)) {
        throw new BundleError(`${where(path)}: ${JSON.stringify(value)} does not match ${schema.pattern}`);
      }
    }
  }
  if (typeof value === "number") {
    if (schema.minimum !== undefined && value < schema.minimum) {
      throw new BundleError(`${where(path)}: ${value} is below ${schema.minimum}`);
    }
    if (schema.maximum !== undefined && value > schema.maximum) {
      throw new BundleError(`${where(path)}: ${value} is above ${schema.maximum}`);
    }
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) {
      throw new BundleError(`${where(path)}: needs at least ${schema.minItems} items`);
    }
    if (schema.maxItems !== undefined && value.length > schema.maxItems) {
      throw new BundleError(`${where(path)}: more than ${schema.maxItems} items`);
    }
    if (schema.items !== undefined) {
      value.forEach((item, i) => validate(item, schema.items!, root, `${path}[${i}]`));
    }
  } else if (typeof value === "object" && value !== null) {
    const obj = value as Record<string, unknown>;
    for (const key of schema.required ?? []) {
      if (!(key in obj)) throw new BundleError(`${where(path)}: missing field '${key}'`);
    }
    const props = schema.properties ?? {};
    const extra = schema.additionalProperties ?? true;
    for (const [key, item] of Object.entries(obj)) {
      const sub = path ? `${path}.${key}` : key;
      if (key in props) validate(item, props[key]!, root, sub);
      else if (extra === false) throw new BundleError(`${where(path)}: unknown field '${key}'`);
      else if (typeof extra === "object") validate(item, extra, root, sub);
    }
  }
}
