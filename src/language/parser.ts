/**
 * The syntax of Segment's query language (docs/adr/0020-query-language.md): junctions over chains of
 * calls, `event('X').where(...).within(7 days).count() >= 3`. Which calls exist, what their arguments
 * must be and how a chain may end is the checker's business (check.ts): the grammar stays small and the
 * checker can say "sum needs a numeric property" instead of "expected one of 14 tokens".
 *
 *   expression  := conjunction (OR conjunction)*
 *   conjunction := unary (AND unary)*                 AND binds tighter than OR
 *   unary       := (NOT | ANY | ALL) unary | primary
 *   primary     := '(' expression ')' | chain
 *   chain       := path (CompareOp operand)?          `=`, `==`, `!=`, `<`, `>`, `<=`, `>=`
 *   path        := call ('.' call)*
 *   call        := Identifier '(' (argument (',' argument)*)? ')'
 *   argument    := Number Identifier?  | String | true | false | null | expression
 *   operand     := Number | String | true | false | null | path
 *
 * Before parsing, the token stream is held to the caps of `LIMITS` (ast.ts), so the parser's recursion
 * is bounded whatever the text.
 */
import {
  EmbeddedActionsParser,
  EOF,
  type IParserErrorMessageProvider,
  type IRecognitionException,
  type IToken,
  type TokenType,
} from 'chevrotain';
import { LIMITS } from './ast.ts';
import {
  ALL_TOKENS,
  All,
  And,
  Any,
  Comma,
  CompareOp,
  Dot,
  False,
  Identifier,
  lexer,
  LParen,
  Not,
  Null,
  NumberLiteral,
  Or,
  RParen,
  StringLiteral,
  True,
} from './lexer.ts';

/** 0-based offset; 1-based line and column (a column counts UTF-16 code units, as editors do). */
export interface Position {
  offset: number;
  line: number;
  column: number;
}

/** SEMANTICS.md §7: a refusal with a code, a reason and where it is. */
export interface DefinitionError extends Position {
  code: 'INVALID_DEFINITION';
  message: string;
}

export type SyntaxValue =
  | { kind: 'string'; raw: string; at: Position }
  | { kind: 'number'; raw: string; at: Position }
  | { kind: 'boolean'; value: boolean; at: Position }
  | { kind: 'null'; at: Position };

export interface SyntaxCall {
  name: string;
  at: Position;
  args: SyntaxArgument[];
  /** Where the closing parenthesis is. */
  close: Position;
}

export type SyntaxArgument =
  | SyntaxValue
  | { kind: 'duration'; raw: string; unit: string; at: Position; unitAt: Position }
  | { kind: 'expression'; expression: SyntaxExpression; at: Position };

export interface SyntaxChain {
  kind: 'chain';
  calls: SyntaxCall[];
  compare: { op: string; at: Position; operand: SyntaxValue | SyntaxPath } | null;
  at: Position;
}

export interface SyntaxPath {
  kind: 'path';
  calls: SyntaxCall[];
  at: Position;
}

export type SyntaxExpression =
  | SyntaxChain
  | { kind: 'and' | 'or'; items: SyntaxExpression[]; at: Position }
  | { kind: 'not' | 'any' | 'all'; operand: SyntaxExpression; at: Position };

function positionOf(token: IToken): Position {
  return { offset: token.startOffset, line: token.startLine ?? 1, column: token.startColumn ?? 1 };
}

/** The position of `offset` in `text`, counting `\n`, `\r\n` and `\r` as line breaks as the lexer does. */
export function positionAt(text: string, offset: number): Position {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (c === 10 || (c === 13 && text.charCodeAt(i + 1) !== 10)) {
      line += 1;
      lineStart = i + 1;
    }
  }
  return { offset, line, column: offset - lineStart + 1 };
}

export function definitionError(at: Position, message: string): DefinitionError {
  return { code: 'INVALID_DEFINITION', message, offset: at.offset, line: at.line, column: at.column };
}

const TOKEN_LABELS = new Map<TokenType, string>([
  [LParen, "'('"],
  [RParen, "')'"],
  [Comma, "','"],
  [Dot, "'.'"],
  [Identifier, 'a name'],
  [StringLiteral, 'a string'],
  [NumberLiteral, 'a number'],
  [CompareOp, 'a comparison'],
]);

