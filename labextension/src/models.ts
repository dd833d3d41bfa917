/**
 * The JSON shapes of the CodeCrafter REST API, as the server's pydantic
 * schemas (jupyter_codecrafter/api/schemas) define them.
 */
import type { PartialJSONObject } from '@lumino/coreutils';

export interface IUser {
  id: string;
  username: string;
  email: string;
  display_name: string;
  role: string;
  created_at: string;
}

export interface IProfile extends IUser {
  preferences: PartialJSONObject;
  updated_at: string;
  last_login_at: string | null;
}

/**
 * What register, login and refresh answer. The refresh token is always null
 * here: the browser keeps it in an HttpOnly cookie that no script can read.
 */
export interface IAuthReply {
  user: IUser;
  access_token: string;
  refresh_token: string | null;
  token_type: 'Bearer';
  expires_in: number;
}

export interface IRegisterRequest {
  username: string;
  email: string;
  password: string;
}

export interface ILoginRequest {
  /** A username or an email. */
  login: string;
  password: string;
}

export type SessionKind = 'notebook' | 'file';
export type SessionRole = 'owner' | 'admin' | 'write' | 'read';
export type SessionScope = 'mine' | 'shared' | 'public';

export interface ISession {
  id: string;
  title: string;
  kind: SessionKind;
  language: string;
  /** The owner's user id. */
  owner: string;
  is_public: boolean;
  metadata: PartialJSONObject;
  created_at: string;
  updated_at: string;
  /** The caller's role; null on a public session they have no role in. */
  role: SessionRole | null;
}

export interface ISessionPage {
  sessions: ISession[];
  /** Pass back as `cursor` for the next page; null on the last one. */
  next_cursor: string | null;
}

export interface IListSessionsQuery {
  scope?: SessionScope;
  /** A case-insensitive substring of the title. */
  q?: string;
  /** 1 to 100; the server's default is 20. */
  limit?: number;
  cursor?: string;
}

export interface ICollaborator {
  user: { id: string; username: string; display_name: string };
  role: SessionRole;
  added_at: string;
}

export interface ISessionDetail {
  session: ISession;
  collaborators: ICollaborator[];
}

export interface ICreateSessionRequest {
  title: string;
  kind?: SessionKind;
  language?: string;
  /** nbformat JSON for a notebook, text for a file; blank when left out. */
  content?: PartialJSONObject | string;
  is_public?: boolean;
}

export interface IUpdateSessionRequest {
  title?: string;
  is_public?: boolean;
}

export interface IForkSessionRequest {
  /** Default: "<title> (copy)". */
  title?: string;
}

/** One entry of a 422 answer's details. */
export interface IFieldError {
  field: string | null;
  message: string;
}

/** The sandbox kernel of a notebook session; `none` until its first run. */
export type KernelState = 'none' | 'starting' | 'idle' | 'busy' | 'dead';

export interface IKernelStatus {
  state: KernelState;
  /** The worker the kernel lives on. */
  worker: string | null;
  started_at: string | null;
  last_activity_at: string | null;
}

export interface IExecuteCellRequest {
  session_id: string;
  /** The id of the notebook cell, where the server writes the outputs. */
  cell_id: string;
  code: string;
}

export type JobStatus =
  | 'queued'
  | 'running'
  | 'succeeded'
  | 'failed'
  | 'timed_out'
  | 'memory_exceeded'
  | 'output_exceeded'
  | 'cancelled'
  | 'internal_error';

/** A run, as the execute endpoints answer it (the fields the frontend reads). */
export interface IJob {
  id: string;
  kind: string;
  user_id: string;
  status: JobStatus;
  language: string;
  session_id: string | null;
  cell_id: string | null;
  execution_count: number | null;
  error: string | null;
  queued_at: string;
  started_at: string | null;
  finished_at: string | null;
}

/** A role that can be granted: every session has exactly one owner. */
export type GrantedRole = Exclude<SessionRole, 'owner'>;

export interface ICreateInviteRequest {
  role: GrantedRole;
  /** Seconds until the link stops working (60 to a year); null: never. */
  expires_in: number | null;
  /** How many people may join with it; null: unlimited. */
  max_uses: number | null;
}

export interface IInvite {
  code: string;
  /** JupyterLab's URL with `?codecrafter-invite=<code>`. */
  url: string;
  session_id: string;
  role: GrantedRole;
  created_at: string;
  expires_at: string | null;
  max_uses: number | null;
  uses: number;
  revoked: boolean;
}

export interface IJoinReply {
  session: ISession;
  /** The caller's role now: joining never lowers a role they had. */
  role: SessionRole;
}

/** Someone connected to a session's room right now, on any server instance. */
export interface IPresent {
  user_id: string;
  username: string;
  display_name: string;
  /** Their strongest role among their connections. */
  role: SessionRole;
  /** Their cursor colour, the same for everyone. */
  colour: string;
  /** How many tabs or windows they have the session open in. */
  connections: number;
}

export interface IJobHistoryQuery {
  /** 1 to 100; the server's default is 20. */
  limit?: number;
  cursor?: string;
}

/** A page of a session's runs, newest first. */
export interface IJobPage {
  jobs: IJob[];
  next_cursor: string | null;
}
