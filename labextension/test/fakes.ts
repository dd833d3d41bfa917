import { CodeCrafterClient } from '../src/api';
import type { IAuthReply, ISession } from '../src/models';

export const BASE_URL = 'http://jupyter.test/base/';
export const API = 'http://jupyter.test/base/api/codecrafter';

type Reply =
  Response | Error | ((request: Request) => Response | Promise<Response>);

/**
 * A test double for the browser's fetch: it records every Request that
 * ServerConnection.makeRequest builds, and answers each from a queue.
 */
export class FakeFetch {
  readonly requests: Request[] = [];
  private readonly _replies: Reply[] = [];

  reply(...replies: Reply[]): this {
    this._replies.push(...replies);
    return this;
  }

  get last(): Request {
    const request = this.requests.at(-1);
    if (!request) {
      throw new Error('No request was made');
    }
    return request;
  }

  readonly fetch = async (input: RequestInfo | URL): Promise<Response> => {
    const request = input instanceof Request ? input : new Request(input);
    this.requests.push(request);
    const next = this._replies.shift();
    if (next === undefined) {
      throw new Error(`Unexpected request: ${request.method} ${request.url}`);
    }
    if (next instanceof Error) {
      throw next;
    }
    return typeof next === 'function' ? next(request) : next;
  };
}

/** A client whose requests go to `fake`, with a Jupyter token it must not send. */
export function makeClient(fake: FakeFetch): CodeCrafterClient {
  return new CodeCrafterClient({
    serverSettings: {
      baseUrl: BASE_URL,
      fetch: fake.fetch,
      Request,
      Headers,
      token: 'jupyter-server-token'
    }
  });
}

export function json(
  status: number,
  body: unknown,
  headers: Record<string, string> = {}
): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json', ...headers }
  });
}

export function noContent(): Response {
  return new Response(null, { status: 204 });
}

export function apiError(
  status: number,
  code: string,
  message = code,
  details: unknown = null
): Response {
  return json(status, { error: { code, message, details } });
}

export function authReply(token: string, expiresIn = 900): Response {
  const body: IAuthReply = {
    user: {
      id: 'u1',
      username: 'ada',
      email: 'ada@example.org',
      display_name: 'Ada',
      role: 'user',
      created_at: '2025-01-01T00:00:00Z'
    },
    access_token: token,
    refresh_token: null,
    token_type: 'Bearer',
    expires_in: expiresIn
  };
  return json(200, body);
}

export function session(overrides: Partial<ISession> = {}): ISession {
  return {
    id: 's1',
    title: 'Lesson 1',
    kind: 'notebook',
    language: 'python',
    owner: 'u1',
    is_public: false,
    metadata: {},
    created_at: '2025-01-01T00:00:00Z',
    updated_at: '2025-01-01T00:00:00Z',
    role: 'owner',
    ...overrides
  };
}

/** The request's path and every query parameter it carries. */
export function target(request: Request): {
  path: string;
  query: Record<string, string>;
} {
  const url = new URL(request.url);
  return { path: url.pathname, query: Object.fromEntries(url.searchParams) };
}

export async function bodyOf(request: Request): Promise<unknown> {
  return JSON.parse(await request.clone().text());
}
