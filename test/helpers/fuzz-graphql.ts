import { type GraphQLObjectType, type GraphQLOutputType, type GraphQLSchema, getNamedType, isAbstractType, isLeafType, isNonNullType, isObjectType } from 'graphql';
import { type Field, type Shape, shapeOfGraphQL, type Table } from './fuzz-shapes.ts';

export interface MutationUnderTest {
  field: string;
  /** One operation selecting every field of every payload member, so that output serialisation is exercised too. */
  document: string;
  /** The arguments as one object: the variables. */
  variables: Shape;
}

/** The table a mutation's bare `id` names, from the domain word in its name. */
function tableOfMutation(name: string): Table | null {
  if (/Source/.test(name)) return 'feedback_source';
  if (/Person/.test(name)) return 'person';
  if (/Record/.test(name)) return 'feedback_record';
  return null;
}

function selection(schema: GraphQLSchema, type: GraphQLOutputType, depth: number): string {
  const named = getNamedType(type);
  if (isLeafType(named)) return '';
  if (depth === 0) return '{ __typename }';
  if (isAbstractType(named)) {
    const members = schema.getPossibleTypes(named).map((member) => `... on ${member.name} ${objectSelection(schema, member, depth)}`);
    return `{ __typename ${members.join(' ')} }`;
  }
  return isObjectType(named) ? objectSelection(schema, named, depth) : '{ __typename }';
}

function objectSelection(schema: GraphQLSchema, type: GraphQLObjectType, depth: number): string {
  // Fields with arguments are connections (records of a source or person): queries, not mutation output.
  const fields = Object.values(type.getFields())
    .filter((field) => field.args.length === 0)
    .map((field) => (isLeafType(getNamedType(field.type)) ? field.name : `${field.name} ${selection(schema, field.type, depth - 1)}`));
  return `{ __typename ${fields.join(' ')} }`;
}

/** Every field of the schema's Mutation type, with an operation and the shape of its variables. */
export function mutationsOf(schema: GraphQLSchema, depth = 6): MutationUnderTest[] {
  const mutation = schema.getMutationType();
  if (!mutation) return [];
  return Object.values(mutation.getFields()).map((field) => {
    const table = tableOfMutation(field.name);
    const variables: Record<string, Field> = {};
    for (const arg of field.args) {
      variables[arg.name] = { shape: shapeOfGraphQL(arg.type, arg.name, table), required: isNonNullType(arg.type) && arg.defaultValue === undefined, nullable: !isNonNullType(arg.type) };
    }
    const declarations = field.args.map((arg) => `$${arg.name}: ${String(arg.type)}`).join(', ');
    const argumentList = field.args.map((arg) => `${arg.name}: $${arg.name}`).join(', ');
    const document = `mutation Fuzz${declarations ? `(${declarations})` : ''} { ${field.name}${argumentList ? `(${argumentList})` : ''} ${selection(schema, field.type, depth)} }`;
    return { field: field.name, document, variables: { kind: 'object', fields: variables } };
  });
}
