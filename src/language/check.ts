/**
 * Turns a syntax tree (parser.ts) into a checked definition (ast.ts), or refuses it with the position
 * and the reason (SEMANTICS.md §9: "A definition that does not parse or type-check is refused with the
 * position and the reason"). Which functions exist and how they chain follows Segment's query language
 * reference; our choices where it is silent are in docs/adr/0020-query-language.md.
 *
 * The checker stops at the first problem. Internally it throws a private `Refusal` to unwind; `check*`
 * catch it and return it as data, so callers never see an exception for user input.
 */
import {
  LIMITS,
  type AudienceCondition,
  type AudienceDefinition,
  type BooleanExpression,
  type Comparison,
  type ComputedTraitDefinition,
  type Duration,
  type EventFilter,
  type EventStream,
  type Literal,
  type PropertyCondition,
  type Reducer,
  type UserCondition,
} from './ast.ts';
import {
  definitionError,
  type DefinitionError,
  type Position,
  type SyntaxArgument,
  type SyntaxCall,
  type SyntaxChain,
  type SyntaxExpression,
  type SyntaxPath,
  type SyntaxValue,
} from './parser.ts';
import { parseIsoDate } from './time.ts';

export type Checked<T> = { ok: true; definition: T } | { ok: false; error: DefinitionError };

class Refusal {
  constructor(readonly error: DefinitionError) {}
}

function refuse(at: Position, message: string): never {
  throw new Refusal(definitionError(at, message));
}

function guard<T>(check: () => T): Checked<T> {
  try {
    return { ok: true, definition: check() };
  } catch (thrown) {
    if (thrown instanceof Refusal) return { ok: false, error: thrown.error };
    throw thrown;
  }
}

// --- literals ---------------------------------------------------------------------------------------

const ESCAPES: Record<string, string> = {
  '\\': '\\',
  "'": "'",
  '"': '"',
  '/': '/',
  n: '\n',
  r: '\r',
  t: '\t',
  b: '\b',
  f: '\f',
};

/** The position of `raw[index]`, for a token `raw` that starts at `at` (strings may hold line breaks). */
function positionWithin(at: Position, raw: string, index: number): Position {
  let { line, column } = at;
  for (let i = 0; i < index; i += 1) {
    const c = raw.charCodeAt(i);
    if (c === 10 || (c === 13 && raw.charCodeAt(i + 1) !== 10)) {
      line += 1;
      column = 1;
    } else {
      column += 1;
    }
  }
  return { offset: at.offset + index, line, column };
}

/** A quoted string's value: JSON's escapes plus `\'`. */
function decodeString(raw: string, at: Position): string {
  let out = '';
  for (let i = 1; i < raw.length - 1; i += 1) {
    const char = raw[i]!;
    if (char !== '\\') {
      out += char;
      continue;
    }
    const next = raw[i + 1]!;
    const simple = ESCAPES[next];
    if (simple !== undefined) {
      out += simple;
      i += 1;
    } else if (next === 'u' && /^[0-9a-fA-F]{4}$/.test(raw.slice(i + 2, i + 6))) {
      out += String.fromCharCode(parseInt(raw.slice(i + 2, i + 6), 16));
      i += 5;
    } else {
      refuse(positionWithin(at, raw, i), `unknown escape \\${next} in a string`);
    }
  }
  return out;
}

function decodeNumber(raw: string, at: Position): number {
  const value = Number(raw);
  if (!Number.isFinite(value)) refuse(at, `the number ${raw} is out of range`);
  return value === 0 ? 0 : value; // no -0: it prints as 0
}

/** The literal's value; null for `null`. */
function literalOf(value: SyntaxValue): Literal | null {
  switch (value.kind) {
    case 'string':
      return decodeString(value.raw, value.at);
    case 'number':
      return decodeNumber(value.raw, value.at);
    case 'boolean':
      return value.value;
    case 'null':
      return null;
  }
}

function isValue(argument: SyntaxArgument | SyntaxPath): argument is SyntaxValue {
  return argument.kind !== 'duration' && argument.kind !== 'expression' && argument.kind !== 'path';
}

