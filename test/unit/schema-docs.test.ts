// Every public element of the SDL has a description: that is the API documentation (STYLE.md §14).
import {
  buildSchema,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isIntrospectionType,
  isObjectType,
  isSpecifiedDirective,
  isSpecifiedScalarType,
  type GraphQLArgument,
} from 'graphql';
import { describe, expect, it } from 'vitest';
import { loadTypeDefs } from '../../src/app.ts';

/** Coordinates (`Type.field(arg:)`) of every element of our SDL without a description. */
function undocumented(): string[] {
  const schema = buildSchema(loadTypeDefs());
  const missing: string[] = [];
  const need = (coordinate: string, description: string | null | undefined) => {
    if (description === undefined || description === null || description.trim() === '') {
      missing.push(coordinate);
    }
  };
  const args = (owner: string, list: readonly GraphQLArgument[]) => {
    for (const arg of list) need(`${owner}(${arg.name}:)`, arg.description);
  };

  for (const type of Object.values(schema.getTypeMap())) {
    if (isIntrospectionType(type) || isSpecifiedScalarType(type)) continue;
    need(type.name, type.description);
    if (isObjectType(type) || isInterfaceType(type)) {
      for (const field of Object.values(type.getFields())) {
        need(`${type.name}.${field.name}`, field.description);
        args(`${type.name}.${field.name}`, field.args);
      }
    } else if (isInputObjectType(type)) {
      for (const field of Object.values(type.getFields()))
        need(`${type.name}.${field.name}`, field.description);
    } else if (isEnumType(type)) {
      for (const value of type.getValues()) need(`${type.name}.${value.name}`, value.description);
    }
  }
  for (const directive of schema.getDirectives()) {
    if (isSpecifiedDirective(directive)) continue;
    need(`@${directive.name}`, directive.description);
    args(`@${directive.name}`, directive.args);
  }
  return missing.sort();
}

describe('schema/*.graphql', () => {
  it('describes every type, field, argument, input field, enum value, scalar and directive', () => {
    const missing = undocumented();
    expect(missing, `Undocumented SDL elements:\n  ${missing.join('\n  ')}`).toEqual([]);
  });
});
