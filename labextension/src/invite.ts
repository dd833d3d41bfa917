/**
 * Invite URLs: `<lab>?codecrafter-invite=<code>` (what `POST
 * /sessions/{id}/invites` answers) signs the user in if needed, joins the
 * session, opens it, and takes the code out of the address bar.
 */
import type { CommandRegistry } from '@lumino/commands';

import type { AuthManager } from './auth';
import { CodeCrafterError } from './errors';
import type { IUser } from './models';
import {
  describeError,
  OPEN_SESSION_COMMAND,
  OPEN_UNAVAILABLE
} from './panel/actions';
import type { PanelModel } from './panel/model';
import type { ICodeCrafter } from './tokens';

/** The query parameter of invite URLs (jupyter_codecrafter/api/invites.py). */
export const INVITE_PARAMETER = 'codecrafter-invite';

export const SIGN_IN_NOTE =
  'Sign in to join the session you were invited to, or create an account.';

// The server's own pattern for codes.
const CODE = /^[A-Za-z0-9_-]{1,64}$/;

/** The invite code a URL carries (as given, maybe malformed); null when none. */
export function inviteCodeOf(href: string): string | null {
  let url: URL;
  try {
    url = new URL(href);
  } catch {
    return null;
  }
  const code = url.searchParams.get(INVITE_PARAMETER);
  return code === null ? null : code.trim();
}

export function isInviteCode(code: string): boolean {
  return CODE.test(code);
}

/** The same URL without its invite code; every other part is kept. */
export function withoutInvite(href: string): string {
  const url = new URL(href);
  if (!url.searchParams.has(INVITE_PARAMETER)) {
    return href;
  }
  url.searchParams.delete(INVITE_PARAMETER);
  return url.toString();
}

/** Why joining failed, in words that say what to do. */
export function joinFailure(error: unknown): string {
  if (error instanceof CodeCrafterError) {
    if (error.status === 410) {
      // The server says which: expired, used up or revoked.
      return `${error.message} Ask whoever shared the link for a new one.`;
    }
    if (error.status === 404 || error.status === 422) {
      return 'This invite link is not valid: check that it was copied whole, or ask for a new one.';
    }
  }
  return `Could not join the session: ${describeError(error)} Reload the page to try again.`;
}

/** Whether the answer is final, so the code can leave the URL (a reload would not help). */
export function isFinalFailure(error: unknown): boolean {
  return (
    error instanceof CodeCrafterError && [404, 410, 422].includes(error.status)
  );
}

/** Resolves with the user once someone is signed in (at once if already). */
export function whenSignedIn(auth: AuthManager): Promise<IUser> {
  const user = auth.user;
  if (user !== null) {
    return Promise.resolve(user);
  }
  return new Promise(resolve => {
    const onChange = (): void => {
      if (auth.user !== null) {
        auth.stateChanged.disconnect(onChange);
        resolve(auth.user);
      }
    };
    auth.stateChanged.connect(onChange);
  });
}

export interface IAcceptInviteOptions {
  code: string;
  codecrafter: ICodeCrafter;
  commands: Pick<CommandRegistry, 'hasCommand' | 'execute'>;
  /** Where the panel shows what happens, and selects the joined session. */
  panel: PanelModel;
  /** Bring the panel into view. */
  showPanel: () => void;
  /** Take the code out of the page's URL. */
  forget: () => void;
}

/**
 * Join with an invite code: wait for a sign-in (the panel asks for one),
 * join, select and open the session. Every outcome is a panel notice.
 */
export async function acceptInvite(
  options: IAcceptInviteOptions
): Promise<void> {
  const { code, codecrafter, panel } = options;
  options.showPanel();
  if (!isInviteCode(code)) {
    options.forget();
    panel.notice = { kind: 'error', text: joinFailure(invalidCode()) };
    return;
  }
  if (codecrafter.auth.user === null) {
    panel.notice = { kind: 'info', text: SIGN_IN_NOTE };
  }
  await whenSignedIn(codecrafter.auth);
  panel.notice = { kind: 'info', text: 'Joining the session…' };
  let joined;
  try {
    joined = await codecrafter.client.join(code);
  } catch (error) {
    if (isFinalFailure(error)) {
      options.forget();
    }
    panel.notice = { kind: 'error', text: joinFailure(error) };
    return;
  }
  options.forget();
  const { session, role } = joined;
  panel.showList(role === 'owner' ? 'mine' : 'shared');
  panel.select(session);
  const done = `You joined “${session.title}” as ${role}.`;
  if (!options.commands.hasCommand(OPEN_SESSION_COMMAND)) {
    panel.notice = { kind: 'info', text: `${done} ${OPEN_UNAVAILABLE}` };
    return;
  }
  panel.notice = { kind: 'info', text: done };
  try {
    const args = { id: session.id, kind: session.kind, title: session.title };
    await options.commands.execute(OPEN_SESSION_COMMAND, args);
  } catch (error) {
    const text = `${done} It could not be opened: ${describeError(error)}`;
    panel.notice = { kind: 'error', text };
  }
}

function invalidCode(): CodeCrafterError {
  return new CodeCrafterError({
    status: 422,
    code: 'invalid_invite',
    message: 'The invite code is malformed.'
  });
}