/** How an argument is named in a message. */
function describe(argument: SyntaxArgument | SyntaxPath): string {
  switch (argument.kind) {
    case 'string':
      return `a string literal ${argument.raw}`;
    case 'number':
      return `the number ${argument.raw}`;
    case 'boolean':
      return String(argument.value);
    case 'null':
      return 'null';
    case 'duration':
      return `the duration ${argument.raw} ${argument.unit}`;
    case 'path':
      return `${argument.calls[0]!.name}(...)`;
    case 'expression': {
      const expression = argument.expression;
      if (expression.kind === 'chain' && expression.compare === null)
        return `${expression.calls[0]!.name}(...)`;
      return 'a condition';
    }
  }
}

/** The one string argument of `event('X')`, `trait('x')`, `property('x')`. */
function nameArgument(call: SyntaxCall): string {
  const [argument, extra] = call.args;
  if (argument === undefined || argument.kind !== 'string') {
    refuse(argument?.at ?? call.close, `${call.name}() takes a name in quotes, e.g. ${call.name}('name')`);
  }
  if (extra !== undefined) refuse(extra.at, `${call.name}() takes one name`);
  const name = decodeString(argument.raw, argument.at);
  if (name === '') refuse(argument.at, `${call.name}() needs a name that is not empty`);
  return name;
}

function noArguments(call: SyntaxCall): void {
  const [argument] = call.args;
  if (argument !== undefined) refuse(argument.at, `${call.name}() takes no arguments`);
}

const UNITS: Record<string, Duration['unit']> = { hour: 'hours', hours: 'hours', day: 'days', days: 'days' };

/** `7 days`: a positive whole number, hours or days, at most `LIMITS.maxWindowDays` days. */
function durationArgument(call: SyntaxCall): Duration {
  const [argument, extra] = call.args;
  if (argument === undefined)
    refuse(call.close, `${call.name}() needs a duration, e.g. ${call.name}(7 days)`);
  if (extra !== undefined) refuse(extra.at, `${call.name}() takes one duration`);
  if (argument.kind !== 'duration') {
    refuse(argument.at, `${call.name}() needs a duration such as 7 days, got ${describe(argument)}`);
  }
  const unit = UNITS[argument.unit];
  if (unit === undefined) refuse(argument.unitAt, `unknown time unit '${argument.unit}'; use hours or days`);
  if (!/^\d+$/.test(argument.raw) || Number(argument.raw) === 0) {
    refuse(argument.at, `a duration is a positive whole number of hours or days, got ${argument.raw}`);
  }
  const amount = Number(argument.raw);
  const days = unit === 'days' ? amount : amount / 24;
  if (days > LIMITS.maxWindowDays) {
    refuse(
      argument.at,
      `a duration is at most ${LIMITS.maxWindowDays} days (${LIMITS.maxWindowDays * 24} hours), got ${argument.raw} ${argument.unit}`,
    );
  }
  return { amount, unit };
}

// --- comparisons ------------------------------------------------------------------------------------

/** What is being compared: a number (count, sum, ...), any value (a trait, a property, first, ...). */
interface Subject {
  type: 'number' | 'value';
  /** For messages: `count()`, `trait('plan')`. */
  name: string;
}

const SUGAR: Record<string, 'equals' | 'differs' | 'greater_than' | 'at_least' | 'less_than' | 'at_most'> = {
  '=': 'equals',
  '==': 'equals',
  '!=': 'differs',
  '>': 'greater_than',
  '>=': 'at_least',
  '<': 'less_than',
  '<=': 'at_most',
};

const COMPARATORS = new Set<string>([
  'equals',
  'differs',
  'greater_than',
  'at_least',
  'less_than',
  'at_most',
  'exists',
  'absent',
  'contains',
  'omits',
  'starts_with',
  'ends_with',
  'one_of',
  'before_date',
  'after_date',
  'within_last',
  'within_next',
  'before_last',
  'after_next',
]);

const REDUCERS = new Set(['count', 'sum', 'avg', 'min', 'max', 'mode', 'first', 'last', 'unique']);

/** In Segment's reference, not (yet) in ours: named so the refusal says so rather than "unknown". */
const UNSUPPORTED: Record<string, string> = {
  context: 'context() is not supported; conditions are on top-level event properties (§9)',
  literal: 'literal() is not supported; write the value itself',
  sources: 'sources() is not supported',
  between: 'between() is not supported; use within()',
};