const JUNCTIONS = new Set(['AND', 'OR', 'NOT', 'ANY', 'ALL']);

/** How a token is named in a message: its text, shortened, or "end of input". */
export function describeToken(token: IToken): string {
  if (token.tokenType === EOF) return 'end of input';
  const image = token.image.length > 30 ? `${token.image.slice(0, 30)}…` : token.image;
  const hint = JUNCTIONS.has(token.image.toUpperCase())
    ? ` (write ${token.image.toUpperCase()} in capitals)`
    : '';
  return `'${image}'${hint}`;
}

/**
 * Messages a person can act on. A missing `)` is completed by `parseSyntax` with the call it should
 * close, which needs the whole token stream.
 */
const messages: IParserErrorMessageProvider = {
  buildMismatchTokenMessage({ expected, actual }) {
    return `expected ${TOKEN_LABELS.get(expected) ?? expected.name}, found ${describeToken(actual)}`;
  },
  buildNotAllInputParsedMessage({ firstRedundant }) {
    if (firstRedundant.tokenType === RParen) return "unmatched ')'";
    return `expected AND, OR or the end of the definition, found ${describeToken(firstRedundant)}`;
  },
  buildNoViableAltMessage({ actual, ruleName }) {
    const found = actual[0] ? describeToken(actual[0]) : 'end of input';
    switch (ruleName) {
      case 'operand':
        return `expected a value to compare with (a string, number, true, false or null), found ${found}`;
      case 'argument':
        return `expected an argument, found ${found}`;
      default:
        return `expected a condition such as trait('plan') = 'pro', found ${found}`;
    }
  },
  buildEarlyExitMessage({ actual }) {
    return `unexpected ${actual[0] ? describeToken(actual[0]) : 'end of input'}`;
  },
};

class SyntaxParser extends EmbeddedActionsParser {
  constructor() {
    super(ALL_TOKENS, { maxLookahead: 2, errorMessageProvider: messages });
    this.performSelfAnalysis();
  }

  public expression = this.RULE('expression', (): SyntaxExpression => {
    const items: SyntaxExpression[] = [this.SUBRULE(this.conjunction)];
    this.MANY(() => {
      this.CONSUME(Or);
      items.push(this.SUBRULE2(this.conjunction));
    });
    return this.ACTION(() => junction('or', items));
  });

  private conjunction = this.RULE('conjunction', (): SyntaxExpression => {
    const items: SyntaxExpression[] = [this.SUBRULE(this.unary)];
    this.MANY(() => {
      this.CONSUME(And);
      items.push(this.SUBRULE2(this.unary));
    });
    return this.ACTION(() => junction('and', items));
  });

  private unary = this.RULE('unary', (): SyntaxExpression => {
    return this.OR([
      {
        ALT: () => {
          const prefix = this.OR2([
            { ALT: () => this.CONSUME(Not) },
            { ALT: () => this.CONSUME(Any) },
            { ALT: () => this.CONSUME(All) },
          ]);
          const operand = this.SUBRULE(this.unary);
          return this.ACTION(() => ({
            kind: prefix.tokenType === Not ? ('not' as const) : prefix.tokenType === Any ? 'any' : 'all',
            operand,
            at: positionOf(prefix),
          }));
        },
      },
      { ALT: () => this.SUBRULE(this.primary) },
    ]);
  });

  private primary = this.RULE('primary', (): SyntaxExpression => {
    return this.OR([
      {
        ALT: () => {
          this.CONSUME(LParen);
          const inner = this.SUBRULE(this.expression);
          this.CONSUME(RParen);
          return inner;
        },
      },
      { ALT: () => this.SUBRULE(this.chain) },
    ]);
  });

  private chain = this.RULE('chain', (): SyntaxChain => {
    const path = this.SUBRULE(this.path);
    let compare: SyntaxChain['compare'] = null;
    this.OPTION(() => {
      const op = this.CONSUME(CompareOp);
      const operand = this.SUBRULE(this.operand);
      compare = this.ACTION(() => ({ op: op.image, at: positionOf(op), operand }));
    });
    return this.ACTION(() => ({ kind: 'chain', calls: path.calls, compare, at: path.at }));
  });

