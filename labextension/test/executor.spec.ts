import type { JupyterFrontEnd } from '@jupyterlab/application';
import type { INotebookCellExecutor } from '@jupyterlab/notebook';
import { describe, expect, it, vi } from 'vitest';

import { executorPlugin } from '../src/executor';

// Core's notebook package needs a DOM to load; the executor only needs its
// token and runCell, so both are stood in for here.
const core = vi.hoisted(() => ({
  runCell: vi.fn<(options: unknown) => Promise<boolean>>()
}));
vi.mock('@jupyterlab/notebook', async () => {
  const { Token } = await import('@lumino/coreutils');
  return {
    INotebookCellExecutor: new Token(
      '@jupyterlab/notebook:INotebookCellExecutor'
    ),
    runCell: core.runCell
  };
});

function activate(): INotebookCellExecutor {
  return executorPlugin.activate(
    {} as unknown as JupyterFrontEnd
  ) as INotebookCellExecutor;
}

describe('the cell executor plugin', () => {
  it('provides INotebookCellExecutor, under its own id, started with JupyterLab', async () => {
    const { INotebookCellExecutor } = await import('@jupyterlab/notebook');
    expect(executorPlugin.id).toBe('jupyter-codecrafter:cell-executor');
    expect(executorPlugin.provides).toBe(INotebookCellExecutor);
    expect(executorPlugin.autoStart).toBe(true);
  });

  it("hands every cell to core's runCell with the options unchanged", async () => {
    core.runCell.mockResolvedValue(true);
    const options = {
      cell: {},
      notebook: {},
      notebookConfig: {}
    } as unknown as INotebookCellExecutor.IRunCellOptions;

    await activate().runCell(options);
    expect(core.runCell).toHaveBeenCalledTimes(1);
    expect(core.runCell).toHaveBeenCalledWith(options);
  });

  it("answers what core's runCell answers, success or failure", async () => {
    const options = {} as INotebookCellExecutor.IRunCellOptions;
    const executor = activate();

    core.runCell.mockResolvedValueOnce(true).mockResolvedValueOnce(false);
    expect(await executor.runCell(options)).toBe(true);
    expect(await executor.runCell(options)).toBe(false);

    core.runCell.mockRejectedValueOnce(new Error('kernel died'));
    await expect(executor.runCell(options)).rejects.toThrow('kernel died');
  });
});