/** `op` applied to `operand` (a literal, or `null` sugar for absent / exists). */
function valueComparison(
  op: 'equals' | 'differs' | 'greater_than' | 'at_least' | 'less_than' | 'at_most',
  operand: SyntaxValue | SyntaxPath,
  subject: Subject,
  opText: string,
): Comparison {
  if (!isValue(operand)) {
    refuse(operand.at, `comparing with ${describe(operand)} is not supported; compare with a literal value`);
  }
  const value = literalOf(operand);
  if (value === null) {
    if (op === 'equals') return { op: 'absent' };
    if (op === 'differs') return { op: 'exists' };
    refuse(operand.at, `${opText} needs a number, got null`);
  }
  if (typeof value !== 'number') {
    if (subject.type === 'number') {
      refuse(operand.at, `${subject.name} is a number; compare it with a number, got ${describe(operand)}`);
    }
    if (op !== 'equals' && op !== 'differs') {
      refuse(
        operand.at,
        `${opText} compares numbers, got ${describe(operand)}; for dates use before_date or after_date`,
      );
    }
  }
  if (op === 'equals' || op === 'differs') return { op, value };
  return { op, value: value as number };
}

function stringArguments(call: SyntaxCall, atLeast: number, atMost: number): string[] {
  if (call.args.length < atLeast) {
    refuse(call.close, `${call.name}() needs ${atMost === 1 ? 'a string' : 'at least one string'}`);
  }
  const extra = call.args[atMost];
  if (extra !== undefined) refuse(extra.at, `${call.name}() takes one string`);
  return call.args.map((argument) => {
    if (argument.kind !== 'string')
      refuse(argument.at, `${call.name}() takes strings, got ${describe(argument)}`);
    return decodeString(argument.raw, argument.at);
  });
}

const TEXT_OR_DATE_OPS = new Set([
  'contains',
  'omits',
  'starts_with',
  'ends_with',
  'before_date',
  'after_date',
  'within_last',
  'within_next',
  'before_last',
  'after_next',
]);

/** `.exists()`, `.contains('a', 'b')`, `.at_least(3)`, ... */
function callComparison(call: SyntaxCall, subject: Subject): Comparison {
  const op = call.name;
  if (subject.type === 'number' && TEXT_OR_DATE_OPS.has(op)) {
    refuse(call.at, `${subject.name} is a number; ${op}() applies to text or dates`);
  }
  switch (op) {
    case 'equals':
    case 'differs':
    case 'greater_than':
    case 'at_least':
    case 'less_than':
    case 'at_most': {
      const [argument, extra] = call.args;
      if (argument === undefined) refuse(call.close, `${op}() needs a value`);
      if (extra !== undefined) refuse(extra.at, `${op}() takes one value`);
      if (argument.kind === 'duration' || argument.kind === 'expression') {
        refuse(argument.at, `${op}() needs a literal value, got ${describe(argument)}`);
      }
      return valueComparison(op, argument, subject, `${op}()`);
    }
    case 'exists':
    case 'absent':
      noArguments(call);
      return { op };
    case 'contains':
      return { op, values: stringArguments(call, 1, Infinity) };
    case 'omits':
    case 'starts_with':
    case 'ends_with':
      return { op, value: stringArguments(call, 1, 1)[0]! };
    case 'one_of': {
      if (call.args.length === 0) refuse(call.close, 'one_of() needs at least one value');
      const values = call.args.map((argument): Literal => {
        if (!isValue(argument) || argument.kind === 'null') {
          refuse(argument.at, `one_of() takes strings, numbers or booleans, got ${describe(argument)}`);
        }
        const value = literalOf(argument)!;
        if (subject.type === 'number' && typeof value !== 'number') {
          refuse(
            argument.at,
            `${subject.name} is a number; one_of() needs numbers, got ${describe(argument)}`,
          );
        }
        return value;
      });
      return { op, values };
    }
    case 'before_date':
    case 'after_date': {
      const [argument] = call.args;
      const value = stringArguments(call, 1, 1)[0]!;
      if (parseIsoDate(value) === null) {
        refuse(
          argument!.at,
          `${op}() needs an ISO-8601 date such as '2026-01-01' or '2026-01-01T09:30:00Z', got ${describe(argument!)}`,
        );
      }
      return { op, value };
    }
    case 'within_last':
    case 'within_next':
    case 'before_last':
    case 'after_next':
      return { op, window: durationArgument(call) };
    default:
      return refuse(call.at, `unknown comparison '${op}'`);
  }
}

