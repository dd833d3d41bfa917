import { Signal } from '@lumino/signaling';
import { describe, expect, it, vi } from 'vitest';

import type { AuthManager, AuthState } from '../src/auth';
import { CodeCrafterError } from '../src/errors';
import {
  acceptInvite,
  inviteCodeOf,
  isFinalFailure,
  isInviteCode,
  joinFailure,
  SIGN_IN_NOTE,
  whenSignedIn,
  withoutInvite
} from '../src/invite';
import type { IJoinReply, IUser } from '../src/models';
import { OPEN_SESSION_COMMAND } from '../src/panel/actions';
import { PanelModel } from '../src/panel/model';
import type { ICodeCrafter } from '../src/tokens';
import { session } from './fakes';

// The panel's dialogs need a DOM to load; the invite flow opens none.
vi.mock('@jupyterlab/apputils', () => ({}));

const LAB = 'http://jupyter.test/base/lab';

const ada: IUser = {
  id: 'u1',
  username: 'ada',
  email: 'ada@example.org',
  display_name: 'Ada',
  role: 'user',
  created_at: '2025-01-01T00:00:00Z'
};

function gone(message: string): CodeCrafterError {
  return new CodeCrafterError({ status: 410, code: 'gone', message });
}

describe('invite URLs', () => {
  it('finds the code among the other query parameters', () => {
    expect(inviteCodeOf(`${LAB}?codecrafter-invite=Ab_9-x`)).toBe('Ab_9-x');
    expect(
      inviteCodeOf(`${LAB}?token=t&codecrafter-invite=abc&reset#cell`)
    ).toBe('abc');
  });

  it('has no code when the parameter is missing, and none in a URL it cannot read', () => {
    expect(inviteCodeOf(`${LAB}?token=t`)).toBeNull();
    expect(inviteCodeOf('not a url')).toBeNull();
  });

  it('gives back a damaged code as it is, for the check to refuse it', () => {
    const code = inviteCodeOf(`${LAB}?codecrafter-invite=ab%20c!`);
    expect(code).toBe('ab c!');
    expect(isInviteCode(code ?? '')).toBe(false);
    expect(isInviteCode('')).toBe(false);
    expect(isInviteCode('x'.repeat(65))).toBe(false);
    expect(isInviteCode('x'.repeat(64))).toBe(true);
  });

  it('removes only the invite parameter, keeping the path, other parameters and the hash', () => {
    expect(withoutInvite(`${LAB}/tree/a.ipynb?codecrafter-invite=abc`)).toBe(
      `${LAB}/tree/a.ipynb`
    );
    expect(withoutInvite(`${LAB}?x=1&codecrafter-invite=abc&y=2#h`)).toBe(
      `${LAB}?x=1&y=2#h`
    );
    const plain = `${LAB}?x=a%20b`;
    expect(withoutInvite(plain)).toBe(plain);
  });
});

describe('join failures', () => {
  it('a spent code (410) gives the server’s reason and what to do', () => {
    const error = gone('This invite has expired.');
    expect(joinFailure(error)).toBe(
      'This invite has expired. Ask whoever shared the link for a new one.'
    );
    expect(isFinalFailure(error)).toBe(true);
  });

  it('an unknown code (404) says the link is not valid', () => {
    const error = new CodeCrafterError({
      status: 404,
      code: 'not_found',
      message: 'No such invite.'
    });
    expect(joinFailure(error)).toMatch(/^This invite link is not valid/);
    expect(isFinalFailure(error)).toBe(true);
  });

  it('a server or network failure suggests a reload, and keeps the code for it', () => {
    const error = CodeCrafterError.fromNetworkError(new Error('offline'));
    expect(joinFailure(error)).toMatch(/Reload the page to try again\.$/);
    expect(isFinalFailure(error)).toBe(false);
  });
});

/** An AuthManager as far as the invite flow reads it. */
class FakeAuth {
  state: AuthState = { status: 'signed-out', reason: null };
  readonly stateChanged = new Signal<this, AuthState>(this);

  get user(): IUser | null {
    return this.state.status === 'signed-in' ? this.state.user : null;
  }

  signIn(user: IUser): void {
    this.state = { status: 'signed-in', user };
    this.stateChanged.emit(this.state);
  }
}

