import type { IDisposable } from '@lumino/disposable';
import { type ISignal, Signal } from '@lumino/signaling';

import { isKernelMessage, isRoleMessage, kernelStatusOf } from '../control';
import { CodeCrafterError } from '../errors';
import type {
  GrantedRole,
  ICollaborator,
  ICreateInviteRequest,
  IInvite,
  IJob,
  IKernelStatus,
  IPresent,
  ISession,
  ISessionDetail,
  IUser
} from '../models';
import { describeError, type IPanelMessage } from '../panel/actions';
import type { ICodeCrafter, ISessionDocuments } from '../tokens';
import { hasRole, NameBook } from './format';
import {
  appendHistory,
  type IHistory,
  refreshHistory,
  refreshLimit,
  replaceJob
} from './jobs';
import { Ticker } from './ticker';

export const LOST_ACCESS =
  'This session was deleted, or you no longer have access to it.';

/** Everything the details view shows; null parts are not loaded (or not allowed). */
export interface IDetailsState {
  readonly session: ISession;
  readonly collaborators: readonly ICollaborator[] | null;
  /** Only for admins and the owner. */
  readonly invites: readonly IInvite[] | null;
  readonly present: readonly IPresent[] | null;
  readonly kernel: IKernelStatus | null;
  readonly history: IHistory | null;
  readonly loadingMore: boolean;
  /** When the state last changed: relative times are counted from it. */
  readonly now: number;
  /** Why the session can no longer be shown; refreshing has stopped. */
  readonly lost: string | null;
  /** Why the last refresh failed; the next one that works clears it. */
  readonly error: string | null;
  /** What the last action, or a change of your role, has to say. */
  readonly message: IPanelMessage | null;
}

/**
 * The selected session's members, invites, presence, kernel and runs, kept
 * current while the view is visible: presence, kernel and runs every tick,
 * members and invites every few ticks and whenever presence shows someone
 * the member list does not know; control messages of an open session's room
 * (ISessionDocuments) update the kernel and your role at once.
 */
export class SessionDetailsModel implements IDisposable {
  constructor(options: SessionDetailsModel.IOptions) {
    this._codecrafter = options.codecrafter;
    this._documents = options.documents ?? null;
    this._pageSize = options.pageSize ?? 20;
    this._membersEvery = options.membersEvery ?? 3;
    this.me = options.user;
    this.names = new NameBook(options.user);
    const id = options.session.id;
    this._state = {
      session: options.session,
      collaborators: null,
      invites: null,
      present: null,
      kernel: this._documents?.kernelStatus(id) ?? null,
      history: null,
      loadingMore: false,
      now: Date.now(),
      lost: null,
      error: null,
      message: null
    };
    this._ticker = new Ticker(() => this._tick(), options.intervalMs ?? 3000);
    this._documents?.controlMessage.connect(this._onControl);
    this._codecrafter.auth.stateChanged.connect(this._updateRunning, this);
    if (typeof document !== 'undefined') {
      document.addEventListener('visibilitychange', this._updateRunning);
    }
  }

  readonly me: IUser;
  /** Names for the user ids of runs, learnt from members and presence. */
  readonly names: NameBook;

  get sessionId(): string {
    return this._state.session.id;
  }

  get state(): IDetailsState {
    return this._state;
  }

  get changed(): ISignal<this, IDetailsState> {
    return this._changed;
  }

