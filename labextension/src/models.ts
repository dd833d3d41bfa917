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