function setUp(join: () => Promise<IJoinReply>, withOpen = true) {
  const auth = new FakeAuth();
  const client = { join: vi.fn(join) };
  const codecrafter = {
    auth: auth as unknown as AuthManager,
    client
  } as unknown as ICodeCrafter;
  const open = vi.fn();
  const commands = {
    hasCommand: (id: string) => withOpen && id === OPEN_SESSION_COMMAND,
    execute: open
  };
  const panel = new PanelModel();
  const options = {
    code: 'abc',
    codecrafter,
    commands,
    panel,
    showPanel: vi.fn(),
    forget: vi.fn()
  };
  return { auth, client, open, panel, options };
}

describe('acceptInvite', () => {
  it('asks to sign in, then joins, selects and opens the session, and forgets the code', async () => {
    const joined = session({ id: 's9', title: 'Lab 9', role: 'write' });
    const { auth, client, open, panel, options } = setUp(() =>
      Promise.resolve({ session: joined, role: 'write' })
    );

    const done = acceptInvite(options);
    await Promise.resolve();
    expect(options.showPanel).toHaveBeenCalled();
    expect(panel.notice).toEqual({ kind: 'info', text: SIGN_IN_NOTE });
    expect(client.join).not.toHaveBeenCalled();

    auth.signIn(ada);
    await done;
    expect(client.join).toHaveBeenCalledWith('abc');
    expect(options.forget).toHaveBeenCalled();
    expect(panel.selected).toBe(joined);
    expect(panel.listRequest?.scope).toBe('shared');
    expect(open).toHaveBeenCalledWith(OPEN_SESSION_COMMAND, {
      id: 's9',
      kind: 'notebook',
      title: 'Lab 9'
    });
    expect(panel.notice?.text).toBe('You joined “Lab 9” as write.');
  });

  it('joins at once when already signed in, without the sign-in note', async () => {
    const { auth, client, panel, options } = setUp(() =>
      Promise.resolve({ session: session(), role: 'read' })
    );
    auth.signIn(ada);
    const notices: (string | undefined)[] = [];
    panel.changed.connect(() => notices.push(panel.notice?.text));

    await acceptInvite(options);
    expect(client.join).toHaveBeenCalledTimes(1);
    expect(notices).not.toContain(SIGN_IN_NOTE);
  });

  it('shows a spent code’s reason and forgets the code', async () => {
    const { auth, open, panel, options } = setUp(() =>
      Promise.reject(gone('This invite was revoked.'))
    );
    auth.signIn(ada);

    await acceptInvite(options);
    expect(panel.notice).toEqual({
      kind: 'error',
      text: 'This invite was revoked. Ask whoever shared the link for a new one.'
    });
    expect(options.forget).toHaveBeenCalled();
    expect(panel.selected).toBeNull();
    expect(open).not.toHaveBeenCalled();
  });

  it('keeps the code in the URL when the server could not be reached', async () => {
    const { auth, panel, options } = setUp(() =>
      Promise.reject(CodeCrafterError.fromNetworkError(new Error('down')))
    );
    auth.signIn(ada);

    await acceptInvite(options);
    expect(panel.notice?.kind).toBe('error');
    expect(options.forget).not.toHaveBeenCalled();
  });

  it('refuses a malformed code without asking the server', async () => {
    const { client, panel, options } = setUp(() =>
      Promise.resolve({ session: session(), role: 'read' })
    );

    await acceptInvite({ ...options, code: 'no spaces' });
    expect(client.join).not.toHaveBeenCalled();
    expect(panel.notice?.text).toMatch(/^This invite link is not valid/);
    expect(options.forget).toHaveBeenCalled();
  });

  it('says the session joined cannot be opened when nothing provides the open command', async () => {
    const { auth, panel, options } = setUp(
      () => Promise.resolve({ session: session(), role: 'write' }),
      false
    );
    auth.signIn(ada);

    await acceptInvite(options);
    expect(panel.notice?.text).toMatch(
      /^You joined “Lesson 1” as write\. Opening sessions is not available/
    );
  });
});

describe('whenSignedIn', () => {
  it('resolves at once when signed in, else on the first sign-in (not on a sign-out)', async () => {
    const auth = new FakeAuth();
    const waiting = whenSignedIn(auth as unknown as AuthManager);
    const seen = vi.fn();
    void waiting.then(seen);
    auth.stateChanged.emit({ status: 'signed-out', reason: 'expired' });
    await Promise.resolve();
    expect(seen).not.toHaveBeenCalled();
    auth.signIn(ada);
    expect(await waiting).toBe(ada);
    expect(await whenSignedIn(auth as unknown as AuthManager)).toBe(ada);
  });
});
