import type { INotebookTracker } from '@jupyterlab/notebook';
import type { CommandRegistry } from '@lumino/commands';

import type { ICodeCrafter } from '../tokens';

/** What the panel needs from the application. */
export interface IPanelServices {
  codecrafter: ICodeCrafter;
  commands: CommandRegistry;
  /** For "New from current notebook"; null when notebooks are not available. */
  notebooks: INotebookTracker | null;
}
