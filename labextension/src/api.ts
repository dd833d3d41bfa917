import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { CodeCrafterError } from './errors';
import type {
  IAuthReply,
  ICreateSessionRequest,
  IExecuteCellRequest,
  IForkSessionRequest,
  IJob,
  IKernelStatus,
  IListSessionsQuery,
  ILoginRequest,
  IProfile,
  IRegisterRequest,
  ISession,
  ISessionDetail,
  ISessionPage,
  IUpdateSessionRequest
} from './models';
import type {
  GrantedRole,
  ICollaborator,
  ICreateInviteRequest,
  IInvite,
  IJobHistoryQuery,
  IJobPage,
  IJoinReply,
  IPresent
} from './models';

export { CodeCrafterError } from './errors';

/** Where the REST API lives, relative to Jupyter's base URL. */
export const API_PATH = 'api/codecrafter';

/** Whoever holds the access token: the client asks, never stores it. */
export interface IAccessTokenSource {
  /** The current access token; null when signed out. */
  readonly accessToken: string | null;
  /** Get a fresh access token; null when that failed (now signed out). */
  renew(): Promise<string | null>;
}

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

interface IRequest {
  method: Method;
  path: string;
  body?: unknown;
  query?: Record<string, string | number | undefined>;
  /** Send the access token (every endpoint but the token exchanges). */
  bearer: boolean;
}

/**
 * The CodeCrafter REST API: the only code in the extension that talks HTTP.
 */
export class CodeCrafterClient {
  constructor(options: CodeCrafterClient.IOptions = {}) {
    // makeRequest would append Jupyter's token to our Authorization header,
    // which then holds two credentials and the server reads neither.
    this.serverSettings = ServerConnection.makeSettings({
      ...options.serverSettings,
      token: ''
    });
  }

  readonly serverSettings: ServerConnection.ISettings;

  /** Set by the AuthManager; without it requests carry no Bearer token. */
  tokenSource: IAccessTokenSource | null = null;

  get baseUrl(): string {
    return URLExt.join(this.serverSettings.baseUrl, API_PATH);
  }

  /** Create an account; the refresh token goes into the HttpOnly cookie. */
  register(body: IRegisterRequest): Promise<IAuthReply> {
    const payload = { ...body, refresh_cookie: true };
    return this._request({
      method: 'POST',
      path: 'auth/register',
      body: payload,
      bearer: false
    });
  }

  login(body: ILoginRequest): Promise<IAuthReply> {
    const payload = { ...body, refresh_cookie: true };
    return this._request({
      method: 'POST',
      path: 'auth/login',
      body: payload,
      bearer: false
    });
  }

  /**
   * Spend the refresh cookie for a new access token (and a rotated cookie).
   * Rejects with 401 when nobody is signed in.
   */
  refresh(): Promise<IAuthReply> {
    return this._request({
      method: 'POST',
      path: 'auth/refresh',
      body: {},
      bearer: false
    });
  }

  /** Revoke the refresh cookie's sign-in and clear the cookie. */
  logout(): Promise<void> {
    return this._request({
      method: 'POST',
      path: 'auth/logout',
      body: {},
      bearer: false
    });
  }

  async profile(): Promise<IProfile> {
    const reply = await this._request<{ user: IProfile }>({
      method: 'GET',
      path: 'auth/profile',
      bearer: true
    });
    return reply.user;
  }

  listSessions(query: IListSessionsQuery = {}): Promise<ISessionPage> {
    return this._request({
      method: 'GET',
      path: 'sessions',
      query: { ...query },
      bearer: true
    });
  }

  async createSession(body: ICreateSessionRequest): Promise<ISession> {
    const reply = await this._request<{ session: ISession }>({
      method: 'POST',
      path: 'sessions',
      body,
      bearer: true
    });
    return reply.session;
  }

  getSession(id: string): Promise<ISessionDetail> {
    return this._request({
      method: 'GET',
      path: sessionPath(id),
      bearer: true
    });
  }

  /** Rename or publish (admin or owner). */
  async updateSession(
    id: string,
    changes: IUpdateSessionRequest
  ): Promise<ISession> {
    const reply = await this._request<{ session: ISession }>({
      method: 'PUT',
      path: sessionPath(id),
      body: changes,
      bearer: true
    });
    return reply.session;
  }

  /** Owner only; closes live connections and deletes the document. */
  deleteSession(id: string): Promise<void> {
    return this._request({
      method: 'DELETE',
      path: sessionPath(id),
      bearer: true
    });
  }

  /** A copy the caller owns, of a session they can read. */
  async forkSession(
    id: string,
    body: IForkSessionRequest = {}
  ): Promise<ISession> {
    const reply = await this._request<{ session: ISession }>({
      method: 'POST',
      path: `${sessionPath(id)}/fork`,
      body,
      bearer: true
    });
    return reply.session;
  }

  /** Queue a notebook cell in the session's sandbox kernel (202 with the job). */
  async execute(body: IExecuteCellRequest): Promise<IJob> {
    const reply = await this._request<{ job: IJob }>({
      method: 'POST',
      path: 'execute',
      body,
      bearer: true
    });
    return reply.job;
  }

  async jobStatus(jobId: string): Promise<IJob> {
    const reply = await this._request<{ job: IJob }>({
      method: 'GET',
      path: `execute/status/${encodeURIComponent(jobId)}`,
      bearer: true
    });
    return reply.job;
  }

