import { type ReadonlyPartialJSONObject, Token } from '@lumino/coreutils';
import type { ISignal } from '@lumino/signaling';

import type { CodeCrafterClient } from './api';
import type { AuthManager } from './auth';
import type { IKernelStatus, SessionRole } from './models';

/**
 * The CodeCrafter connection shared by every plugin of the extension: one API
 * client and one sign-in per JupyterLab page.
 */
export interface ICodeCrafter {
  /** The REST API, authenticated as the signed-in user. */
  readonly client: CodeCrafterClient;
  /** Who is signed in; sign in, register, sign out. */
  readonly auth: AuthManager;
}

export const ICodeCrafter = new Token<ICodeCrafter>(
  'jupyter-codecrafter:ICodeCrafter',
  'The CodeCrafter API client and the sign-in of this page.'
);

/**
 * A control message of a session room (y-websocket message type 10): at least
 * a `type`; see the `is…Message` guards in `control.ts` for the known ones.
 */
export interface IControlMessage extends ReadonlyPartialJSONObject {
  readonly type: string;
}

/**
 * The session documents open in this page: notebooks and files on the
 * CodeCrafter drive, each bound to its session's room.
 */
export interface ISessionDocuments {
  /** Every control message of every open session room, as it arrives. */
  readonly controlMessage: ISignal<
    ISessionDocuments,
    ISessionDocuments.IControlArgs
  >;
  /** Whether a path (with its drive prefix) is a session document. */
  isSessionPath(path: string): boolean;
  /** The session id of a session document's path; null for any other path. */
  sessionIdOf(path: string): string | null;
  /**
   * The last known state of a session's sandbox kernel (read when its
   * document opened, then from the room); null when it is not open here.
   */
  kernelStatus(sessionId: string): IKernelStatus | null;
  /**
   * The user's role in an open session, as the room last said; null when
   * it is not open here or the user has no role (a public session).
   */
  role(sessionId: string): SessionRole | null;
}

export namespace ISessionDocuments {
  export interface IControlArgs {
    readonly sessionId: string;
    readonly message: IControlMessage;
  }
}

export const ISessionDocuments = new Token<ISessionDocuments>(
  'jupyter-codecrafter:ISessionDocuments',
  'The CodeCrafter session documents open in this page, their rooms and sandbox kernels.'
);