  /** Your role on the session changed, or you lost access to it. */
  get accessChanged(): ISignal<this, void> {
    return this._accessChanged;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /** Whether refreshing is running (visible, signed in, page shown, access kept). */
  get polling(): boolean {
    return this._ticker.running;
  }

  /** Whether the view shows this model; refreshing runs only while it does. */
  set visible(value: boolean) {
    this._visible = value;
    this._updateRunning();
  }

  /** Reload everything now. */
  refresh(): void {
    this._membersDue = true;
    this._ticker.tick();
  }

  dismissMessage(): void {
    this._set({ message: null });
  }

  async setRole(member: ICollaborator, role: GrantedRole): Promise<void> {
    const name = this.names.who(member.user.id);
    await this._act(`change the role of ${name}`, async () => {
      const client = this._codecrafter.client;
      const updated = await client.setCollaboratorRole(
        this.sessionId,
        member.user.id,
        role
      );
      const collaborators = this._state.collaborators?.map(c =>
        c.user.id === updated.user.id ? updated : c
      );
      this._set({ collaborators: collaborators ?? null });
    });
    this.refresh();
  }

  /** Remove a collaborator; removing yourself is leaving the session. */
  async remove(member: ICollaborator): Promise<void> {
    const leaving = member.user.id === this.me.id;
    const verb = leaving ? 'leave' : `remove ${this.names.who(member.user.id)}`;
    await this._act(verb, async () => {
      await this._codecrafter.client.removeCollaborator(
        this.sessionId,
        member.user.id
      );
      if (leaving) {
        this._lose('You left this session.');
        return;
      }
      const collaborators = this._state.collaborators?.filter(
        c => c.user.id !== member.user.id
      );
      this._set({ collaborators: collaborators ?? null });
    });
  }

  /** The new invite, or null when it could not be created (the message says why). */
  async createInvite(request: ICreateInviteRequest): Promise<IInvite | null> {
    let created: IInvite | null = null;
    await this._act('create the invite link', async () => {
      created = await this._codecrafter.client.createInvite(
        this.sessionId,
        request
      );
      this._set({ invites: [created, ...(this._state.invites ?? [])] });
    });
    return created;
  }

  async revokeInvite(invite: IInvite): Promise<void> {
    await this._act('revoke the invite link', async () => {
      await this._codecrafter.client.revokeInvite(this.sessionId, invite.code);
      const invites = this._state.invites?.map(i =>
        i.code === invite.code ? { ...i, revoked: true } : i
      );
      this._set({ invites: invites ?? null });
    });
  }

  async kernelAction(action: 'interrupt' | 'restart'): Promise<void> {
    await this._act(`${action} the kernel`, async () => {
      const kernel = await this._codecrafter.client.kernel(
        this.sessionId,
        action
      );
      this._set({ kernel });
    });
    this._ticker.tick();
  }

  async cancel(job: IJob): Promise<void> {
    await this._act('cancel the run', async () => {
      const updated = await this._codecrafter.client.cancelJob(job.id);
      const history = this._state.history;
      this._set({ history: history && replaceJob(history, updated) });
    });
  }

  /** Load the next page of older runs. */
  async loadMore(): Promise<void> {
    const history = this._state.history;
    if (!history?.cursor || this._state.loadingMore) {
      return;
    }
    this._set({ loadingMore: true });
    await this._act('load older runs', async () => {
      const page = await this._codecrafter.client.jobs(this.sessionId, {
        limit: this._pageSize,
        cursor: history.cursor ?? undefined
      });
      // A refresh may have replaced the history meanwhile: append to that.
      const current = this._state.history ?? history;
      this._set({ history: appendHistory(current, page) });
    });
    this._set({ loadingMore: false });
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._ticker.dispose();
    if (typeof document !== 'undefined') {
      document.removeEventListener('visibilitychange', this._updateRunning);
    }
    Signal.clearData(this);
  }

  private async _tick(): Promise<void> {
    if (this._isStopped()) {
      return;
    }
    const members = this._membersDue || this._ticks % this._membersEvery === 0;
    this._ticks += 1;
    this._membersDue = false;
    const client = this._codecrafter.client;
    const id = this.sessionId;
    const loaded = this._state.history?.jobs.length ?? 0;
    const [detail, present, kernel, jobs] = await Promise.allSettled([
      members ? this._loadMembers() : Promise.resolve(null),
      client.presence(id),
      client.kernel(id),
      client.jobs(id, { limit: refreshLimit(loaded, this._pageSize) })
    ]);
    if (this._isStopped()) {
      return;
    }
    const failure = [detail, present, kernel, jobs].find(
      result => result.status === 'rejected'
    );
    if (failure && isLost(failure.reason)) {
      this._lose(LOST_ACCESS);
      return;
    }
    const patch: Partial<Mutable<IDetailsState>> = {
      error: failure
        ? `Could not refresh: ${describeError(failure.reason)}`
        : null
    };
    if (detail.status === 'fulfilled' && detail.value !== null) {
      Object.assign(patch, this._applyMembers(detail.value));
    }
    if (present.status === 'fulfilled') {
      this.names.learnPresent(present.value);
      patch.present = present.value;
    }
    if (kernel.status === 'fulfilled') {
      patch.kernel = kernel.value;
    }
    if (jobs.status === 'fulfilled') {
      const old = this._state.history ?? { jobs: [], cursor: null };
      patch.history = refreshHistory(old, jobs.value);
    }
    this._set(patch);
    if (present.status === 'fulfilled') {
      this._checkStrangers(present.value);
    }
  }

  /** Disposed, or the session is lost: nothing more to load. */
  private _isStopped(): boolean {
    return this._isDisposed || this._state.lost !== null;
  }

  /** The session with its members, and its invites when you manage it. */
  private async _loadMembers(): Promise<IMembers> {
    const client = this._codecrafter.client;
    const detail = await client.getSession(this.sessionId);
    let invites: IInvite[] | null = null;
    if (hasRole(detail.session.role, 'admin')) {
      // Demoted between the two requests: the member list already says so.
      invites = await client.invites(this.sessionId).catch(() => null);
    }
    return { ...detail, invites };
  }

  private _applyMembers(members: IMembers): Partial<IDetailsState> {
    this.names.learnCollaborators(members.collaborators);
    const before = this._state.session.role;
    const after = members.session.role;
    const patch: Partial<Mutable<IDetailsState>> = {
      session: members.session,
      collaborators: members.collaborators,
      invites: members.invites
    };
    if (this._roleKnown && before !== after) {
      patch.message = roleMessage(after);
      this._accessChanged.emit();
    }
    this._roleKnown = true;
    return patch;
  }

  /**
   * Reload the members at once when presence shows someone they do not
   * (just joined by invite) or with another role; once per change, since an
   * admin of the server or a reader of a public session never appear there.
   */
  private _checkStrangers(present: readonly IPresent[]): void {
    const known = new Map(
      (this._state.collaborators ?? []).map(c => [c.user.id, c.role])
    );
    const strangers = present
      .filter(p => known.get(p.user_id) !== p.role)
      .map(p => `${p.user_id}:${p.role}`)
      .sort()
      .join(',');
    if (strangers !== this._strangers) {
      this._strangers = strangers;
      if (strangers) {
        this.refresh();
      }
    }
  }

  private _onControl = (
    _: ISessionDocuments,
    args: ISessionDocuments.IControlArgs
  ): void => {
    if (args.sessionId !== this.sessionId || this._isStopped()) {
      return;
    }
    const message = args.message;
    if (isKernelMessage(message)) {
      this._set({ kernel: kernelStatusOf(message) });
      // A kernel going busy or idle is a run starting or ending.
      if (this._ticker.running) {
        this._ticker.tick();
      }
    } else if (isRoleMessage(message)) {
      const session = { ...this._state.session, role: message.role };
      const changed = message.role !== this._state.session.role;
      this._set({
        session,
        message: changed ? roleMessage(message.role) : this._state.message
      });
      if (changed) {
        this._accessChanged.emit();
      }
      this.refresh();
    }
  };

  private async _act(verb: string, action: () => Promise<void>): Promise<void> {
    try {
      await action();
    } catch (error) {
      if (isLost(error)) {
        this._lose(LOST_ACCESS);
      } else {
        const text = `Could not ${verb}: ${describeError(error)}`;
        this._set({ message: { kind: 'error', text } });
      }
    }
  }

  private _lose(reason: string): void {
    this._set({ lost: reason });
    this._updateRunning();
    this._accessChanged.emit();
  }

  private _updateRunning = (): void => {
    const shown = typeof document === 'undefined' || !document.hidden;
    this._ticker.running =
      this._visible &&
      shown &&
      !this._isDisposed &&
      this._state.lost === null &&
      this._codecrafter.auth.state.status === 'signed-in';
  };

  private _set(patch: Partial<IDetailsState>): void {
    if (this._isDisposed) {
      return;
    }
    this._state = { ...this._state, ...patch, now: Date.now() };
    this._changed.emit(this._state);
  }

  private _codecrafter: ICodeCrafter;
  private _documents: ISessionDocuments | null;
  private _pageSize: number;
  private _membersEvery: number;
  private _state: IDetailsState;
  private _changed = new Signal<this, IDetailsState>(this);
  private _accessChanged = new Signal<this, void>(this);
  private _ticker: Ticker;
  private _ticks = 0;
  private _membersDue = true;
  private _roleKnown = false;
  private _strangers = '';
  private _visible = false;
  private _isDisposed = false;
}

export namespace SessionDetailsModel {
  export interface IOptions {
    codecrafter: ICodeCrafter;
    /** The signed-in user. */
    user: IUser;
    /** The session as the list knew it, shown until the first load. */
    session: ISession;
    /** Control messages of open session rooms, when documents are available. */
    documents?: ISessionDocuments | null;
    /** Runs per "More" page; default 20. */
    pageSize?: number;
    /** Milliseconds between refreshes; default 3000. */
    intervalMs?: number;
    /** Reload members and invites every this many refreshes; default 3. */
    membersEvery?: number;
  }
}

interface IMembers extends ISessionDetail {
  invites: IInvite[] | null;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** 404: the session is gone, or you were removed from it. */
function isLost(error: unknown): boolean {
  return error instanceof CodeCrafterError && error.status === 404;
}

function roleMessage(role: ISession['role']): IPanelMessage {
  const text =
    role === null
      ? 'You are no longer a collaborator; you can still read this public session.'
      : `Your role on this session is now ${role}.`;
  return { kind: 'info', text };
}