  async cancelJob(jobId: string): Promise<IJob> {
    const reply = await this._request<{ job: IJob }>({
      method: 'POST',
      path: `execute/${encodeURIComponent(jobId)}/cancel`,
      body: {},
      bearer: true
    });
    return reply.job;
  }

  /** The session's sandbox kernel; `interrupt` and `restart` act on it (writers). */
  async kernel(
    id: string,
    action?: 'interrupt' | 'restart'
  ): Promise<IKernelStatus> {
    const path = `${sessionPath(id)}/kernel`;
    const reply = await this._request<{ kernel: IKernelStatus }>(
      action
        ? { method: 'POST', path: `${path}/${action}`, body: {}, bearer: true }
        : { method: 'GET', path, bearer: true }
    );
    return reply.kernel;
  }

  /** Where the session rooms' WebSockets live: `<this>/<session id>?token=`. */
  get roomsUrl(): string {
    return URLExt.join(this.serverSettings.wsUrl, API_PATH, 'rooms');
  }

  /** Everyone with a role on the session, the owner first. */
  async collaborators(id: string): Promise<ICollaborator[]> {
    const reply = await this._request<{ collaborators: ICollaborator[] }>({
      method: 'GET',
      path: `${sessionPath(id)}/collaborators`,
      bearer: true
    });
    return reply.collaborators;
  }

  /** Give a user (id or username) a role on the session (admin or owner). */
  async setCollaboratorRole(
    id: string,
    user: string,
    role: GrantedRole
  ): Promise<ICollaborator> {
    const reply = await this._request<{ collaborator: ICollaborator }>({
      method: 'PUT',
      path: `${sessionPath(id)}/collaborators/${encodeURIComponent(user)}`,
      body: { role },
      bearer: true
    });
    return reply.collaborator;
  }

  /** Take a user's role away (admin or owner; anyone may remove themselves). */
  removeCollaborator(id: string, user: string): Promise<void> {
    return this._request({
      method: 'DELETE',
      path: `${sessionPath(id)}/collaborators/${encodeURIComponent(user)}`,
      bearer: true
    });
  }

  createInvite(id: string, body: ICreateInviteRequest): Promise<IInvite> {
    return this._request({
      method: 'POST',
      path: `${sessionPath(id)}/invites`,
      body,
      bearer: true
    });
  }

  /** Every invite of the session, revoked and expired ones included. */
  async invites(id: string): Promise<IInvite[]> {
    const reply = await this._request<{ invites: IInvite[] }>({
      method: 'GET',
      path: `${sessionPath(id)}/invites`,
      bearer: true
    });
    return reply.invites;
  }

  revokeInvite(id: string, code: string): Promise<void> {
    return this._request({
      method: 'DELETE',
      path: `${sessionPath(id)}/invites/${encodeURIComponent(code)}`,
      bearer: true
    });
  }

  /** Join with an invite code: 410 when it expired, was used up or revoked. */
  join(code: string): Promise<IJoinReply> {
    return this._request({
      method: 'POST',
      path: 'sessions/join',
      body: { code },
      bearer: true
    });
  }

  /** Who is connected to the session right now. */
  async presence(id: string): Promise<IPresent[]> {
    const reply = await this._request<{ present: IPresent[] }>({
      method: 'GET',
      path: `${sessionPath(id)}/presence`,
      bearer: true
    });
    return reply.present;
  }

  /** The session's runs, newest first. */
  jobs(id: string, query: IJobHistoryQuery = {}): Promise<IJobPage> {
    return this._request({
      method: 'GET',
      path: `${sessionPath(id)}/jobs`,
      query: { ...query },
      bearer: true
    });
  }

  private async _request<T>(request: IRequest): Promise<T> {
    let response = await this._send(request);
    if (request.bearer && response.status === 401 && this.tokenSource) {
      // The token may have expired between its renewals (a sleeping laptop, a
      // throttled background tab): renew once and try again.
      const error = await CodeCrafterError.fromResponse(response);
      if (error.code !== 'token_expired' || !(await this.tokenSource.renew())) {
        throw error;
      }
      response = await this._send(request);
    }
    if (!response.ok) {
      throw await CodeCrafterError.fromResponse(response);
    }
    if (response.status === 204) {
      return undefined as T;
    }
    return (await response.json()) as T;
  }

  private async _send(request: IRequest): Promise<Response> {
    const headers: Record<string, string> = {};
    // makeRequest adds a timestamp parameter for cache 'no-store', and the
    // server refuses parameters it does not know; its answers say no-store.
    const init: RequestInit = {
      method: request.method,
      headers,
      cache: 'no-cache'
    };
    if (request.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(request.body);
    }
    const token = request.bearer ? this.tokenSource?.accessToken : null;
    if (token) {
      headers['Authorization'] = `Bearer ${token}`;
    }
    const url = this.baseUrl + '/' + request.path + queryString(request.query);
    try {
      return await ServerConnection.makeRequest(url, init, this.serverSettings);
    } catch (error) {
      throw CodeCrafterError.fromNetworkError(error);
    }
  }
}

export namespace CodeCrafterClient {
  export interface IOptions {
    /** Jupyter's connection settings (base URL, fetch); tests inject their own. */
    serverSettings?: Partial<ServerConnection.ISettings>;
  }
}

function sessionPath(id: string): string {
  return `sessions/${encodeURIComponent(id)}`;
}

function queryString(query: IRequest['query']): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query ?? {})) {
    if (value !== undefined && value !== '') {
      params.set(name, String(value));
    }
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}
