// GraphQL protection (docs/adr/0006-graphql-protection.md): the Apollo Server options that limit what an
// operation may ask for, and turn introspection and the landing page on or off.
import type { ApolloServerOptions, BaseContext } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import type { GraphQLConfig } from '../config.ts';
import { landingPagePlugin } from './landing-page.ts';
import { costLimitPlugin, depthLimitRule } from './limits.ts';

export { landingPageHtml, landingPagePlugin } from './landing-page.ts';
export {
  costLimitPlugin,
  costLimitRule,
  depthLimitRule,
  operationCost,
  operationDepth,
  LIST_MULTIPLIER,
  MAX_PAGE_SIZE,
  type LimitCode,
} from './limits.ts';

export type ProtectionOptions = Required<
  Pick<ApolloServerOptions<BaseContext>, 'introspection' | 'validationRules' | 'plugins'>
>;

/** Spread into the ApolloServer options; add further plugins after `plugins`. */
export function graphqlProtection(config: GraphQLConfig): ProtectionOptions {
  return {
    introspection: config.introspection,
    // Depth needs only the document. Cost needs the request's variables, which validation rules never
    // see, so it is a plugin that runs once the operation is resolved.
    validationRules: [depthLimitRule(config.maxDepth)],
    plugins: [
      costLimitPlugin(config.maxCost),
      config.landingPage ? landingPagePlugin() : ApolloServerPluginLandingPageDisabled(),
    ],
  };
}
