/**
 * @packageDocumentation
 * @module jupyter-codecrafter
 */
import type { JupyterFrontEndPlugin } from '@jupyterlab/application';

import { corePlugin } from './core';
import { documentsPlugin } from './documents';
import { executorPlugin } from './executor';
import { panelPlugin } from './panel/plugin';

export * from './api';
export * from './auth';
export * from './control';
export * from './models';
export * from './tokens';
export { codecrafterIcon } from './icons';
export { OPEN_SESSION_COMMAND } from './panel/actions';

const plugins: JupyterFrontEndPlugin<unknown>[] = [
  corePlugin,
  documentsPlugin,
  executorPlugin,
  panelPlugin
];

export default plugins;
