/**
 * When the mock answers with a tool call, and with what arguments. One rule for every wire
 * flavour (OpenAI, Anthropic, Gemini), so tool round trips are testable end to end:
 *
 *   A request that declares tools gets a tool call when
 *   - its tool choice requires one: OpenAI "required", Anthropic {type:"any"}, Gemini mode
 *     ANY → the first declared tool (the first allowed one for Gemini's allowedFunctionNames);
 *     a named choice (OpenAI {function:{name}}, Anthropic {type:"tool", name}) → that tool; or
 *   - the choice is automatic (absent or auto) and the last message is the user's own text
 *     (not a tool result) containing a declared tool's name → the first such tool.
 *   "none" never calls a tool. Anything else is answered with text.
 *
 * The arguments fill every `required` property of the tool's JSON schema: strings get
 * "mock-<property>", numbers and integers 42, booleans true, arrays [], objects their own
 * required properties; an `enum` or `const` gives its first allowed value.
 */
import { isRecord } from '../lib/json.js';

export interface MockTool {
  readonly name: string;
  /** The tool's parameter JSON schema, as declared. */
  readonly schema: unknown;
}

export type MockToolChoice = 'auto' | 'none' | 'required' | { readonly name: string };

export interface ToolRequest {
  readonly tools: readonly MockTool[];
  readonly choice: MockToolChoice;
  /** Text of the last message when it is the user's own text; null otherwise. */
  readonly lastUserText: string | null;
}

export interface MockToolCall {
  readonly name: string;
  readonly input: Record<string, unknown>;
}


export function pickToolCall(req: ToolRequest): MockToolCall | null {
  if (req.tools.length === 0 || req.choice === 'none') return null;
  let tool: MockTool | undefined;
  if (req.choice === 'required') tool = req.tools[0];
  else if (typeof req.choice === 'object') {
    const name = req.choice.name;
    tool = req.tools.find((t) => t.name === name);
  } else if (req.lastUserText !== null) {
    const text = req.lastUserText;
    tool = req.tools.find((t) => t.name !== '' && text.includes(t.name));
  }
  return tool === undefined ? null : { name: tool.name, input: argumentsFor(tool.schema) };
}

/** A value that satisfies `schema`'s type and its required properties, deterministically. */
export function argumentsFor(schema: unknown): Record<string, unknown> {
  const value = valueFor(schema, 'value');
  return isRecord(value) ? value : {};
}

function valueFor(schema: unknown, name: string, depth = 0): unknown {
  if (!isRecord(schema) || depth > 8) return null;
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[0];
  if ('const' in schema) return schema.const;
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'string':
      return `mock-${name}`;
    case 'number':
    case 'integer':
      return 42;
    case 'boolean':
      return true;
    case 'array':
      return [];
    case 'null':
      return null;
    default: {
      const out: Record<string, unknown> = {};
      const props = isRecord(schema.properties) ? schema.properties : {};
      const required = Array.isArray(schema.required) ? schema.required : [];
      for (const key of required) if (typeof key === 'string') out[key] = valueFor(props[key], key, depth + 1);
      return out;
    }
  }
}