/** The comparison that ends a chain: `... >= 3` or `.at_least(3)`, exactly one. */
function chainComparison(chain: SyntaxChain, rest: SyntaxCall[], subject: Subject): Comparison {
  const [call, extra] = rest;
  if (extra !== undefined) refuse(extra.at, `nothing can follow ${call!.name}()`);
  if (call !== undefined && !COMPARATORS.has(call.name)) {
    refuse(call.at, `unknown comparison '${call.name}' after ${subject.name}`);
  }
  if (call !== undefined && chain.compare !== null) {
    refuse(chain.compare.at, `${subject.name} is compared twice`);
  }
  if (call !== undefined) return callComparison(call, subject);
  if (chain.compare === null) {
    refuse(
      chain.at,
      `${subject.name} needs a comparison, e.g. ${subject.name} = 'value' or ${subject.name}.exists()`,
    );
  }
  const { op, operand } = chain.compare;
  return valueComparison(SUGAR[op]!, operand, subject, `'${op}'`);
}

// --- event streams and reducers -----------------------------------------------------------------------

function junction<Leaf>(kind: 'and' | 'or', items: BooleanExpression<Leaf>[]): BooleanExpression<Leaf> {
  const flat: BooleanExpression<Leaf>[] = [];
  for (const item of items) {
    if (typeof item === 'object' && item !== null && (item as { kind?: string }).kind === kind) {
      flat.push(...(item as { items: BooleanExpression<Leaf>[] }).items);
    } else {
      flat.push(item);
    }
  }
  return flat.length === 1 ? flat[0]! : { kind, items: flat };
}

function checkFilter(expression: SyntaxExpression): EventFilter {
  switch (expression.kind) {
    case 'and':
    case 'or':
      return junction(expression.kind, expression.items.map(checkFilter));
    case 'not':
      return { kind: 'not', operand: checkFilter(expression.operand) };
    case 'any':
    case 'all':
      return refuse(expression.at, 'ANY and ALL belong to account audiences, not inside where()');
    case 'chain':
      return propertyCondition(expression);
  }
}

function propertyCondition(chain: SyntaxChain): PropertyCondition {
  const [head, ...rest] = chain.calls;
  if (head!.name === 'event') {
    refuse(head!.at, 'event conditions inside where() (funnels) are not supported');
  }
  if (head!.name !== 'property') {
    refuse(
      head!.at,
      `a where() condition is about the event's properties: property('name') = 'value', found ${head!.name}(...)`,
    );
  }
  const property = nameArgument(head!);
  const comparison = chainComparison(chain, rest, { type: 'value', name: `property('${property}')` });
  return { kind: 'property', property, comparison };
}

/** The property a reducer reads: `sum(property('total'))`. */
function reducerProperty(call: SyntaxCall, numeric: boolean): string {
  const [argument] = call.args;
  const needs = numeric ? 'a numeric property' : 'a property';
  if (argument === undefined)
    refuse(call.close, `${call.name} needs ${needs}: ${call.name}(property('name'))`);
  const expression = argument.kind === 'expression' ? argument.expression : null;
  if (
    expression === null ||
    expression.kind !== 'chain' ||
    expression.compare !== null ||
    expression.calls.length !== 1 ||
    expression.calls[0]!.name !== 'property'
  ) {
    const hint = argument.kind === 'string' ? `; write ${call.name}(property(${argument.raw}))` : '';
    return refuse(argument.at, `${call.name} needs ${needs}, got ${describe(argument)}${hint}`);
  }
  return nameArgument(expression.calls[0]!);
}

