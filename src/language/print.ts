/**
 * The canonical text of a definition: parsing `toText(d)` gives `d` back (test/unit/language-roundtrip).
 * Canonical means: single quotes, `=` `!=` `>` `>=` `<` `<=` for the six sugared comparators, one
 * `.where(...)` before `.within(...)`, plural units, `mode`'s minimum frequency always written,
 * `NOT (...)`, `ANY (...)`, `ALL (...)` always with parentheses, and parentheses around an OR inside
 * an AND.
 */
import type {
  AudienceCondition,
  BooleanExpression,
  Comparison,
  Definition,
  Duration,
  EventStream,
  Literal,
  Reducer,
} from './ast.ts';

function quote(text: string): string {
  let out = "'";
  for (const char of text) {
    const code = char.charCodeAt(0);
    if (char === "'" || char === '\\') out += `\\${char}`;
    else if (char === '\n') out += '\\n';
    else if (char === '\r') out += '\\r';
    else if (char === '\t') out += '\\t';
    else if (code < 0x20 || code === 0x7f) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += char;
  }
  return `${out}'`;
}

function literal(value: Literal): string {
  return typeof value === 'string' ? quote(value) : String(value);
}

function duration(window: Duration): string {
  return `${window.amount} ${window.unit}`;
}

const SUGAR = {
  equals: '=',
  differs: '!=',
  greater_than: '>',
  at_least: '>=',
  less_than: '<',
  at_most: '<=',
} as const;

/** ` >= 3` or `.exists()`, to append to what is compared. */
function comparison(c: Comparison): string {
  switch (c.op) {
    case 'equals':
    case 'differs':
    case 'greater_than':
    case 'at_least':
    case 'less_than':
    case 'at_most':
      return ` ${SUGAR[c.op]} ${literal(c.value)}`;
    case 'exists':
    case 'absent':
      return `.${c.op}()`;
    case 'contains':
    case 'one_of':
      return `.${c.op}(${c.values.map(literal).join(', ')})`;
    case 'omits':
    case 'starts_with':
    case 'ends_with':
    case 'before_date':
    case 'after_date':
      return `.${c.op}(${quote(c.value)})`;
    case 'within_last':
    case 'within_next':
    case 'before_last':
    case 'after_next':
      return `.${c.op}(${duration(c.window)})`;
  }
}

function expression<Leaf extends { kind: string }>(
  node: BooleanExpression<Leaf>,
  leaf: (leaf: Leaf) => string,
): string {
  switch (node.kind) {
    case 'and':
      return (node as { items: BooleanExpression<Leaf>[] }).items
        .map((item) => (item.kind === 'or' ? `(${expression(item, leaf)})` : expression(item, leaf)))
        .join(' AND ');
    case 'or':
      return (node as { items: BooleanExpression<Leaf>[] }).items
        .map((item) => expression(item, leaf))
        .join(' OR ');
    case 'not':
      return `NOT (${expression((node as { operand: BooleanExpression<Leaf> }).operand, leaf)})`;
    default:
      return leaf(node as Leaf);
  }
}

function stream(s: EventStream): string {
  let text = `event(${quote(s.event)})`;
  if (s.where !== null) {
    text += `.where(${expression(s.where, (c) => `property(${quote(c.property)})${comparison(c.comparison)}`)})`;
  }
  if (s.window !== null) text += `.within(${duration(s.window)})`;
  return text;
}

function reducer(r: Reducer): string {
  switch (r.kind) {
    case 'count':
      return '.count()';
    case 'unique_count':
      return `.unique(property(${quote(r.property)})).count()`;
    case 'mode':
      return `.mode(property(${quote(r.property)}), ${r.minFrequency})`;
    default:
      return `.${r.kind}(property(${quote(r.property)}))`;
  }
}

function audienceLeaf(node: Exclude<AudienceCondition, { kind: 'and' | 'or' | 'not' }>): string {
  switch (node.kind) {
    case 'event':
      return `${stream(node.stream)}${reducer(node.reducer)}${comparison(node.comparison)}`;
    case 'trait':
      return `trait(${quote(node.trait)})${comparison(node.comparison)}`;
    case 'any':
    case 'all':
      return `${node.kind.toUpperCase()} (${expression(node.condition, audienceLeaf)})`;
  }
}

/** The canonical text of a computed trait or an audience. */
export function toText(definition: Definition): string {
  if (definition.kind === 'computed_trait')
    return `${stream(definition.stream)}${reducer(definition.reducer)}`;
  return expression(definition.condition, audienceLeaf);
}
