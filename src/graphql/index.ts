// GraphQL protection (docs/adr/0006-graphql-protection.md, docs/adr/0015-graphql-armor.md): the Apollo
// Server options that limit what an operation may ask for and what it may get back, give every refusal a
// code, and turn introspection and the landing page on or off.
import type { ApolloServerOptions, BaseContext } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import type { GraphQLConfig } from '../config.ts';
import { costLimitPlugin } from './cost.ts';
import { landingPagePlugin } from './landing-page.ts';
import { documentLimitRules, tokenLimit } from './limits.ts';
import { operationsPlugin } from './operations.ts';
import { responseSizePlugin } from './response-size.ts';

export { landingPageHtml, landingPagePlugin, SCHEMA_QUERY } from './landing-page.ts';
export {
  costLimitPlugin,
  introspectionPrice,
  operationCost,
  FIELD_PRICES,
  LIST_MULTIPLIER,
  MAX_PAGE_SIZE,
  type Prices,
} from './cost.ts';
export {
  documentLimitRules,
  exceedsTokens,
  refusal,
  tokenLimit,
  REFUSAL_CODES,
  type DocumentLimits,
  type RefusalCode,
} from './limits.ts';
export { operationsPlugin } from './operations.ts';
export { jsonBytes, responseSizePlugin } from './response-size.ts';

export type ProtectionOptions = Required<
  Pick<ApolloServerOptions<BaseContext>, 'introspection' | 'validationRules' | 'parseOptions' | 'plugins'>
>;

/** Spread into the ApolloServer options; add further plugins after `plugins`. */
export function graphqlProtection(config: GraphQLConfig): ProtectionOptions {
  const tokens = tokenLimit(config.maxTokens);
  return {
    introspection: config.introspection,
    // Tokens are counted while parsing, so an over-long document is abandoned before it is built.
    parseOptions: tokens.parseOptions,
    // Aliases, directives and depth need only the document.
    validationRules: documentLimitRules(config),
    plugins: [
      tokens.plugin,
      operationsPlugin(),
      // Cost needs the request's variables, which validation rules never see, so it is a plugin that
      // runs once the operation is resolved.
      costLimitPlugin(config.maxCost),
      responseSizePlugin(config.maxResponseBytes),
      config.landingPage ? landingPagePlugin() : ApolloServerPluginLandingPageDisabled(),
    ],
  };
}
