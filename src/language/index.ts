/**
 * Segment's query language for computed traits (SEMANTICS.md §9) and audiences (§10): parse and check a
 * definition, print it canonically, and compute it from scratch (the oracle). Pure: no database.
 * docs/adr/0020-query-language.md says what is covered and every choice made where Segment is silent.
 */
import type { AudienceDefinition, ComputedTraitDefinition } from './ast.ts';
import { checkAudience, checkComputedTrait } from './check.ts';
import { parseSyntax, type DefinitionError } from './parser.ts';

export type * from './ast.ts';
export { LIMITS } from './ast.ts';
export type { DefinitionError } from './parser.ts';
export { toText } from './print.ts';
export { durationMs } from './time.ts';
export { audienceNextChange, computedTraitNextChange } from './timers.ts';
export {
  computeTrait,
  evaluateAudience,
  eventName,
  matchingEvents,
  reduce,
  REDUCER_STATE,
  type AudienceSubject,
  type ComputedValue,
  type LanguageEvent,
} from './evaluate.ts';

export type ParseResult<T> = { ok: true; definition: T } | { ok: false; error: DefinitionError };

function notText(): { ok: false; error: DefinitionError } {
  return {
    ok: false,
    error: { code: 'INVALID_DEFINITION', message: 'a definition is text', offset: 0, line: 1, column: 1 },
  };
}

/**
 * `event('Order Completed').where(property('total') >= 100).within(30 days).count()` → a checked
 * computed trait, or `INVALID_DEFINITION` with the position and the reason. Never throws.
 */
export function parseComputedTrait(text: string): ParseResult<ComputedTraitDefinition> {
  if (typeof text !== 'string') return notText();
  const syntax = parseSyntax(text);
  return syntax.ok ? checkComputedTrait(syntax.tree) : syntax;
}

/**
 * `event('Cart Viewed').within(7 days).count() >= 3 AND trait('plan') = 'pro'` → a checked audience
 * (an account audience when it uses ANY or ALL), or `INVALID_DEFINITION` with the position and the
 * reason. Never throws.
 */
export function parseAudience(text: string): ParseResult<AudienceDefinition> {
  if (typeof text !== 'string') return notText();
  const syntax = parseSyntax(text);
  return syntax.ok ? checkAudience(syntax.tree) : syntax;
}
