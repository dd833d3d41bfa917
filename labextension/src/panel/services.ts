import type { INotebookTracker } from '@jupyterlab/notebook';
import type { CommandRegistry } from '@lumino/commands';

import type { ICodeCrafter, ISessionDocuments } from '../tokens';

/** What the panel needs from the application. */
export interface IPanelServices {
  codecrafter: ICodeCrafter;
  commands: CommandRegistry;
  /** For "New from current notebook"; null when notebooks are not available. */
  notebooks: INotebookTracker | null;
  /** Open session documents, for live kernel and role changes; null without them. */
  documents?: ISessionDocuments | null;
}
