import type { JupyterFrontEnd } from '@jupyterlab/application';
import type { IDocumentManager } from '@jupyterlab/docmanager';
import type { IDocumentWidget } from '@jupyterlab/docregistry';
import type { ReadonlyPartialJSONObject } from '@lumino/coreutils';

import type { SessionDocuments } from './documents';
import { NOTEBOOK_FACTORY } from './kernel';
import { OPEN_SESSION_COMMAND } from './panel/actions';
import { sessionPath } from './paths';
import type { ICodeCrafter } from './tokens';

/** Core's file editor factory. */
export const EDITOR_FACTORY = 'Editor';

// Belt and braces: the session context is replaced before it initializes,
// and the one it replaces could not start a kernel on the host anyway.
const NO_HOST_KERNEL = {
  shouldStart: false,
  canStart: false,
  shutdownOnDispose: false
};

export interface IOpenCommandOptions {
  app: JupyterFrontEnd;
  codecrafter: ICodeCrafter;
  docManager: IDocumentManager;
  documents: SessionDocuments;
}

/**
 * `codecrafter:open-session` {id, kind, title}: a notebook session in a
 * notebook tab, a file session in an editor tab; an open one is revealed.
 */
export function registerOpenCommand(options: IOpenCommandOptions): void {
  const { app, codecrafter, docManager, documents } = options;
  app.commands.addCommand(OPEN_SESSION_COMMAND, {
    label: args =>
      typeof args.title === 'string'
        ? `Open “${args.title}”`
        : 'Open CodeCrafter Session',
    caption: 'Open a CodeCrafter session in a tab bound to its room',
    execute: async args => {
      const id = sessionIdArg(args);
      const open = documents.widgetsOf(id).at(0);
      if (open) {
        app.shell.activateById(open.id);
        return open;
      }
      if (!codecrafter.auth.accessToken) {
        throw new Error('Sign in to CodeCrafter to open sessions.');
      }
      // The current title, kind and language, and whether we may read it.
      const { session } = await codecrafter.client.getSession(id);
      const factory =
        session.kind === 'notebook' ? NOTEBOOK_FACTORY : EDITOR_FACTORY;
      const widget: IDocumentWidget | undefined = docManager.openOrReveal(
        sessionPath(id, session),
        factory,
        undefined,
        undefined,
        NO_HOST_KERNEL
      );
      if (!widget) {
        throw new Error(
          `JupyterLab has no ${factory} to open “${session.title}”.`
        );
      }
      return widget;
    },
    describedBy: {
      args: {
        type: 'object',
        properties: {
          id: { type: 'string', description: 'The session id' },
          kind: { type: 'string', enum: ['notebook', 'file'] },
          title: { type: 'string', description: 'The session title' }
        },
        required: ['id']
      }
    }
  });
}

function sessionIdArg(args: ReadonlyPartialJSONObject): string {
  const id = args.id;
  if (typeof id !== 'string' || !id) {
    throw new Error('codecrafter:open-session needs the session id.');
  }
  return id;
}