function reducerOf(call: SyntaxCall): Reducer {
  switch (call.name) {
    case 'count':
      noArguments(call);
      return { kind: 'count' };
    case 'sum':
    case 'avg':
    case 'min':
    case 'max': {
      const property = reducerProperty(call, true);
      const extra = call.args[1];
      if (extra !== undefined) refuse(extra.at, `${call.name}() takes one property`);
      return { kind: call.name, property };
    }
    case 'first':
    case 'last':
    case 'unique': {
      const property = reducerProperty(call, false);
      const extra = call.args[1];
      if (extra !== undefined) refuse(extra.at, `${call.name}() takes one property`);
      return { kind: call.name, property };
    }
    case 'mode': {
      const property = reducerProperty(call, false);
      const [, frequency, extra] = call.args;
      if (extra !== undefined) refuse(extra.at, 'mode() takes a property and a minimum frequency');
      let minFrequency = 2; // §9: "at least twice by default"
      if (frequency !== undefined) {
        if (frequency.kind !== 'number' || !/^\d+$/.test(frequency.raw) || Number(frequency.raw) === 0) {
          refuse(
            frequency.at,
            `mode()'s minimum frequency is a positive whole number, got ${describe(frequency)}`,
          );
        }
        minFrequency = Number(frequency.raw);
        if (minFrequency > LIMITS.maxMinFrequency) {
          refuse(frequency.at, `mode()'s minimum frequency is at most ${LIMITS.maxMinFrequency}`);
        }
      }
      return { kind: 'mode', property, minFrequency };
    }
    default:
      return refuse(call.at, `unknown reducer '${call.name}'`);
  }
}

const STREAM_STEPS = 'where, within or a reducer (count, sum, avg, min, max, mode, first, last, unique)';

/**
 * `event('X')` followed by filters in any order (every `.where` joined with AND, at most one `.within`)
 * and one reducer; `.unique(...)` may be followed by `.count()`. Returns the calls after the reducer.
 */
function streamOf(chain: SyntaxChain): {
  stream: EventStream;
  reducer: Reducer;
  reducerAt: Position;
  rest: SyntaxCall[];
} {
  const [head, ...calls] = chain.calls;
  const event = nameArgument(head!);
  const filters: EventFilter[] = [];
  let window: Duration | null = null;
  let reducer: Reducer | null = null;
  let reducerAt = head!.at;
  let index = 0;
  for (; index < calls.length && reducer === null; index += 1) {
    const call = calls[index]!;
    if (call.name === 'where') {
      const [argument, extra] = call.args;
      if (argument === undefined)
        refuse(call.close, "where() needs a condition, e.g. where(property('total') > 100)");
      if (extra !== undefined)
        refuse(extra.at, 'where() takes one condition; join conditions with AND or OR');
      if (argument.kind !== 'expression') {
        refuse(
          argument.at,
          `where() needs a condition such as property('total') > 100, got ${describe(argument)}`,
        );
      }
      filters.push(checkFilter(argument.expression));
    } else if (call.name === 'within') {
      if (window !== null) refuse(call.at, 'within() is given twice');
      window = durationArgument(call);
    } else if (REDUCERS.has(call.name)) {
      reducer = reducerOf(call);
      reducerAt = call.at;
    } else if (UNSUPPORTED[call.name] !== undefined) {
      refuse(call.at, UNSUPPORTED[call.name]!);
    } else if (COMPARATORS.has(call.name)) {
      refuse(
        call.at,
        `event('${event}') is a stream of events; reduce it with count() or another reducer before ${call.name}()`,
      );
    } else {
      refuse(call.at, `unknown function '${call.name}'; after event(...) expected ${STREAM_STEPS}`);
    }
  }
  if (reducer === null) {
    const last = chain.calls.at(-1)!;
    const at = chain.compare?.at ?? {
      ...last.close,
      offset: last.close.offset + 1,
      column: last.close.column + 1,
    };
    refuse(
      at,
      `expected a reducer after event('${event}'): count(), sum(...), avg(...), min(...), max(...), mode(...), first(...), last(...) or unique(...)`,
    );
  }
  const next = calls[index];
  if (reducer.kind === 'unique' && next?.name === 'count') {
    noArguments(next);
    reducer = { kind: 'unique_count', property: reducer.property };
    index += 1;
  }
  const where = filters.length === 0 ? null : junction('and', filters);
  return { stream: { event, where, window }, reducer, reducerAt, rest: calls.slice(index) };
}

function reducerText(reducer: Reducer): string {
  if (reducer.kind === 'count') return 'count()';
  if (reducer.kind === 'unique_count') return `unique(property('${reducer.property}')).count()`;
  return `${reducer.kind}(...)`;
}