  private path = this.RULE('path', (): SyntaxPath => {
    const calls: SyntaxCall[] = [this.SUBRULE(this.call)];
    this.MANY(() => {
      this.CONSUME(Dot);
      calls.push(this.SUBRULE2(this.call));
    });
    return this.ACTION(() => ({ kind: 'path', calls, at: calls[0]!.at }));
  });

  private call = this.RULE('call', (): SyntaxCall => {
    const name = this.CONSUME(Identifier);
    this.CONSUME(LParen);
    const args: SyntaxArgument[] = [];
    this.OPTION(() => {
      args.push(this.SUBRULE(this.argument));
      this.MANY(() => {
        this.CONSUME(Comma);
        args.push(this.SUBRULE2(this.argument));
      });
    });
    const close = this.CONSUME(RParen);
    return this.ACTION(() => ({ name: name.image, at: positionOf(name), args, close: positionOf(close) }));
  });

  private argument = this.RULE('argument', (): SyntaxArgument => {
    return this.OR([
      {
        ALT: () => {
          const amount = this.CONSUME(NumberLiteral);
          let unit: IToken | undefined;
          this.OPTION(() => {
            unit = this.CONSUME(Identifier);
          });
          return this.ACTION((): SyntaxArgument => {
            if (unit === undefined) return { kind: 'number', raw: amount.image, at: positionOf(amount) };
            return {
              kind: 'duration',
              raw: amount.image,
              unit: unit.image,
              at: positionOf(amount),
              unitAt: positionOf(unit),
            };
          });
        },
      },
      { ALT: () => this.SUBRULE(this.literal) },
      {
        ALT: () => {
          const expression = this.SUBRULE(this.expression);
          return this.ACTION(() => ({ kind: 'expression' as const, expression, at: expression.at }));
        },
      },
    ]);
  });

  private operand = this.RULE('operand', (): SyntaxValue | SyntaxPath => {
    return this.OR([
      {
        ALT: () => {
          const token = this.CONSUME(NumberLiteral);
          return this.ACTION(() => ({ kind: 'number' as const, raw: token.image, at: positionOf(token) }));
        },
      },
      { ALT: () => this.SUBRULE(this.literal) },
      { ALT: () => this.SUBRULE(this.path) },
    ]);
  });

  /** Every literal but a number, whose place in `argument` is shared with durations. */
  private literal = this.RULE('literal', (): SyntaxValue => {
    return this.OR([
      {
        ALT: () => {
          const token = this.CONSUME(StringLiteral);
          return this.ACTION(() => ({ kind: 'string' as const, raw: token.image, at: positionOf(token) }));
        },
      },
      {
        ALT: () => {
          const token = this.CONSUME(True);
          return this.ACTION(() => ({ kind: 'boolean' as const, value: true, at: positionOf(token) }));
        },
      },
      {
        ALT: () => {
          const token = this.CONSUME(False);
          return this.ACTION(() => ({ kind: 'boolean' as const, value: false, at: positionOf(token) }));
        },
      },
      {
        ALT: () => {
          const token = this.CONSUME(Null);
          return this.ACTION(() => ({ kind: 'null' as const, at: positionOf(token) }));
        },
      },
    ]);
  });
}

function junction(kind: 'and' | 'or', items: SyntaxExpression[]): SyntaxExpression {
  if (items.length === 1) return items[0]!;
  return { kind, items, at: items[0]!.at };
}

/** One parser for the process: Chevrotain's analysis of the grammar is done once, and a parse is synchronous. */
const parser = new SyntaxParser();

export type SyntaxResult = { ok: true; tree: SyntaxExpression } | { ok: false; error: DefinitionError };

const TYPOGRAPHIC_QUOTES = new Set(['‘', '’', '“', '”']);

