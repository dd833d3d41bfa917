/**
 * @packageDocumentation
 * @module jupyter-codecrafter
 */
import type { JupyterFrontEndPlugin } from '@jupyterlab/application';

import { corePlugin } from './core';
import { executorPlugin } from './executor';

export * from './api';
export * from './auth';
export * from './models';
export * from './tokens';

const plugins: JupyterFrontEndPlugin<unknown>[] = [corePlugin, executorPlugin];

export default plugins;
