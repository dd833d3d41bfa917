import { Signal } from '@lumino/signaling';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import type { AuthState } from '../src/auth';
import { LOST_ACCESS, SessionDetailsModel } from '../src/details/model';
import { CodeCrafterError } from '../src/errors';
import type {
  ICollaborator,
  IKernelStatus,
  IPresent,
  ISessionDetail,
  IUser
} from '../src/models';
import type { ICodeCrafter, ISessionDocuments } from '../src/tokens';
import { session } from './fakes';

// The panel's dialogs need a DOM to load; the model opens none.
vi.mock('@jupyterlab/apputils', () => ({}));

const ada: IUser = {
  id: 'u1',
  username: 'ada',
  email: 'ada@example.org',
  display_name: 'Ada',
  role: 'user',
  created_at: '2025-01-01T00:00:00Z'
};

function member(id: string, role: ICollaborator['role']): ICollaborator {
  return {
    user: { id, username: id, display_name: '' },
    role,
    added_at: '2025-01-01T00:00:00Z'
  };
}

function present(id: string, role: IPresent['role']): IPresent {
  return {
    user_id: id,
    username: id,
    display_name: '',
    role,
    colour: '#123456',
    connections: 1
  };
}

const IDLE: IKernelStatus = {
  state: 'idle',
  worker: 'w1',
  started_at: null,
  last_activity_at: null
};

/** The client calls the model makes, answering like a small session. */
function fakeClient() {
  const detail: ISessionDetail = {
    session: session({ role: 'owner' }),
    collaborators: [member('u1', 'owner')]
  };
  return {
    detail,
    present: [present('u1', 'owner')],
    getSession: vi.fn(() => Promise.resolve(structuredClone(detail))),
    invites: vi.fn(() => Promise.resolve([])),
    presence: vi.fn(function (this: { present: IPresent[] }) {
      return Promise.resolve(this.present);
    }),
    kernel: vi.fn(() => Promise.resolve(IDLE)),
    jobs: vi.fn(() => Promise.resolve({ jobs: [], next_cursor: null }))
  };
}

class FakeAuth {
  state: AuthState = { status: 'signed-in', user: ada };
  readonly stateChanged = new Signal<this, AuthState>(this);

  signOut(): void {
    this.state = { status: 'signed-out', reason: null };
    this.stateChanged.emit(this.state);
  }
}

class FakeDocuments {
  readonly controlMessage = new Signal<
    ISessionDocuments,
    ISessionDocuments.IControlArgs
  >(this as unknown as ISessionDocuments);
  kernelStatus(): IKernelStatus | null {
    return null;
  }
}

function setUp(membersEvery = 3) {
  const client = fakeClient();
  const auth = new FakeAuth();
  const documents = new FakeDocuments();
  const codecrafter = { client, auth } as unknown as ICodeCrafter;
  const model = new SessionDetailsModel({
    codecrafter,
    user: ada,
    session: session(),
    documents: documents as unknown as ISessionDocuments,
    intervalMs: 3000,
    membersEvery
  });
  return { client, auth, documents, model };
}

