import { GraphQLError, GraphQLScalarType, Kind } from 'graphql';

/**
 * `DateTime`: ISO-8601 strings on the wire, `Date` inside resolvers. Declared by every subgraph.
 *
 * Input that is no ISO-8601 date-time (a literal or a variable alike) becomes an Invalid Date
 * instead of an error here: graphql-js reports a scalar's literal errors as document validation
 * errors (GRAPHQL_VALIDATION_FAILED, without the field), and the router passes DateTime through
 * opaque. The service's validation names the field in `fieldErrors` (`isValidDate`), so a bad date
 * is a BAD_USER_INPUT listed with every other broken rule of the same input.
 */
export const DateTimeScalar = new GraphQLScalarType<Date, string>({
  name: 'DateTime',
  description: 'An ISO-8601 date-time in UTC, such as 2026-11-25T14:00:00Z',
  serialize(value) {
    const date = value instanceof Date ? value : new Date(String(value));
    if (Number.isNaN(date.getTime())) throw new GraphQLError('DateTime cannot represent an invalid date');
    return date.toISOString();
  },
  parseValue(value) {
    return parseDate(value);
  },
  parseLiteral(ast) {
    return parseDate(ast.kind === Kind.STRING ? ast.value : undefined);
  },
});

/** An Invalid Date for anything that is not an ISO-8601 date-time string. */
function parseDate(value: unknown): Date {
  return typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(value) ? new Date(value) : new Date(NaN);
}

/** False for the Invalid Date `DateTimeScalar` makes of bad input. */
export const isValidDate = (value: Date): boolean => !Number.isNaN(value.getTime());

/** The message for a DateTime field that is not one. */
export const INVALID_DATE_MESSAGE = 'Use an ISO-8601 date-time such as 2026-11-25T14:00:00Z';
