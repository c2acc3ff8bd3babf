import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { Fetcher, FetcherResponse } from '@apollo/utils.fetcher';
import { AppError } from '@bth/platform/errors';
import { IDENTITY_HEADER, REQUEST_ID_HEADER } from '@bth/platform/identity';
import type { Logger } from '@bth/platform/logger';
import { DEADLINE_HEADER } from '@bth/platform/replicas';

/** What the data source reads from the router's per-request context. */
export interface SubgraphCallContext {
  requestId?: string;
  /** The signed identity assertion subgraphs verify; absent for anonymous callers. */
  assertion?: string | null;
  logger?: Logger;
  /** Epoch ms: the client request's arrival + the router's budget; the replica pool caps every attempt by it. */
  deadline?: number;
}

/** What a data source answers the gateway (data, errors, extensions). */
type SubgraphResponse = Awaited<ReturnType<RemoteGraphQLDataSource['process']>>;

const unavailable = (name: string) =>
  new AppError('UPSTREAM_UNAVAILABLE', `The ${name} service is unavailable right now; try again shortly`, { service: name });

const isJson = (contentType: string | null) => !!contentType && /^application\/(graphql-response\+)?json\b/.test(contentType);

/** A GraphQL response body: an object with `errors` (a non-empty list) or a `data` member. */
function isGraphQLResponse(text: string): boolean {
  try {
    const body = JSON.parse(text) as unknown;
    if (!body || typeof body !== 'object' || Array.isArray(body)) return false;
    const { data, errors } = body as { data?: unknown; errors?: unknown };
    return (Array.isArray(errors) && errors.length > 0) || data !== undefined;
  } catch {
    return false;
  }
}

/**
 * Keeps a subgraph's own errors whatever HTTP status carried them. The gateway turns any non-2xx
 * answer into `"<status>: <statusText>"` with `extensions.response = { url, status, body }`
 * (RemoteGraphQLDataSource.errorFromResponse), which loses the code, reason, retryable and
 * fieldErrors and shows the subgraph's URL. A non-2xx answer whose body is a GraphQL response is
 * handed on as a 200 one, so the gateway processes its data and errors as usual; any other non-2xx
 * answer (a proxy's HTML page, an empty 502) fails the call, which `SubgraphDataSource` logs and
 * answers as UPSTREAM_UNAVAILABLE without internals. The
 * router's status plugin sets the client's status from the errors afterwards.
 */
export function graphQLAnswersOnly(name: string, fetcher: Fetcher): Fetcher {
  return async (url, init) => {
    const response = await fetcher(url, init);
    if (response.ok) return response;
    // Read in full either way: an unread body would keep the pooled connection busy.
    const text = await response.text();
    if (isJson(response.headers.get('content-type')) && isGraphQLResponse(text)) {
      return new Response(text, { status: 200, headers: { 'content-type': 'application/json' } }) as unknown as FetcherResponse;
    }
    // Not for the client: the data source logs it and answers UPSTREAM_UNAVAILABLE.
    throw new Error(`HTTP ${response.status} without a GraphQL response from ${name}: ${text.slice(0, 200)}`);
  };
}

/**
 * The router's call to one subgraph: passes the request id and the identity assertion, and makes
 * every failure of the call a coded, retryable UPSTREAM_UNAVAILABLE (the replica pool already
 * throws one when no replica answers; a body that is no GraphQL response becomes one here).
 */
export class SubgraphDataSource<TContext extends SubgraphCallContext> extends RemoteGraphQLDataSource<TContext> {
  private readonly subgraph: string;

  constructor(name: string, fetcher: Fetcher) {
    super({ fetcher: graphQLAnswersOnly(name, fetcher) });
    this.subgraph = name;
  }

  /**
   * The gateway's own process() does this call with a node-fetch Headers, a node-fetch Request it
   * builds only to hand to error hooks, and a Cache-Control parse per call (no subgraph sends cache
   * hints, and the router sets no HTTP caching). Here the same request goes out with plain objects:
   * the body the gateway would send (the operation text first, which replicas.ts reads to tell a
   * mutation), the request id, the identity assertion and the client request's deadline.
   */
  override async process({ request, context }: GraphQLDataSourceProcessOptions<TContext>): Promise<SubgraphResponse> {
    if (!request.query) throw new Error('Missing query');
    const headers: Record<string, string> = {};
    // Only set when the gateway asks a subgraph for traces (usage reporting, which the router never runs).
    if (request.http?.headers) for (const [name, value] of request.http.headers) headers[name] = value;
    headers['content-type'] = 'application/json';
    if (context.requestId) headers[REQUEST_ID_HEADER] = context.requestId;
    if (context.assertion) headers[IDENTITY_HEADER] = context.assertion;
    if (context.deadline) headers[DEADLINE_HEADER] = String(context.deadline);
    const body = JSON.stringify({
      query: request.query,
      variables: request.variables,
      operationName: request.operationName,
      extensions: request.extensions,
    });
    let response: FetcherResponse | undefined;
    try {
      // The replica pool behind the fetcher picks the URL (the data source is built without one).
      response = await this.fetcher(this.subgraph, { method: 'POST', headers, body });
      // graphQLAnswersOnly has already thrown for every non-2xx answer that is no GraphQL response.
      if (!response.ok) throw new Error(`HTTP ${response.status} from ${this.subgraph}`);
      const parsed: unknown = isJson(response.headers.get('content-type')) ? await response.json() : await response.text();
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error(`Expected a JSON object from ${this.subgraph}`);
      return parsed as SubgraphResponse;
    } catch (error) {
      this.didEncounterError(error as Error, undefined, response, context as TContext);
      throw error;
    }
  }

  /** Called by the gateway with whatever broke the call (an AppError from the fetcher, a body that is not JSON …). */
  override didEncounterError(error: Error, _request?: unknown, _response?: unknown, context?: TContext): void {
    if (error instanceof AppError) throw error;
    context?.logger?.warn('subgraph answer unusable', { subgraph: this.subgraph, error });
    throw unavailable(this.subgraph);
  }
}