describe('SessionDetailsModel refreshing', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  it('loads nothing until visible, then everything at once', async () => {
    const { client, model } = setUp();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(client.presence).not.toHaveBeenCalled();

    model.visible = true;
    await vi.advanceTimersByTimeAsync(0);
    expect(client.getSession).toHaveBeenCalledTimes(1);
    expect(client.invites).toHaveBeenCalledTimes(1);
    expect(model.state.collaborators).toEqual([member('u1', 'owner')]);
    expect(model.state.present).toEqual([present('u1', 'owner')]);
    expect(model.state.kernel).toEqual(IDLE);
    expect(model.state.history).toEqual({ jobs: [], cursor: null });
    expect(model.state.invites).toEqual([]);
  });

  it('polls presence, kernel and runs every 3 s and members every third time', async () => {
    const { client, model } = setUp();
    model.visible = true;
    await vi.advanceTimersByTimeAsync(3000 * 3);
    expect(client.presence).toHaveBeenCalledTimes(4);
    expect(client.kernel).toHaveBeenCalledTimes(4);
    expect(client.jobs).toHaveBeenCalledTimes(4);
    expect(client.getSession).toHaveBeenCalledTimes(2);
    expect(client.jobs).toHaveBeenLastCalledWith('s1', { limit: 20 });
  });

  it('stops while hidden and when the user signs out', async () => {
    const { client, auth, model } = setUp();
    model.visible = true;
    await vi.advanceTimersByTimeAsync(0);
    model.visible = false;
    await vi.advanceTimersByTimeAsync(30_000);
    expect(client.presence).toHaveBeenCalledTimes(1);

    model.visible = true;
    await vi.advanceTimersByTimeAsync(0);
    expect(client.presence).toHaveBeenCalledTimes(2);
    auth.signOut();
    await vi.advanceTimersByTimeAsync(30_000);
    expect(client.presence).toHaveBeenCalledTimes(2);
    expect(model.polling).toBe(false);
  });

  it('does not ask for invites without admin rights', async () => {
    const { client, model } = setUp();
    client.detail.session.role = 'write';
    model.visible = true;
    await vi.advanceTimersByTimeAsync(0);
    expect(client.invites).not.toHaveBeenCalled();
    expect(model.state.invites).toBeNull();
  });

  it('says the session is lost on a 404 and stops refreshing', async () => {
    const { client, model } = setUp();
    const lost = vi.fn();
    model.accessChanged.connect(lost);
    client.presence.mockImplementation(() =>
      Promise.reject(
        new CodeCrafterError({
          status: 404,
          code: 'not_found',
          message: 'No such session.'
        })
      )
    );
    model.visible = true;
    await vi.advanceTimersByTimeAsync(0);
    expect(model.state.lost).toBe(LOST_ACCESS);
    expect(lost).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(client.kernel).toHaveBeenCalledTimes(1);
  });

  it('shows other failures and keeps trying; the next success clears them', async () => {
    const { client, model } = setUp();
    client.kernel.mockImplementationOnce(() =>
      Promise.reject(CodeCrafterError.fromNetworkError(new Error('offline')))
    );
    model.visible = true;
    await vi.advanceTimersByTimeAsync(0);
    expect(model.state.error).toMatch(/^Could not refresh: Could not reach/);
    expect(model.state.present).not.toBeNull();
    await vi.advanceTimersByTimeAsync(3000);
    expect(model.state.error).toBeNull();
  });

  it('reloads the members at once when someone they do not list comes online, once', async () => {
    // No periodic member reload in the time this test looks at.
    const { client, model } = setUp(100);
    model.visible = true;
    await vi.advanceTimersByTimeAsync(0);
    expect(client.getSession).toHaveBeenCalledTimes(1);

    client.present = [present('u1', 'owner'), present('u2', 'write')];
    await vi.advanceTimersByTimeAsync(3000);
    expect(client.getSession).toHaveBeenCalledTimes(2);
    // Still a stranger (say, a server admin): no reload on every tick.
    await vi.advanceTimersByTimeAsync(3000);
    expect(client.getSession).toHaveBeenCalledTimes(2);
  });

  it('announces a change of your role found by a reload', async () => {
    const { client, model } = setUp();
    const changed = vi.fn();
    model.accessChanged.connect(changed);
    model.visible = true;
    await vi.advanceTimersByTimeAsync(0);
    expect(model.state.message).toBeNull();

    client.detail.session.role = 'read';
    model.refresh();
    await vi.advanceTimersByTimeAsync(0);
    expect(model.state.message?.text).toBe(
      'Your role on this session is now read.'
    );
    expect(changed).toHaveBeenCalledTimes(1);
  });
});

describe('SessionDetailsModel control messages', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  it("takes the kernel state from the session room's messages, ignoring other sessions", () => {
    const { documents, model } = setUp();
    const emit = (sessionId: string, state: string): void => {
      documents.controlMessage.emit({
        sessionId,
        message: {
          type: 'kernel',
          state,
          worker: 'w1',
          started_at: null,
          last_activity_at: null
        }
      });
    };
    emit('s1', 'busy');
    expect(model.state.kernel?.state).toBe('busy');
    emit('other', 'dead');
    expect(model.state.kernel?.state).toBe('busy');
  });

  it('applies a role message at once and reloads the members', async () => {
    const { client, documents, model } = setUp();
    model.visible = true;
    await vi.advanceTimersByTimeAsync(0);
    documents.controlMessage.emit({
      sessionId: 's1',
      message: { type: 'role', role: 'read' }
    });
    expect(model.state.session.role).toBe('read');
    expect(model.state.message?.text).toBe(
      'Your role on this session is now read.'
    );
    await vi.advanceTimersByTimeAsync(0);
    expect(client.getSession).toHaveBeenCalledTimes(2);
  });
});
