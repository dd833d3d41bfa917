import { Dialog, InputDialog, showDialog } from '@jupyterlab/apputils';
import { PathExt } from '@jupyterlab/coreutils';
import type { INotebookTracker } from '@jupyterlab/notebook';
import type { CommandRegistry } from '@lumino/commands';
import type { PartialJSONObject } from '@lumino/coreutils';

import { CodeCrafterError } from '../errors';
import type {
  ICreateSessionRequest,
  ISession,
  SessionKind,
  SessionScope
} from '../models';
import type { ICodeCrafter } from '../tokens';

/** Provided by the plugin that binds sessions to documents (not this one). */
export const OPEN_SESSION_COMMAND = 'codecrafter:open-session';

export const OPEN_UNAVAILABLE =
  'Opening sessions is not available yet: the CodeCrafter document support is not installed.';

export interface IPanelMessage {
  kind: 'info' | 'error';
  text: string;
}

/** What an action reports back to the panel. */
export interface IActionListener {
  notify(message: IPanelMessage): void;
  /** The sessions of `scope` changed (and that list should be shown). */
  changed(scope: SessionScope): void;
  /** A session was deleted. */
  removed?(session: ISession): void;
}

/**
 * The panel's actions on sessions: dialogs first, then the API, then one
 * message saying what happened. Nothing here renders.
 */
export class SessionActions {
  constructor(options: SessionActions.IOptions) {
    this._codecrafter = options.codecrafter;
    this._commands = options.commands;
    this._notebooks = options.notebooks;
    this._listener = options.listener;
  }

  get canOpen(): boolean {
    return this._commands.hasCommand(OPEN_SESSION_COMMAND);
  }

  /** The notebook in the main area that "New from current notebook" would copy. */
  get currentNotebookPath(): string | null {
    return this._notebooks?.currentWidget?.context.path ?? null;
  }

  async open(session: ISession): Promise<void> {
    if (!this.canOpen) {
      this._info(OPEN_UNAVAILABLE);
      return;
    }
    const args = { id: session.id, kind: session.kind, title: session.title };
    await this._attempt('open', () =>
      this._commands.execute(OPEN_SESSION_COMMAND, args)
    );
  }

  async createBlank(kind: SessionKind): Promise<void> {
    const noun = kind === 'notebook' ? 'notebook' : 'text file';
    const title = await askTitle(`New ${noun}`, `Untitled ${noun}`, 'Create');
    if (title !== null) {
      await this._create({ title, kind, language: 'python' });
    }
  }

  async createFromCurrentNotebook(): Promise<void> {
    const panel = this._notebooks?.currentWidget;
    const model = panel?.content.model;
    if (!panel || !model) {
      this._error('Open a notebook in the main area first.');
      return;
    }
    const name = PathExt.basename(panel.context.path, '.ipynb');
    const title = await askTitle(
      'New session from this notebook',
      name,
      'Create'
    );
    if (title !== null) {
      // A notebook model serialises to an nbformat object; its interface says only JSON.
      const content = model.toJSON() as PartialJSONObject;
      await this._create({
        title,
        kind: 'notebook',
        language: 'python',
        content
      });
    }
  }

  async fork(session: ISession): Promise<void> {
    await this._attempt('fork', async () => {
      const copy = await this._codecrafter.client.forkSession(session.id);
      this._info(`Forked as “${copy.title}”.`);
      this._listener.changed('mine');
    });
  }

  async rename(session: ISession): Promise<void> {
    const title = await askTitle(
      `Rename “${session.title}”`,
      session.title,
      'Rename'
    );
    if (title === null || title === session.title) {
      return;
    }
    await this._attempt('rename', async () => {
      await this._codecrafter.client.updateSession(session.id, { title });
      this._info(`Renamed to “${title}”.`);
      this._listener.changed('mine');
    });
  }

  async setPublic(session: ISession, isPublic: boolean): Promise<void> {
    if (isPublic) {
      const body = `Everyone signed in to this server will be able to find and read “${session.title}”.`;
      if (!(await confirm('Publish session?', body, 'Publish'))) {
        return;
      }
    }
    await this._attempt(isPublic ? 'publish' : 'unpublish', async () => {
      await this._codecrafter.client.updateSession(session.id, {
        is_public: isPublic
      });
      this._info(
        isPublic
          ? `“${session.title}” is public.`
          : `“${session.title}” is private.`
      );
      this._listener.changed('mine');
    });
  }

  async remove(session: ISession): Promise<void> {
    const body = `“${session.title}” will be deleted for you and every collaborator. This cannot be undone.`;
    if (!(await confirm('Delete session?', body, 'Delete', true))) {
      return;
    }
    await this._attempt('delete', async () => {
      await this._codecrafter.client.deleteSession(session.id);
      this._info(`Deleted “${session.title}”.`);
      this._listener.removed?.(session);
      this._listener.changed('mine');
    });
  }

  private async _create(request: ICreateSessionRequest): Promise<void> {
    await this._attempt('create', async () => {
      const session = await this._codecrafter.client.createSession(request);
      this._info(`Created “${session.title}”.`);
      this._listener.changed('mine');
      if (this.canOpen) {
        await this.open(session);
      }
    });
  }

  private async _attempt(
    verb: string,
    action: () => Promise<unknown>
  ): Promise<void> {
    try {
      await action();
    } catch (error) {
      this._error(`Could not ${verb}: ${describeError(error)}`);
    }
  }

  private _info(text: string): void {
    this._listener.notify({ kind: 'info', text });
  }

  private _error(text: string): void {
    this._listener.notify({ kind: 'error', text });
  }

  private _codecrafter: ICodeCrafter;
  private _commands: CommandRegistry;
  private _notebooks: INotebookTracker | null;
  private _listener: IActionListener;
}

export namespace SessionActions {
  export interface IOptions {
    codecrafter: ICodeCrafter;
    commands: CommandRegistry;
    notebooks: INotebookTracker | null;
    listener: IActionListener;
  }
}

export function describeError(error: unknown): string {
  if (error instanceof CodeCrafterError) {
    return error.describe();
  }
  return error instanceof Error ? error.message : String(error);
}

/** The trimmed title typed, or null when cancelled or left blank. */
async function askTitle(
  title: string,
  text: string,
  okLabel: string
): Promise<string | null> {
  const result = await InputDialog.getText({
    title,
    text,
    okLabel,
    label: 'Title',
    required: true
  });
  const value = result.button.accept ? (result.value ?? '').trim() : '';
  return value || null;
}

async function confirm(
  title: string,
  body: string,
  label: string,
  warn = false
): Promise<boolean> {
  const accept = warn
    ? Dialog.warnButton({ label })
    : Dialog.okButton({ label });
  const result = await showDialog({
    title,
    body,
    buttons: [Dialog.cancelButton(), accept]
  });
  return result.button.accept;
}
