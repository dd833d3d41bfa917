import type { JupyterFrontEndPlugin } from '@jupyterlab/application';
import { INotebookCellExecutor, runCell } from '@jupyterlab/notebook';

/**
 * Runs notebook cells. Core's executor plugin is disabled (package.json,
 * jupyterlab.disabledExtensions) because the last provider of a token wins
 * silently; until session notebooks get their own route, every cell goes
 * through core's runCell, as it would without this extension.
 */
export const executorPlugin: JupyterFrontEndPlugin<INotebookCellExecutor> = {
  id: 'jupyter-codecrafter:cell-executor',
  description: 'Runs notebook cells (for now exactly as JupyterLab does).',
  autoStart: true,
  provides: INotebookCellExecutor,
  activate: (): INotebookCellExecutor => ({
    runCell: options => runCell(options)
  })
};