// --- definitions ------------------------------------------------------------------------------------

export function checkComputedTrait(tree: SyntaxExpression): Checked<ComputedTraitDefinition> {
  return guard(() => {
    if (tree.kind !== 'chain') {
      refuse(
        tree.at,
        "a computed trait is one event('Name') expression ending in a reducer; AND, OR, NOT, ANY and ALL belong to audiences",
      );
    }
    const head = tree.calls[0]!;
    if (head.name !== 'event') {
      refuse(head.at, `a computed trait starts with event('Name'), found ${head.name}(...)`);
    }
    const { stream, reducer, rest } = streamOf(tree);
    const [next] = rest;
    if (next !== undefined) {
      if (COMPARATORS.has(next.name)) {
        refuse(
          next.at,
          `a computed trait is a value; comparisons such as ${next.name}() belong in audiences`,
        );
      }
      refuse(next.at, `nothing can follow ${reducerText(reducer)} in a computed trait`);
    }
    if (tree.compare !== null) {
      refuse(
        tree.compare.at,
        `a computed trait is a value; comparisons such as '${tree.compare.op}' belong in audiences`,
      );
    }
    return { kind: 'computed_trait', stream, reducer };
  });
}

const NUMERIC_REDUCERS = new Set(['count', 'sum', 'avg', 'min', 'max', 'unique_count']);

interface AudienceState {
  primaries: number;
  accounts: boolean;
}

function audienceLeaf(chain: SyntaxChain, state: AudienceState): AudienceCondition {
  const [head, ...rest] = chain.calls;
  state.primaries += 1;
  if (state.primaries > LIMITS.maxPrimaryExpressions) {
    refuse(chain.at, `more than ${LIMITS.maxPrimaryExpressions} event and trait conditions`);
  }
  switch (head!.name) {
    case 'event': {
      const { stream, reducer, reducerAt, rest: after } = streamOf(chain);
      if (reducer.kind === 'unique') {
        refuse(
          reducerAt,
          `unique(...) is a list; compare its size with unique(property('${reducer.property}')).count()`,
        );
      }
      const subject: Subject = {
        type: NUMERIC_REDUCERS.has(reducer.kind) ? 'number' : 'value',
        name: reducerText(reducer),
      };
      return { kind: 'event', stream, reducer, comparison: chainComparison(chain, after, subject) };
    }
    case 'trait': {
      const trait = nameArgument(head!);
      return {
        kind: 'trait',
        trait,
        comparison: chainComparison(chain, rest, { type: 'value', name: `trait('${trait}')` }),
      };
    }
    case 'property':
      return refuse(
        head!.at,
        "property() is only valid inside where() or a reducer, e.g. event('X').where(property('p') = 1).count() >= 1",
      );
    default: {
      const unsupported = UNSUPPORTED[head!.name];
      if (unsupported !== undefined) refuse(head!.at, unsupported);
      return refuse(
        head!.at,
        `a condition starts with event('Name') or trait('name'), found ${head!.name}(...)`,
      );
    }
  }
}

function audienceCondition(
  expression: SyntaxExpression,
  state: AudienceState,
  inQuantifier: boolean,
): AudienceCondition {
  switch (expression.kind) {
    case 'and':
    case 'or':
      return junction(
        expression.kind,
        expression.items.map((item) => audienceCondition(item, state, inQuantifier)),
      );
    case 'not':
      return { kind: 'not', operand: audienceCondition(expression.operand, state, inQuantifier) };
    case 'any':
    case 'all':
      if (inQuantifier) refuse(expression.at, 'ANY and ALL cannot be nested');
      state.accounts = true;
      return {
        kind: expression.kind,
        condition: audienceCondition(expression.operand, state, true) as UserCondition,
      };
    case 'chain':
      return audienceLeaf(expression, state);
  }
}

export function checkAudience(tree: SyntaxExpression): Checked<AudienceDefinition> {
  return guard(() => {
    const state: AudienceState = { primaries: 0, accounts: false };
    const condition = audienceCondition(tree, state, false);
    return { kind: 'audience', level: state.accounts ? 'accounts' : 'users', condition };
  });
}