function lexerMessage(text: string, offset: number): string {
  const char = text.charAt(offset);
  if (char === "'" || char === '"') return `unterminated string: no closing ${char}`;
  if (TYPOGRAPHIC_QUOTES.has(char)) return `unexpected ${char}: quote strings with ' or "`;
  const code = text.codePointAt(offset) ?? 0;
  const shown =
    code < 0x20 ? `U+${code.toString(16).toUpperCase().padStart(4, '0')}` : String.fromCodePoint(code);
  return `unexpected character '${shown}'`;
}

/**
 * The caps of `LIMITS` that bound the parser's recursion: parentheses open at once, and prefix
 * operators (each NOT, ANY or ALL is one level of `unary`).
 */
function nestingProblem(tokens: IToken[]): DefinitionError | null {
  let depth = 0;
  let prefixes = 0;
  for (const token of tokens) {
    if (token.tokenType === LParen) {
      depth += 1;
      if (depth > LIMITS.maxParenDepth) {
        return definitionError(
          positionOf(token),
          `parentheses nest deeper than ${LIMITS.maxParenDepth} levels`,
        );
      }
    } else if (token.tokenType === RParen) {
      depth = Math.max(0, depth - 1);
    } else if (token.tokenType === Not || token.tokenType === Any || token.tokenType === All) {
      prefixes += 1;
      if (prefixes > LIMITS.maxPrefixOperators) {
        return definitionError(
          positionOf(token),
          `more than ${LIMITS.maxPrefixOperators} NOT, ANY and ALL operators`,
        );
      }
    }
  }
  return null;
}

/** The call a missing `)` should close: the innermost `(` still open before `at`. */
function unclosedCall(tokens: IToken[], at: IToken): string | null {
  const open: number[] = [];
  for (let i = 0; i < tokens.length; i += 1) {
    const token = tokens[i]!;
    if (token === at || token.startOffset >= at.startOffset) break;
    if (token.tokenType === LParen) open.push(i);
    else if (token.tokenType === RParen) open.pop();
  }
  const index = open.at(-1);
  if (index === undefined) return null;
  const paren = tokens[index]!;
  const before = tokens[index - 1];
  const where = `line ${paren.startLine ?? 1}, column ${paren.startColumn ?? 1}`;
  if (before?.tokenType === Identifier) return `to close ${before.image}( at ${where}`;
  return `to close the '(' at ${where}`;
}

function parserError(text: string, tokens: IToken[], error: IRecognitionException): DefinitionError {
  const token = error.token;
  const at =
    token.tokenType === EOF || Number.isNaN(token.startOffset)
      ? positionAt(text, text.length)
      : positionOf(token);
  let message = error.message;
  if (message.startsWith("expected ')'")) {
    const context = unclosedCall(tokens, token);
    if (context !== null) message = message.replace("expected ')'", `expected ')' ${context}`);
  }
  return definitionError(at, message);
}

/** Lexes and parses `text` into a syntax tree, or says what is wrong and where (never throws). */
export function parseSyntax(text: string): SyntaxResult {
  if (text.length > LIMITS.maxChars) {
    return {
      ok: false,
      error: definitionError(
        positionAt(text, LIMITS.maxChars),
        `the definition is ${text.length} characters long; at most ${LIMITS.maxChars} are allowed`,
      ),
    };
  }
  const lexed = lexer.tokenize(text);
  const lexError = lexed.errors[0];
  if (lexError !== undefined) {
    const at = { offset: lexError.offset, line: lexError.line ?? 1, column: lexError.column ?? 1 };
    return { ok: false, error: definitionError(at, lexerMessage(text, lexError.offset)) };
  }
  const tokens = lexed.tokens;
  if (tokens.length === 0) {
    return { ok: false, error: definitionError(positionAt(text, 0), 'the definition is empty') };
  }
  const nesting = nestingProblem(tokens);
  if (nesting !== null) return { ok: false, error: nesting };
  if (tokens.length > LIMITS.maxTokens) {
    return {
      ok: false,
      error: definitionError(
        positionOf(tokens[LIMITS.maxTokens]!),
        `the definition has more than ${LIMITS.maxTokens} tokens`,
      ),
    };
  }
  parser.input = tokens;
  const tree = parser.expression();
  const parseError = parser.errors[0];
  if (parseError !== undefined) return { ok: false, error: parserError(text, tokens, parseError) };
  return { ok: true, tree };
}
