/**
 * Tokens of Segment's query language (docs/adr/0020-query-language.md), as a Chevrotain lexer. Keywords
 * are capitals only, as in Segment's reference; `ANDROID` is an identifier, not `AND` + `ROID`.
 */
import { createToken, Lexer, type TokenType } from 'chevrotain';

export const WhiteSpace = createToken({
  name: 'WhiteSpace',
  pattern: /\s+/,
  group: Lexer.SKIPPED,
  line_breaks: true,
});

export const Identifier = createToken({ name: 'Identifier', pattern: /[A-Za-z_][A-Za-z0-9_]*/ });

function keyword(name: string, word: string): TokenType {
  return createToken({ name, pattern: new RegExp(word), longer_alt: Identifier });
}

export const And = keyword('And', 'AND');
export const Or = keyword('Or', 'OR');
export const Not = keyword('Not', 'NOT');
export const Any = keyword('Any', 'ANY');
export const All = keyword('All', 'ALL');
export const True = keyword('True', 'true');
export const False = keyword('False', 'false');
export const Null = keyword('Null', 'null');

/**
 * Either quote, any character but the quote and the backslash, or a backslash and any character. Which
 * escapes mean something is the checker's business, so a bad escape is reported at its own position
 * rather than as a string that never ends.
 */
export const StringLiteral = createToken({
  name: 'StringLiteral',
  pattern: /'(?:[^'\\]|\\[\s\S])*'|"(?:[^"\\]|\\[\s\S])*"/,
  line_breaks: true,
});

/** With its sign: the language has no subtraction, so `-5` is always a negative number. */
export const NumberLiteral = createToken({
  name: 'NumberLiteral',
  pattern: /-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/,
});

export const LParen = createToken({ name: 'LParen', pattern: /\(/, label: "'('" });
export const RParen = createToken({ name: 'RParen', pattern: /\)/, label: "')'" });
export const Comma = createToken({ name: 'Comma', pattern: /,/, label: "','" });
export const Dot = createToken({ name: 'Dot', pattern: /\./, label: "'.'" });

/** The sugar for equals, differs, at_least, at_most, greater_than, less_than (`==` as the reference shows it too). */
export const CompareOp = createToken({ name: 'CompareOp', pattern: /==|=|!=|>=|<=|>|</ });

export const ALL_TOKENS: TokenType[] = [
  WhiteSpace,
  StringLiteral,
  NumberLiteral,
  And,
  Or,
  Not,
  Any,
  All,
  True,
  False,
  Null,
  Identifier,
  LParen,
  RParen,
  Comma,
  Dot,
  CompareOp,
];

export const lexer = new Lexer(ALL_TOKENS, { positionTracking: 'full' });
